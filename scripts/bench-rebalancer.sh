#!/usr/bin/env bash
# Benchmarks the exact rebalancing solver on this machine (issue: rebalancer performance goals):
#   1. the Lightning graphs with heavy depletion, the exact solver next to the LP baseline;
#   2. Barabási–Albert graphs (m=4 and m=8) from 10k to 1M channels, exact solver only;
#   3. a log-log plot of solve time against channels, rendered to docs/rebalancer-scaling.png.
# Prints markdown tables for docs/benchmarks.md. The graphs are read from ../shared/data/ln-graphs
# or from LN_GRAPHS=/path; they are never copied into the project.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PAYCHAN_ROOT"

graphs="${LN_GRAPHS:-$PAYCHAN_ROOT/../shared/data/ln-graphs}"
runs="${RUNS:-7}"
out="$CARGO_TARGET_DIR/rebalancer-bench"
mkdir -p "$out"

log "building paychan-rebalance (release)"
cargo build --locked --release -p paychan-rebalancer
bin="$CARGO_TARGET_DIR/release/paychan-rebalance"

log "Lightning graphs, heavy depletion: exact solver and LP baseline"
"$bin" bench --graph "$graphs/lnd_dec28_2018.edgelist" --graph "$graphs/lnd_july15_2019.edgelist" \
	--skew heavy --seed 7 --runs "$runs" --lp-up-to 100000
log "Lightning graphs, heavy depletion, flat weights (no preference for depleted channels)"
"$bin" bench --graph "$graphs/lnd_dec28_2018.edgelist" --graph "$graphs/lnd_july15_2019.edgelist" \
	--skew heavy --seed 7 --runs "$runs" --flat --lp-up-to 100000

for m in 4 8; do
	log "Barabási–Albert m=$m, heavy depletion"
	"$bin" bench --ba 10000,31623,100000,316228,1000000 --m "$m" --skew heavy --seed 7 \
		--runs "$runs" --lp-up-to 10000 --csv "$out/ba-m$m.csv"
done

log "plotting docs/rebalancer-scaling.png"
venv="$HOME/.cache/paychan/venv"
if [ ! -x "$venv/bin/python" ]; then
	python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet matplotlib
"$venv/bin/python" scripts/plot_scaling.py "$out/ba-m4.csv" "$out/ba-m8.csv" docs/rebalancer-scaling.png
