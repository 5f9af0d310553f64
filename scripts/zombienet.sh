#!/usr/bin/env bash
# Starts Paychan's four-validator network with zombienet (network/zombienet.toml): validators
# alice, bob, charlie and dave, and the full node `rpc`, whose RPC is ws://127.0.0.1:$PAYCHAN_RPC_PORT
# (9944 unless set). Every node listens on loopback only. Ctrl-C stops the network.
#
# With `--check`, it runs network/smoke.zndsl instead (every node up, blocks finalized, and
# finality going on while one validator is paused) and stops the network when that is done.
set -euo pipefail
source "$(dirname "$0")/common.sh"

check_option "$@"

[ -x "$PAYCHAN_NODE" ] || "$PAYCHAN_ROOT/scripts/build.sh"
net="$PAYCHAN_ROOT/network"
if [ ! -d "$net/node_modules" ] || [ "$net/package-lock.json" -nt "$net/node_modules/.package-lock.json" ]; then
	log "installing zombienet (network/package-lock.json)"
	(cd "$net" && npm ci --no-audit --no-fund --loglevel=error)
fi

export PAYCHAN_RPC_PORT="${PAYCHAN_RPC_PORT:-9944}"
if port_taken "$PAYCHAN_RPC_PORT"; then
	echo "port $PAYCHAN_RPC_PORT is taken (a dev node?): stop it or set PAYCHAN_RPC_PORT" >&2
	exit 1
fi

# Chain specs, keystores, databases and logs.
dir="$(mktemp -d -t paychan-zombienet-XXXXXX)"
cd "$net"
if $check_only; then
	log "zombienet: four validators and a full node must finalize, also with one validator paused"
	# The test stops the network itself; the timeout bounds a hung start.
	if timeout 600 npx zombienet --provider native --logType text --dir "$dir" --force \
		test smoke.zndsl; then
		rm -rf "$dir"
	else
		echo "zombienet check failed; node logs are in $dir" >&2
		exit 1
	fi
else
	log "zombienet: starting four validators and a full node (RPC ws://127.0.0.1:$PAYCHAN_RPC_PORT, files in $dir)"
	exec npx zombienet --provider native --dir "$dir" --force spawn zombienet.toml
fi
