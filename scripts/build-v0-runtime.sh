#!/usr/bin/env bash
# Rebuilds tests/e2e/fixtures/paychan_runtime_spec100.compact.compressed.wasm: the runtime of
# commit e42d1f3 (spec 100, payment-channels storage version 0), which upgrade.test.js upgrades
# from. It builds in a worktree with the shared target directory (the dependencies are the
# current ones), so the wasm it leaves in wbuild/paychan-runtime/ is the old one until the
# current runtime is next rebuilt; upgrade.test.js takes the current runtime from the node
# binary itself, never from there.
#   ./scripts/build-v0-runtime.sh          # rebuild and report whether it matches the fixture
#   ./scripts/build-v0-runtime.sh --write  # rebuild and replace the fixture
set -euo pipefail
source "$(dirname "$0")/common.sh"
# Installs what is missing (protoc, clang, wasm targets); quick when all is there.
"$PAYCHAN_ROOT/scripts/setup.sh"
cd "$PAYCHAN_ROOT"

commit=e42d1f3
fixture=tests/e2e/fixtures/paychan_runtime_spec100.compact.compressed.wasm
worktree="$(mktemp -d)/paychan-$commit"
git worktree add --detach "$worktree" "$commit" >/dev/null
trap 'git worktree remove --force "$worktree"' EXIT

log "building the runtime of $commit"
# The node, not the runtime alone: the same features as the current build, so every
# dependency is already compiled.
(cd "$worktree" && WASM_BUILD_WORKSPACE_HINT="$worktree" cargo build --locked --release -p paychan-node)
built="$CARGO_TARGET_DIR/release/wbuild/paychan-runtime/paychan_runtime.compact.compressed.wasm"

if [ "${1:-}" = "--write" ]; then
	cp "$built" "$fixture"
	log "wrote $fixture"
elif cmp -s "$built" "$fixture"; then
	log "$fixture matches the build"
else
	log "$fixture differs from the build (another toolchain?); --write replaces it"
	exit 1
fi
