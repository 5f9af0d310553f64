#!/usr/bin/env bash
# Builds the release node (and with it the runtime's wasm) and the `paychan` client. Extra
# arguments go to cargo.
set -euo pipefail
source "$(dirname "$0")/common.sh"
# Installs what is missing (protoc, clang, wasm targets); quick when all is there.
"$PAYCHAN_ROOT/scripts/setup.sh"
cd "$PAYCHAN_ROOT"
log "building paychan-node (release) into $CARGO_TARGET_DIR"
cargo build --locked --release -p paychan-node "$@"
log "building paychan (release)"
cargo build --locked --release -p paychan-client --bin paychan "$@"
