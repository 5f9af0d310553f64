#!/usr/bin/env bash
# Refreshes client/metadata/paychan.scale, the runtime metadata (V15) that the client's subxt
# interface is generated from, by asking a freshly started dev node. Run it after changing the
# runtime's calls, storage, events or runtime APIs; the client then fails to compile where it
# no longer matches.
set -euo pipefail
source "$(dirname "$0")/common.sh"
# Installs what is missing (protoc, clang, wasm targets); quick when all is there.
"$PAYCHAN_ROOT/scripts/setup.sh"
# Only the node: the client is what this metadata is for, and may not compile until it is fresh.
log "building paychan-node (release)"
(cd "$PAYCHAN_ROOT" && cargo build --locked --release -p paychan-node)

port=9977
"$PAYCHAN_NODE" --dev --tmp --rpc-port "$port" --sealing manual >/dev/null 2>&1 &
node_pid=$!
trap 'kill $node_pid 2>/dev/null || true' EXIT

request='{"id":1,"jsonrpc":"2.0","method":"state_call","params":["Metadata_metadata_at_version","0x0f000000"]}'
response_file=$(mktemp)
trap 'kill $node_pid 2>/dev/null || true; rm -f "$response_file"' EXIT
for _ in $(seq 1 60); do
	if curl -sf -o "$response_file" -H 'Content-Type: application/json' -d "$request" "http://127.0.0.1:$port"; then
		break
	fi
	sleep 1
done
# The answer is SCALE `Option<OpaqueMetadata>`: 0x01, a compact length, then the metadata.
python3 - "$response_file" "$PAYCHAN_ROOT/client/metadata/paychan.scale" <<'PY'
import json, sys
raw = bytes.fromhex(json.load(open(sys.argv[1]))["result"][2:])
assert raw[0] == 1, "the node has no V15 metadata"
mode = raw[1] & 3
skip = {0: 1, 1: 2, 2: 4}[mode]
metadata = raw[1 + skip:]
assert metadata[:4] == b"meta", "not runtime metadata"
open(sys.argv[2], "wb").write(metadata)
print(f"wrote {len(metadata)} bytes to {sys.argv[2]}")
PY
