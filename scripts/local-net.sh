#!/usr/bin/env bash
# Starts a four-validator local network (Alice, Bob, Charlie and Dave, `--chain local`) on
# loopback, waits until every validator sees finalized blocks, and keeps it running until Ctrl-C,
# when it stops the nodes cleanly. GRANDPA finalizes with any three of the four validators, so
# the network keeps finalizing when one of them stops (docs/network.md).
#
#   --check   stop as soon as finality is seen (for scripts and CI)
#
# RPC: Alice ws://127.0.0.1:9944, Bob 9945, Charlie 9946, Dave 9947 (LOCAL_NET_RPC moves the
# first; the others follow). Logs and databases go to a temporary directory, or to LOCAL_NET_DIR
# if set (kept afterwards); each node's process id is in <dir>/<name>.pid.
# scripts/zombienet.sh starts the same network, plus a full node, with zombienet.
set -euo pipefail
source "$(dirname "$0")/common.sh"

check_option "$@"
[ -x "$PAYCHAN_NODE" ] || "$PAYCHAN_ROOT/scripts/build.sh"

if [ -n "${LOCAL_NET_DIR:-}" ]; then
	base="$LOCAL_NET_DIR"
	mkdir -p "$base"
	keep=true
else
	base="$(mktemp -d -t paychan-local-XXXXXX)"
	keep=false
fi
pids=()
stop() {
	log "stopping the local network"
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	$keep || rm -rf "$base"
}
trap stop EXIT
trap 'exit 130' INT TERM

names=(alice bob charlie dave)
first_rpc=${LOCAL_NET_RPC:-9944}
# Fixed libp2p identities (validators need one), so the others find Alice at a known address.
ALICE_PEER_ID=12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp
for i in "${!names[@]}"; do
	name=${names[$i]}
	rpc=$((first_rpc + i))
	for port in "$rpc" $((30333 + i)); do
		if port_taken "$port"; then
			echo "port $port is taken (another node?): stop it or set LOCAL_NET_RPC" >&2
			exit 1
		fi
	done
	boot=()
	[ "$i" -eq 0 ] || boot=(--bootnodes "/ip4/127.0.0.1/tcp/30333/p2p/$ALICE_PEER_ID")
	"$PAYCHAN_NODE" --chain local "--$name" --validator --base-path "$base/$name" \
		--port $((30333 + i)) --rpc-port "$rpc" --node-key "$(printf '%064x' $((i + 1)))" \
		--no-prometheus --no-mdns --no-telemetry "${boot[@]}" >"$base/$name.log" 2>&1 &
	pids+=($!)
	echo $! >"$base/$name.pid"
done

finalized() {
	curl -s -H 'Content-Type: application/json' \
		-d '{"id":1,"jsonrpc":"2.0","method":"chain_getFinalizedHead"}' "http://127.0.0.1:$1" |
		sed -n 's/.*"result":"\(0x[0-9a-f]*\)".*/\1/p' |
		xargs -I{} curl -s -H 'Content-Type: application/json' \
			-d '{"id":1,"jsonrpc":"2.0","method":"chain_getHeader","params":["{}"]}' "http://127.0.0.1:$1" |
		sed -n 's/.*"number":"\(0x[0-9a-f]*\)".*/\1/p'
}

log "waiting for the four validators to finalize blocks (logs in $base)"
for _ in $(seq 1 120); do
	heights=()
	for i in "${!names[@]}"; do
		height=$(finalized $((first_rpc + i)) || true)
		[ -n "$height" ] && [ $((height)) -ge 2 ] && heights+=("${names[$i]} #$((height))")
	done
	if [ "${#heights[@]}" -eq "${#names[@]}" ]; then
		log "finalized: ${heights[*]}"
		if $check_only; then exit 0; fi
		log "running; Ctrl-C stops the network (RPC: alice $first_rpc, bob $((first_rpc + 1)), charlie $((first_rpc + 2)), dave $((first_rpc + 3)))"
		wait
		exit 0
	fi
	for pid in "${pids[@]}"; do
		kill -0 "$pid" 2>/dev/null || {
			tail -n 20 "$base"/*.log >&2
			echo "a node exited" >&2
			exit 1
		}
	done
	sleep 1
done
tail -n 20 "$base"/*.log >&2
echo "no finality within 120 s" >&2
exit 1
