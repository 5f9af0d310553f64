#!/usr/bin/env bash
# Measures build costs of the release node on this machine:
#   cold  - a release build into an empty target directory (downloads are not timed: the crates
#           are fetched first), then
#   warm  - a rebuild after touching the pallet's lib.rs (runtime wasm + native runtime + node),
#   size  - the node binary and the runtime wasm.
# The cold build uses its own target directory (default /tmp/paychan-cold-target, removed at the
# end), so the shared cache is not disturbed. Takes about half an hour on 2 cores.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PAYCHAN_ROOT"

cold_dir="${COLD_TARGET_DIR:-/tmp/paychan-cold-target}"
rm -rf "$cold_dir"
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
rm -rf "$cold_dir"

echo "| measure | value |"
echo "| --- | --- |"
echo "| cold release build of paychan-node | $((cold / 60)) min $((cold % 60)) s |"
echo "| rebuild after touching the pallet | $((warm / 60)) min $((warm % 60)) s |"
echo "| paychan-node binary | $((binary / 1024 / 1024)) MiB |"
echo "| runtime wasm (compact, compressed) | $((wasm / 1024)) KiB |"
