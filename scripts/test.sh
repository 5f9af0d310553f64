#!/usr/bin/env bash
# Every test of the project: formatting, clippy, the Rust tests (pallet on its mock runtime,
# primitives, rebalancer, and the client against real nodes, node and validator faults
# included), the four-validator networks of local-net.sh and zombienet, the end-to-end suite
# against a running node, a short bounded load run, and a short fuzz pass.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PAYCHAN_ROOT"

"$PAYCHAN_ROOT/scripts/setup.sh"

log "cargo fmt --check"
cargo fmt --all --check

log "cargo clippy (no wasm: the runtime's wasm is checked when the node is built)"
SKIP_WASM_BUILD=1 cargo clippy --locked --workspace --all-targets -- -D warnings

"$PAYCHAN_ROOT/scripts/build.sh"

# Release tests share their compiled dependencies with the release node build above.
log "cargo test (workspace)"
cargo test --locked --release --workspace

log "the pallet's benchmarks, run once each on the mock runtime"
cargo test --locked --release -p pallet-payment-channels --features runtime-benchmarks --lib benchmark

log "four-validator local network reaches finality (local-net.sh)"
"$PAYCHAN_ROOT/scripts/local-net.sh" --check

log "zombienet: four validators and a full node finalize, also with a validator paused"
PAYCHAN_RPC_PORT=9960 "$PAYCHAN_ROOT/scripts/zombienet.sh" --check

"$PAYCHAN_ROOT/scripts/dashboard-vendor.sh" --check

log "end-to-end suite against $PAYCHAN_NODE (the dashboard's test in headless chromium among them)"
(cd tests/e2e && npm test)

log "bounded load: every valid operation included, every invalid one refused, nothing lost"
COUNT=400 SENDERS=8 "$PAYCHAN_ROOT/scripts/bench-load.sh" >/dev/null

log "fuzzing: a minute per target"
"$PAYCHAN_ROOT/scripts/fuzz.sh" 60
