#!/usr/bin/env bash
# Times a cold release build of paychan-node next to one of the upstream solochain template's
# node on this machine, one after the other, each into an empty target directory of its own
# (downloads are fetched first and not timed), and counts each node's crates.
#
#   TEMPLATE_DIR=/path/to/polkadot-sdk-solochain-template ./scripts/bench-build-vs-template.sh
#
# TEMPLATE_DIR is a checkout of https://github.com/paritytech/polkadot-sdk-solochain-template
# (this script does not clone it: CI machines reach only the package registries). Takes about
# an hour on 2 cores. The shared target directory is not touched.
set -euo pipefail
source "$(dirname "$0")/common.sh"
"$PAYCHAN_ROOT/scripts/setup.sh"

template="${TEMPLATE_DIR:?set TEMPLATE_DIR to a checkout of the solochain template}"
[ -f "$template/Cargo.lock" ] || die "$template has no Cargo.lock: not a template checkout"
work="${BUILD_BENCH_DIR:-/tmp/paychan-build-bench}"
rm -rf "$work"
mkdir -p "$work"

die() {
	echo "error: $*" >&2
	exit 1
}
seconds() { date +%s; }
# Deduplicated crates of a package's normal and build dependencies, for the host.
crates() {
	(cd "$1" && cargo tree --locked -p "$2" -e normal,build --prefix none \
		--target x86_64-unknown-linux-gnu | sed 's/ (\*)$//' | sort -u | wc -l)
}
# Cold release build of package $2 in workspace $1 into $work/$3; prints the seconds taken.
cold_build() {
	(cd "$1" && cargo fetch --locked >/dev/null)
	local start
	start=$(seconds)
	# The wasm builder looks for the workspace named by WASM_BUILD_WORKSPACE_HINT, which
	# common.sh sets to Paychan's: each build gets its own.
	(cd "$1" && CARGO_TARGET_DIR="$work/$3" WASM_BUILD_WORKSPACE_HINT="$1" \
		cargo build --locked --release -p "$2") \
		>"$work/$3.log" 2>&1 || die "the build of $2 failed; see $work/$3.log"
	echo $(($(seconds) - start))
}

log "counting crates"
template_crates=$(crates "$template" solochain-template-node)
paychan_crates=$(crates "$PAYCHAN_ROOT" paychan-node)

log "cold release build of the solochain template's node (about half an hour)"
template_seconds=$(cold_build "$template" solochain-template-node template)
template_binary=$(stat -c %s "$work/template/release/solochain-template-node")
rm -rf "$work/template"

log "cold release build of paychan-node (about half an hour)"
paychan_seconds=$(cold_build "$PAYCHAN_ROOT" paychan-node paychan)
paychan_binary=$(stat -c %s "$work/paychan/release/paychan-node")
rm -rf "$work/paychan"

minutes() { echo "$(($1 / 60)) min $(($1 % 60)) s"; }
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(rustc --version)"
echo "template: $(cd "$template" && git rev-parse --short HEAD 2>/dev/null || echo "$template"), paychan: $(git -C "$PAYCHAN_ROOT" rev-parse --short HEAD)"
echo "| node | crates | cold release build | binary |"
echo "| --- | --- | --- | --- |"
echo "| solochain template | $template_crates | $(minutes "$template_seconds") | $((template_binary / 1024 / 1024)) MiB |"
echo "| paychan-node | $paychan_crates | $(minutes "$paychan_seconds") | $((paychan_binary / 1024 / 1024)) MiB |"
awk -v p="$paychan_seconds" -v t="$template_seconds" \
	'BEGIN { printf "paychan-node / template cold build: %.2fx\n", p / t }'
