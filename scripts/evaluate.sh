#!/usr/bin/env bash
# The rebalancing evaluation (issue #20): builds paychan-sim, replays every policy on the
# Lightning snapshot and a Barabási–Albert graph, and regenerates docs/evaluation.md's tables and
# the plots in docs/evaluation/. PAYMENTS (default 200 000) sets the size of each run and JOBS
# (default 2) how many run at once. A run whose result was made from the same code (a digest of
# sim/, rebalancer/ and the pallet's weights) and arguments is not run again, so an interrupted
# evaluation resumes and a new experiment runs alone.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PAYCHAN_ROOT"
PAYMENTS="${PAYMENTS:-200000}"
JOBS="${JOBS:-2}"

log "building paychan-sim (release)"
SKIP_WASM_BUILD=1 cargo build --locked --release -p paychan-sim

venv="$HOME/.cache/paychan/venv"
if [ ! -x "$venv/bin/python" ]; then
	python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import matplotlib" 2>/dev/null || "$venv/bin/pip" install --quiet matplotlib

log "evaluating with $PAYMENTS payments per run (docs/evaluation/data/)"
"$venv/bin/python" scripts/evaluation.py "$CARGO_TARGET_DIR/release/paychan-sim" "$PAYMENTS" "$JOBS"
log "docs/evaluation.md and docs/evaluation/*.png regenerated"
