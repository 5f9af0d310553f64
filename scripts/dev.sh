#!/usr/bin/env bash
# From a fresh clone to a running dev chain: installs what is missing, builds, and runs
# `paychan-node --dev` (RPC on 127.0.0.1:9944, temporary state). Extra arguments go to the node,
# e.g. `./scripts/dev.sh --sealing instant`.
set -euo pipefail
source "$(dirname "$0")/common.sh"
"$PAYCHAN_ROOT/scripts/setup.sh"
"$PAYCHAN_ROOT/scripts/build.sh"
log "starting the dev chain; polkadot.js apps: https://polkadot.js.org/apps/?rpc=ws://127.0.0.1:9944"
exec "$PAYCHAN_NODE" --dev --rpc-port 9944 "$@"
