#!/usr/bin/env bash
# Starts a two-validator local network (Alice and Bob) on loopback, waits until blocks are
# finalized, and keeps it running until Ctrl-C, when it stops both nodes cleanly.
# With `--check`, it stops as soon as finality is seen (for scripts and CI).
set -euo pipefail
source "$(dirname "$0")/common.sh"

check_only=false
[ "${1:-}" = "--check" ] && check_only=true
[ -x "$PAYCHAN_NODE" ] || "$PAYCHAN_ROOT/scripts/build.sh"

base="$(mktemp -d -t paychan-local-XXXXXX)"
pids=()
stop() {
	log "stopping the local network"
	for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$base"
}
trap stop EXIT
trap 'exit 130' INT TERM

ALICE_RPC=${ALICE_RPC:-9944}
BOB_RPC=${BOB_RPC:-9945}
# Fixed libp2p identities (validators need one): Bob finds Alice at a known address.
ALICE_NODE_KEY=0000000000000000000000000000000000000000000000000000000000000001
BOB_NODE_KEY=0000000000000000000000000000000000000000000000000000000000000002
ALICE_PEER_ID=12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp

"$PAYCHAN_NODE" --chain local --alice --base-path "$base/alice" --port 30333 \
	--rpc-port "$ALICE_RPC" --node-key "$ALICE_NODE_KEY" --validator --no-prometheus \
	--no-mdns >"$base/alice.log" 2>&1 &
pids+=($!)
"$PAYCHAN_NODE" --chain local --bob --base-path "$base/bob" --port 30334 \
	--rpc-port "$BOB_RPC" --node-key "$BOB_NODE_KEY" --validator --no-prometheus --no-mdns \
	--bootnodes "/ip4/127.0.0.1/tcp/30333/p2p/$ALICE_PEER_ID" >"$base/bob.log" 2>&1 &
pids+=($!)

finalized() {
	curl -s -H 'Content-Type: application/json' \
		-d '{"id":1,"jsonrpc":"2.0","method":"chain_getFinalizedHead"}' "http://127.0.0.1:$1" |
		sed -n 's/.*"result":"\(0x[0-9a-f]*\)".*/\1/p' |
		xargs -I{} curl -s -H 'Content-Type: application/json' \
			-d '{"id":1,"jsonrpc":"2.0","method":"chain_getHeader","params":["{}"]}' "http://127.0.0.1:$1" |
		sed -n 's/.*"number":"\(0x[0-9a-f]*\)".*/\1/p'
}

log "waiting for both validators to finalize blocks (logs in $base)"
for _ in $(seq 1 120); do
	a=$(finalized "$ALICE_RPC" || true)
	b=$(finalized "$BOB_RPC" || true)
	if [ -n "$a" ] && [ -n "$b" ] && [ $((a)) -ge 2 ] && [ $((b)) -ge 2 ]; then
		log "finalized: Alice at #$((a)), Bob at #$((b))"
		if $check_only; then exit 0; fi
		log "running; Ctrl-C stops both nodes (RPC: Alice $ALICE_RPC, Bob $BOB_RPC)"
		wait
		exit 0
	fi
	for pid in "${pids[@]}"; do
		kill -0 "$pid" 2>/dev/null || { tail -n 20 "$base"/*.log >&2; echo "a node exited" >&2; exit 1; }
	done
	sleep 1
done
tail -n 20 "$base"/*.log >&2
echo "no finality within 120 s" >&2
exit 1
