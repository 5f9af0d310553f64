#!/usr/bin/env bash
# Runs the dashboard's browser test (tests/e2e/dashboard.test.js) with its screenshots going to
# docs/dashboard/, which docs/dashboard.md shows. Needs a built node and `paychan`
# (./scripts/build.sh, cargo build --release -p paychan-client).
set -euo pipefail
source "$(dirname "$0")/common.sh"
"$PAYCHAN_ROOT/scripts/setup.sh"
mkdir -p "$PAYCHAN_ROOT/docs/dashboard"
cd "$PAYCHAN_ROOT/tests/e2e"
DASHBOARD_SCREENSHOTS="$PAYCHAN_ROOT/docs/dashboard" node --test dashboard.test.js
log "screenshots in docs/dashboard/"
