#!/usr/bin/env bash
# Benchmarks the payment-channels pallet on this machine with the node's `benchmark pallet`
# command, regenerates pallets/payment-channels/src/weights.rs, and prints each call's ref_time
# and proof size next to Balances' transfer_keep_alive measured in the same run.
#
#   ./scripts/regenerate-weights.sh            # 50 steps, 20 repeats (what weights.rs is made from)
#   STEPS=2 REPEAT=1 ./scripts/regenerate-weights.sh   # a quick check that every benchmark runs
set -euo pipefail
source "$(dirname "$0")/common.sh"
# Installs what is missing (protoc, clang, wasm targets); quick when all is there.
"$PAYCHAN_ROOT/scripts/setup.sh"
cd "$PAYCHAN_ROOT"

STEPS="${STEPS:-50}"
REPEAT="${REPEAT:-20}"
out="$CARGO_TARGET_DIR/benchmarks"
mkdir -p "$out"

log "building paychan-node with runtime-benchmarks"
cargo build --locked --release -p paychan-node --features runtime-benchmarks
# Keep the benchmarking binary apart: the next plain build puts the normal node back in place.
cp "$CARGO_TARGET_DIR/release/paychan-node" "$out/paychan-node-benchmarks"
cp "$CARGO_TARGET_DIR/release/wbuild/paychan-runtime/paychan_runtime.compact.compressed.wasm" \
	"$out/paychan_runtime-benchmarks.wasm"
node_bin="$out/paychan-node-benchmarks"

run() {
	"$node_bin" benchmark pallet --runtime "$out/paychan_runtime-benchmarks.wasm" \
		--genesis-builder=runtime --genesis-builder-preset development --wasm-execution compiled \
		--steps "$STEPS" --repeat "$REPEAT" "$@"
}

log "benchmarking pallet_balances::transfer_keep_alive (the yardstick)"
run --pallet pallet_balances --extrinsic transfer_keep_alive --output "$out/balances_weights.rs" >/dev/null

log "benchmarking pallet_payment_channels"
weights=pallets/payment-channels/src/weights.rs
if [ "$STEPS" -ge 50 ] && [ "$REPEAT" -ge 20 ]; then target="$weights"; else target="$out/weights-quick.rs"; fi
run --pallet pallet_payment_channels --extrinsic '*' \
	--template scripts/frame-weight-template.hbs --output "$target" >/dev/null
log "weights written to $target"

python3 "$PAYCHAN_ROOT/scripts/weights_table.py" "$out/balances_weights.rs" "$target"
