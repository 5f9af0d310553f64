#!/usr/bin/env bash
# Builds the release node (and with it the runtime's wasm). Extra arguments go to cargo.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PAYCHAN_ROOT"
log "building paychan-node (release) into $CARGO_TARGET_DIR"
cargo build --locked --release -p paychan-node "$@"
