#!/usr/bin/env bash
# Benchmarks off-chain payments between two `paychan` processes on loopback, one channel
# (issue: client performance goals), against a dev node with instant sealing:
#   1. durable: the receiver commits every group of proofs with fsync before acknowledging;
#   2. without durability (`listen --durability none`), to show what fsync costs;
#   3. the bare sr25519 sign and verify cost of one balance proof on one core.
# Each stream is PAYMENTS payments (default 200 000) with WINDOW (default 1024) in flight; RUNS
# streams per mode (default 3). Prints a markdown table for docs/benchmarks.md, then runs
# ./scripts/bench-daemon.sh (the same through `paychan daemon`; DAEMON=0 skips it).
set -euo pipefail
source "$(dirname "$0")/common.sh"
# Installs what is missing (protoc, clang, wasm targets); quick when all is there.
"$PAYCHAN_ROOT/scripts/setup.sh"
cd "$PAYCHAN_ROOT"

payments="${PAYMENTS:-200000}"
window="${WINDOW:-1024}"
runs="${RUNS:-3}"

"$PAYCHAN_ROOT/scripts/build.sh"
log "building paychan (release)"
cargo build --locked --release -p paychan-client --bin paychan --example sign_verify
client="$CARGO_TARGET_DIR/release/paychan"

work=$(mktemp -d)
rpc_port=9961
"$PAYCHAN_NODE" --dev --tmp --rpc-port "$rpc_port" --port 30961 --sealing instant --no-prometheus \
	>"$work/node.log" 2>&1 &
node_pid=$!
listener_pid=
cleanup() {
	[ -n "$listener_pid" ] && kill "$listener_pid" 2>/dev/null || true
	kill "$node_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
until curl -sf -H 'Content-Type: application/json' \
	-d '{"id":1,"jsonrpc":"2.0","method":"system_health","params":[]}' \
	"http://127.0.0.1:$rpc_port" >/dev/null; do sleep 0.5; done

pc() { "$client" --url "ws://127.0.0.1:$rpc_port" --json "$@"; }
bob=$(pc --dev bob address | python3 -c 'import json,sys; print(json.load(sys.stdin)["account"])')

echo "| durability | run | payments | payments/s | p50 ack latency | p99 ack latency |"
echo "| --- | --- | --- | --- | --- | --- |"
for durability in immediate none; do
	channel=$(pc --dev alice --data "$work/alice" open --counterparty "$bob" \
		--deposit 1000000000000000 | python3 -c 'import json,sys; print(json.load(sys.stdin)["channel_id"])')
	# The binary itself, not the `pc` function, so that $! is the listener's own pid.
	"$client" --url "ws://127.0.0.1:$rpc_port" --dev bob --data "$work/bob-$durability" \
		listen --listen 127.0.0.1:9962 --durability "$durability" >"$work/listen.log" 2>&1 &
	listener_pid=$!
	until port_taken 9962; do sleep 0.2; done
	for run in $(seq 1 "$runs"); do
		pc --dev alice --data "$work/alice" pay --channel "$channel" --peer 127.0.0.1:9962 \
			--amount 1000 --count "$payments" --window "$window" |
			python3 -c "
import json, sys
r = json.load(sys.stdin)
assert r['error'] is None, r['error']
print(f\"| $durability | $run | {r['acknowledged']} | {r['payments_per_second']:,.0f} | {r['latency_p50_us']/1000:.1f} ms | {r['latency_p99_us']/1000:.1f} ms |\")"
	done
	kill -TERM "$listener_pid"
	wait "$listener_pid"
	listener_pid=
done

echo
echo "Bare sr25519 cost of one balance proof (one core):"
"$CARGO_TARGET_DIR/release/examples/sign_verify" 50000

# The daemon: the same payments through `paychan daemon` and its API (DAEMON=0 skips it).
if [ "${DAEMON:-1}" != 0 ]; then
	echo
	"$PAYCHAN_ROOT/scripts/bench-daemon.sh"
fi
