#!/usr/bin/env bash
# Benchmarks the exact rebalancing solver on this machine (issue: rebalancer performance goals):
#   1. the Lightning graphs with heavy depletion, the exact solver next to two independent
#      methods over the arc network: the network simplex (exact) and the LP baseline;
#   2. Barabási–Albert graphs (m=4 and m=8) from 10k to 1M channels (BA_SIZES), the network
#      simplex alongside up to SIMPLEX_UP_TO channels;
#   3. a log-log plot of solve time against channels, rendered to docs/rebalancer-scaling.png.
# Prints markdown tables for docs/benchmarks.md. The graphs are read from ../shared/data/ln-graphs
# or from LN_GRAPHS=/path; they are never copied into the project.
set -euo pipefail
source "$(dirname "$0")/common.sh"
# Installs what is missing (protoc, clang, wasm targets); quick when all is there.
"$PAYCHAN_ROOT/scripts/setup.sh"
cd "$PAYCHAN_ROOT"

graphs="${LN_GRAPHS:-$PAYCHAN_ROOT/../shared/data/ln-graphs}"
runs="${RUNS:-3}"
# The LP baseline is stopped after this many seconds per graph and reported as "> limit".
lp_limit="${LP_LIMIT:-120}"
flat_lp_limit="${FLAT_LP_LIMIT:-400}"
simplex_up_to="${SIMPLEX_UP_TO:-10000}"
ba_sizes="${BA_SIZES:-10000,31623,100000,316228,1000000}"
out="$CARGO_TARGET_DIR/rebalancer-bench"
mkdir -p "$out"

log "building paychan-rebalance (release)"
cargo build --locked --release -p paychan-rebalancer
bin="$CARGO_TARGET_DIR/release/paychan-rebalance"

log "Lightning graphs, heavy depletion: exact solver, network simplex and LP baseline"
"$bin" bench --graph "$graphs/lnd_dec28_2018.edgelist" --graph "$graphs/lnd_july15_2019.edgelist" \
	--skew heavy --seed 7 --runs "$runs" --simplex-up-to 100000 --lp-up-to 100000 --lp-time-limit "$lp_limit"
log "Lightning graphs, heavy depletion, flat weights (Revive's objective): exact solver, network simplex and LP"
"$bin" bench --graph "$graphs/lnd_dec28_2018.edgelist" --graph "$graphs/lnd_july15_2019.edgelist" \
	--skew heavy --seed 7 --runs "$runs" --flat --simplex-up-to 100000 --lp-up-to 100000 \
	--lp-time-limit "$flat_lp_limit"

for m in 4 8; do
	log "Barabási–Albert m=$m, heavy depletion"
	"$bin" bench --ba "$ba_sizes" --m "$m" --skew heavy --seed 7 \
		--runs 1 --simplex-up-to "$simplex_up_to" --csv "$out/ba-m$m.csv"
done

log "Barabási–Albert m=4, heavy depletion, flat weights"
"$bin" bench --ba "$ba_sizes" --m 4 --skew heavy --seed 7 --runs 1 --flat \
	--simplex-up-to "$simplex_up_to" --csv "$out/ba-flat-m4.csv"

log "plotting docs/rebalancer-scaling.png"
venv="$HOME/.cache/paychan/venv"
if [ ! -x "$venv/bin/python" ]; then
	python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet matplotlib
"$venv/bin/python" scripts/plot_scaling.py "$out/ba-m4.csv" "$out/ba-m8.csv" "$out/ba-flat-m4.csv" \
	docs/rebalancer-scaling.png
