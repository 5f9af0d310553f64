# Shared settings of the project's scripts; sourced, not run.
# One persistent target directory serves every checkout and CI, so a fresh clone reuses the
# compiled dependencies.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paychan/target}"
# The runtime's wasm is built by a nested cargo inside the target directory; this tells it where
# the workspace (and its Cargo.lock) is.
PAYCHAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PAYCHAN_ROOT
export WASM_BUILD_WORKSPACE_HINT="$PAYCHAN_ROOT"
export PAYCHAN_NODE="${PAYCHAN_NODE:-$CARGO_TARGET_DIR/release/paychan-node}"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

# Reads a script's only option, `--check` (sets check_only=true); anything else is a usage error.
check_option() {
	check_only=false
	case "${1:-}" in
	--check) check_only=true ;;
	"") ;;
	*)
		echo "usage: $0 [--check]" >&2
		exit 2
		;;
	esac
}

# Whether something already listens on 127.0.0.1:$1.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
