#!/usr/bin/env bash
# Floods a dev node (Aura, 6 s blocks) on loopback with COUNT channel operations (default
# 4000: 60% valid deposits, 10% each bad signatures, stale proofs, stale transaction nonces and
# garbage), then COUNT plain transfers, with `paychan-load`, which checks that every valid
# operation is included and succeeds, every invalid one is refused with the right error, and
# nothing is lost. Prints the figures as JSON.
set -euo pipefail
source "$(dirname "$0")/common.sh"
# Installs what is missing (protoc, clang, wasm targets); quick when all is there.
"$PAYCHAN_ROOT/scripts/setup.sh"
cd "$PAYCHAN_ROOT"

count="${COUNT:-4000}"
senders="${SENDERS:-16}"
rpc_port="${RPC_PORT:-9963}"

[ -x "$PAYCHAN_NODE" ] || "$PAYCHAN_ROOT/scripts/build.sh"
log "building paychan-load (release)"
cargo build --locked --release -p paychan-client --bin paychan-load

log "starting a dev node (Aura) on port $rpc_port"
work=$(mktemp -d)
"$PAYCHAN_NODE" --dev --tmp --rpc-port "$rpc_port" --port 30963 --no-prometheus \
	>"$work/node.log" 2>&1 &
node_pid=$!
trap 'kill $node_pid 2>/dev/null || true; wait $node_pid 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -sf -H 'Content-Type: application/json' \
	-d '{"id":1,"jsonrpc":"2.0","method":"system_health","params":[]}' \
	"http://127.0.0.1:$rpc_port" >/dev/null; do sleep 0.5; done

log "flooding: $count channel operations, then $count transfers, from $senders accounts"
"$CARGO_TARGET_DIR/release/paychan-load" --url "ws://127.0.0.1:$rpc_port" \
	--count "$count" --senders "$senders"
