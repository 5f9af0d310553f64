#!/usr/bin/env bash
# Writes a staging chain spec whose authorities are freshly generated keys, not the dev seeds,
# and its raw form, for a network of validators on several machines (docs/network.md).
#
#   scripts/network-spec.sh OUT_DIR [--validators N] [--authority AURA_SS58,GRANDPA_SS58]...
#                           [--sudo SS58] [--bootnode MULTIADDR]... [--dev-accounts]
#
#   --validators N    generate N validator key sets (default 4) in OUT_DIR/keys
#   --authority A,G   use this validator's public keys instead (Aura sr25519, GRANDPA ed25519,
#                     both SS58): each operator generates its own key and sends only these
#   --sudo SS58       the sudo account (default: a generated key in OUT_DIR/keys/sudo.json)
#   --bootnode ADDR   a bootnode multiaddr written into the spec (repeatable)
#   --dev-accounts    also endow the well-known dev accounts (Alice..Ferdie): test networks only
#
# Out: OUT_DIR/paychan-staging.json (plain, readable), OUT_DIR/paychan-staging-raw.json (what
# nodes run), and OUT_DIR/keys/ (mode 700): validator-<i>.phrase (the secret phrase of both
# session keys), validator-<i>.json (its public keys and peer id) and validator-<i>.node-key (its
# libp2p identity). Running it again keeps the keys already there. Secret files never leave this directory:
# move each validator's files to its machine and insert them with `paychan-node key insert`
# (the script prints the commands).
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
	sed -n '5,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
[ $# -ge 1 ] || usage
out=$1
shift
validators=4
authorities=()
sudo_key=""
bootnodes=()
dev_accounts=false
while [ $# -gt 0 ]; do
	case "$1" in
	--validators) validators=${2:?--validators needs a number}; shift 2 ;;
	--authority) authorities+=("${2:?--authority needs AURA_SS58,GRANDPA_SS58}"); shift 2 ;;
	--sudo) sudo_key=${2:?--sudo needs an SS58 address}; shift 2 ;;
	--bootnode) bootnodes+=("${2:?--bootnode needs a multiaddr}"); shift 2 ;;
	--dev-accounts) dev_accounts=true; shift ;;
	*) echo "unknown argument: $1" >&2; usage ;;
	esac
done
[[ "$validators" =~ ^[1-9][0-9]*$ ]] || { echo "--validators must be a positive number" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed (scripts/setup.sh installs it)" >&2; exit 1; }
[ -x "$PAYCHAN_NODE" ] || "$PAYCHAN_ROOT/scripts/build.sh"
node=$PAYCHAN_NODE

keys="$out/keys"
mkdir -p "$keys"
chmod 700 "$keys"
# A JSON field of the one-line JSON `paychan-node key` prints.
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

if [ ${#authorities[@]} -eq 0 ]; then
	for i in $(seq 1 "$validators"); do
		phrase_file="$keys/validator-$i.phrase"
		[ -s "$phrase_file" ] || (umask 077 && "$node" key generate --scheme sr25519 \
			--output-type json | field secretPhrase >"$phrase_file")
		[ -s "$keys/validator-$i.node-key" ] ||
			(umask 077 && "$node" key generate-node-key --file "$keys/validator-$i.node-key" 2>/dev/null)
		phrase=$(cat "$phrase_file")
		aura=$("$node" key inspect --scheme sr25519 --output-type json "$phrase" | field ss58Address)
		grandpa=$("$node" key inspect --scheme ed25519 --output-type json "$phrase" | field ss58Address)
		peer=$("$node" key inspect-node-key --file "$keys/validator-$i.node-key")
		printf '{"aura":"%s","grandpa":"%s","peerId":"%s"}\n' "$aura" "$grandpa" "$peer" \
			>"$keys/validator-$i.json"
		authorities+=("$aura,$grandpa")
	done
fi
if [ -z "$sudo_key" ]; then
	file="$keys/sudo.json"
	[ -s "$file" ] || (umask 077 && "$node" key generate --scheme sr25519 --output-type json >"$file")
	sudo_key=$(field ss58Address <"$file")
fi

plain="$out/paychan-staging.json"
raw="$out/paychan-staging-raw.json"
"$node" build-spec --chain local --disable-default-bootnode 2>/dev/null >"$plain.base"
AUTHORITIES="${authorities[*]}" SUDO="$sudo_key" BOOTNODES="${bootnodes[*]}" \
	DEV_ACCOUNTS="$dev_accounts" python3 - "$plain.base" "$plain" <<'PY'
import json, os, sys

spec = json.load(open(sys.argv[1]))
spec.update(name="Paychan Staging", id="paychan_staging", chainType="Live",
            protocolId="paychan-staging", bootNodes=os.environ["BOOTNODES"].split())
patch = spec["genesis"]["runtimeGenesis"]["patch"]
pairs = [entry.split(",") for entry in os.environ["AUTHORITIES"].split()]
patch["aura"]["authorities"] = [aura for aura, _ in pairs]
patch["grandpa"]["authorities"] = [[grandpa, 1] for _, grandpa in pairs]
sudo = os.environ["SUDO"]
patch["sudo"]["key"] = sudo
# The local preset endows the dev accounts; a staging chain keeps them only if asked.
endowment = patch["balances"]["balances"][0][1]
balances = patch["balances"]["balances"] if os.environ["DEV_ACCOUNTS"] == "true" else []
if sudo not in [account for account, _ in balances]:
    balances.append([sudo, endowment])
patch["balances"]["balances"] = balances
json.dump(spec, open(sys.argv[2], "w"), indent=2)
PY
rm "$plain.base"
"$node" build-spec --chain "$plain" --raw --disable-default-bootnode 2>/dev/null >"$raw"

log "wrote $plain and $raw (${#authorities[@]} authorities, sudo $sudo_key)"
for i in $(seq 1 ${#authorities[@]}); do
	[ -s "$keys/validator-$i.phrase" ] || continue
	cat >&2 <<MSG
validator $i ($(cat "$keys/validator-$i.json")): copy validator-$i.phrase and
validator-$i.node-key to its machine, then, with its base path B:
  paychan-node key insert --base-path B --chain paychan-staging-raw.json --key-type aura --scheme sr25519 --suri "\$(cat validator-$i.phrase)"
  paychan-node key insert --base-path B --chain paychan-staging-raw.json --key-type gran --scheme ed25519 --suri "\$(cat validator-$i.phrase)"
  paychan-node --chain paychan-staging-raw.json --validator --base-path B --node-key-file validator-$i.node-key
MSG
done
