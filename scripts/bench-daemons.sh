# What the daemon benchmarks share (bench-daemon.sh, bench-routed.sh); sourced after common.sh,
# not run. `bench_start RPC_PORT FIRST_PEER_PORT` builds paychan, starts a dev node with instant
# sealing and a temporary state, and sets up `names`' accounts and ports; `start_daemon NAME
# [OPTION…]` starts one daemon with every other name in its peer book and waits for its API;
# `pc NAME ARGS…` runs the client as NAME against the node. Everything stops on exit.

bench_start() {
	rpc_port=$1
	local first_peer_port=$2
	"$PAYCHAN_ROOT/scripts/build.sh"
	log "building paychan (release)"
	cargo build --locked --release -p paychan-client --bin paychan
	client="$CARGO_TARGET_DIR/release/paychan"
	work=$(mktemp -d)
	"$PAYCHAN_NODE" --dev --tmp --rpc-port "$rpc_port" --port $((rpc_port + 21000)) \
		--sealing instant --no-prometheus >"$work/node.log" 2>&1 &
	node_pid=$!
	trap bench_cleanup EXIT
	until curl -sf -H 'Content-Type: application/json' \
		-d '{"id":1,"jsonrpc":"2.0","method":"system_health","params":[]}' \
		"http://127.0.0.1:$rpc_port" >/dev/null; do sleep 0.5; done
	for i in "${!names[@]}"; do
		local name=${names[$i]}
		account[$name]=$("$client" --dev "$name" --json address | python3 -c 'import json,sys; print(json.load(sys.stdin)["account"])')
		peer_port[$name]=$((first_peer_port + 2 * i))
		api_port[$name]=$((first_peer_port + 1 + 2 * i))
	done
}

declare -A account peer_port api_port daemon_pid

bench_cleanup() {
	for pid in "${daemon_pid[@]}"; do kill "$pid" 2>/dev/null || true; done
	kill "$node_pid" 2>/dev/null || true
	rm -rf "$work"
}

pc() { local name=$1; shift; "$client" --url "ws://127.0.0.1:$rpc_port" --dev "$name" --data "$work/$name" --json "$@"; }

start_daemon() {
	local name=$1 peers=()
	shift
	for other in "${names[@]}"; do
		[ "$other" = "$name" ] || peers+=(--peer "${account[$other]}=127.0.0.1:${peer_port[$other]}")
	done
	"$client" --url "ws://127.0.0.1:$rpc_port" --dev "$name" --data "$work/$name" --json daemon \
		--listen "127.0.0.1:${peer_port[$name]}" --api "127.0.0.1:${api_port[$name]}" \
		"${peers[@]}" "$@" >>"$work/$name.log" 2>&1 &
	daemon_pid[$name]=$!
	until port_taken "${api_port[$name]}"; do sleep 0.05; done
	# The API answers once the daemon's store and chain connection are up.
	until pc "$name" rpc paychan_info >/dev/null 2>&1; do sleep 0.05; done
}
