#!/usr/bin/env bash
# Time to finality on the four-validator network of scripts/local-net.sh, measured at Alice's
# node: with all four validators, with Dave killed (SIGKILL), with Charlie killed too (finality
# stalls) and after Charlie restarts from its database. Prints a markdown table for
# docs/benchmarks.md. BLOCKS (default 15) blocks per phase; takes about 7 minutes.
set -euo pipefail
source "$(dirname "$0")/common.sh"
"$PAYCHAN_ROOT/scripts/setup.sh"
[ -x "$PAYCHAN_NODE" ] || "$PAYCHAN_ROOT/scripts/build.sh"

dir="$(mktemp -d -t paychan-finality-XXXXXX)"
LOCAL_NET_DIR="$dir" "$PAYCHAN_ROOT/scripts/local-net.sh" >"$dir/local-net.log" 2>&1 &
net=$!
stop() {
	kill -TERM "$net" 2>/dev/null || true
	wait "$net" 2>/dev/null || true
	rm -rf "$dir"
}
trap stop EXIT
for _ in $(seq 1 120); do
	grep -q "running;" "$dir/local-net.log" && break
	kill -0 "$net" 2>/dev/null || { cat "$dir/local-net.log" >&2; exit 1; }
	sleep 1
done
grep -q "running;" "$dir/local-net.log" || { echo "the local network did not start" >&2; exit 1; }

log "measuring time to finality (commit $(git -C "$PAYCHAN_ROOT" rev-parse --short HEAD), $(nproc) cores)"
cd "$PAYCHAN_ROOT/tests/e2e"
LOCAL_NET_DIR="$dir" node bench/finality.js
