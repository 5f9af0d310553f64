#!/usr/bin/env bash
# Installs what building and testing Paychan needs, and nothing that is already there.
# Safe to run any number of times.
set -euo pipefail
source "$(dirname "$0")/common.sh"

if ! command -v cargo >/dev/null; then
	echo "Rust is not installed: install rustup (https://rustup.rs) and run this again." >&2
	exit 1
fi

installed_targets="$(rustup target list --installed)"
# The runtime is built for wasm32v1-none (Rust >= 1.84); wasm32-unknown-unknown is the fallback
# that older toolchains and some tools expect.
for target in wasm32v1-none wasm32-unknown-unknown; do
	grep -qx "$target" <<<"$installed_targets" || {
		log "adding the $target target"
		rustup target add "$target"
	}
done
installed_components="$(rustup component list --installed)"
for component in rust-src clippy rustfmt; do
	grep -q "^$component" <<<"$installed_components" || {
		log "adding the $component component"
		rustup component add "$component"
	}
done

missing=()
command -v protoc >/dev/null || missing+=(protobuf-compiler)
command -v clang >/dev/null || missing+=(clang)
dpkg -s libclang-dev >/dev/null 2>&1 || missing+=(libclang-dev)
command -v curl >/dev/null || missing+=(curl)
command -v node >/dev/null || missing+=(nodejs npm)
# scripts/network-spec.sh edits chain specs (JSON) with python3.
command -v python3 >/dev/null || missing+=(python3)
# The dashboard's browser test drives Debian's chromium.
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium)
if ((${#missing[@]})); then
	log "installing ${missing[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# The end-to-end suite's npm packages, from the committed lockfile.
e2e="$PAYCHAN_ROOT/tests/e2e"
if [ ! -d "$e2e/node_modules" ] || [ "$e2e/package-lock.json" -nt "$e2e/node_modules/.package-lock.json" ]; then
	log "installing the end-to-end suite's npm packages"
	(cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error)
fi
