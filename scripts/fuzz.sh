#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for SECONDS each (default 60), after replaying the
# committed regression inputs (fuzz/regressions/<target>/). libFuzzer's coverage
# instrumentation works on the stable toolchain; the address sanitizer is left off (`-s none`):
# the targets are safe Rust, and what they look for are panics and broken invariants.
#   ./scripts/fuzz.sh            # a minute per target (what ./scripts/test.sh runs)
#   ./scripts/fuzz.sh 3600       # an hour per target
# A crash leaves its input in fuzz/artifacts/<target>/; copy it to fuzz/regressions/<target>/
# once fixed, so every later run replays it.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PAYCHAN_ROOT"

seconds="${1:-60}"
targets=(decode call_sequences peer_frame api_request)

command -v cargo-fuzz >/dev/null || {
	log "installing cargo-fuzz"
	cargo install cargo-fuzz --locked --version 0.13.2
}

log "building the fuzz targets"
cargo fuzz build -s none -O

for target in "${targets[@]}"; do
	mkdir -p "fuzz/corpus/$target" "fuzz/regressions/$target"
	if compgen -G "fuzz/regressions/$target/*" >/dev/null; then
		log "$target: replaying regression inputs"
		cargo fuzz run -s none -O "$target" fuzz/regressions/"$target"/* -- -runs=1
	fi
	log "$target: fuzzing for $seconds s"
	cargo fuzz run -s none -O "$target" "fuzz/corpus/$target" -- \
		-max_total_time="$seconds" -max_len=1024 -print_final_stats=1
done
