#!/usr/bin/env bash
# Measures submission-to-inclusion latency of signed transfers on a node with instant sealing
# (from @polkadot/api, over loopback). TRANSFERS=n sets the sample size (default 100).
set -euo pipefail
source "$(dirname "$0")/common.sh"
"$PAYCHAN_ROOT/scripts/setup.sh"
[ -x "$PAYCHAN_NODE" ] || "$PAYCHAN_ROOT/scripts/build.sh"
cd "$PAYCHAN_ROOT/tests/e2e"
node bench/inclusion-latency.js
