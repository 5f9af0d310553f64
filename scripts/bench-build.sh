#!/usr/bin/env bash
# Measures build costs of the release node on this machine:
#   cold  - a release build into an empty target directory (downloads are not timed: the crates
#           are fetched first), then
#   warm  - a rebuild after touching the pallet's lib.rs (runtime wasm + native runtime + node),
#   size  - the node binary and the runtime wasm.
# The cold build empties the release profile of COLD_TARGET_DIR first. By default that is its own
# directory (/tmp/paychan-cold-target, removed at the end), so the shared cache is not disturbed;
# on a machine whose shared cache is empty anyway, COLD_TARGET_DIR="$CARGO_TARGET_DIR" measures
# the cold build and leaves its result for later builds (debug artefacts are kept either way).
# Takes about half an hour on 2 cores.
set -euo pipefail
source "$(dirname "$0")/common.sh"
# Installs what is missing (protoc, clang, wasm targets); quick when all is there.
"$PAYCHAN_ROOT/scripts/setup.sh"
cd "$PAYCHAN_ROOT"

cold_dir="${COLD_TARGET_DIR:-/tmp/paychan-cold-target}"
rm -rf "$cold_dir/release"
cargo fetch --locked >/dev/null

seconds() { date +%s; }
start=$(seconds)
CARGO_TARGET_DIR="$cold_dir" cargo build --locked --release -p paychan-node >/dev/null 2>&1
cold=$(($(seconds) - start))

touch pallets/payment-channels/src/lib.rs
start=$(seconds)
CARGO_TARGET_DIR="$cold_dir" cargo build --locked --release -p paychan-node >/dev/null 2>&1
warm=$(($(seconds) - start))

binary=$(stat -c %s "$cold_dir/release/paychan-node")
wasm=$(stat -c %s "$cold_dir/release/wbuild/paychan-runtime/paychan_runtime.compact.compressed.wasm")
[ -n "${COLD_TARGET_DIR:-}" ] || rm -rf "$cold_dir"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(rustc --version)"
echo "| measure | value |"
echo "| --- | --- |"
echo "| cold release build of paychan-node | $((cold / 60)) min $((cold % 60)) s |"
echo "| rebuild after touching the pallet | $((warm / 60)) min $((warm % 60)) s |"
echo "| paychan-node binary | $((binary / 1024 / 1024)) MiB |"
echo "| runtime wasm (compact, compressed) | $((wasm / 1024)) KiB |"
