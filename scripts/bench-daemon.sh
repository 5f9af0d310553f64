#!/usr/bin/env bash
# Benchmarks `paychan daemon` (issue: one long-running party per key), durable, against a dev
# node with instant sealing, every process on this machine:
#   1. one direction on one channel (alice's daemon pays bob's);
#   2. both directions on one channel at once;
#   3. 16 channels between 4 daemons, every opener paying at once (aggregate);
#   4. the store after HISTORY payments (default 1 000 000) and the daemon's restart time.
# An application's payments go through the API: `paychan pay --count N --window W --batch B`
# keeps W payments unanswered, B per call (`paychan_payMany`; B=1 is one `paychan_pay` each).
# Each payment is answered on its own, after the receiver's commit (fsync) and the payer's.
# Latencies: `app` is what the application waited (the call's round trip), `daemon` the part
# from the payment's arrival at the daemon to its acknowledgement.
#   ./scripts/bench-daemon.sh                       # PAYMENTS=200000 WINDOW=1536 BATCH=96
#   PAYMENTS=50000 HISTORY=100000 ./scripts/bench-daemon.sh
# It is called by ./scripts/bench-client.sh after the standalone figures.
set -euo pipefail
source "$(dirname "$0")/common.sh"
"$PAYCHAN_ROOT/scripts/setup.sh"
cd "$PAYCHAN_ROOT"

payments="${PAYMENTS:-200000}"
window="${WINDOW:-1536}"
batch="${BATCH:-96}"
history="${HISTORY:-1000000}"

source "$PAYCHAN_ROOT/scripts/bench-daemons.sh"
names=(alice bob charlie dave)
bench_start 9971 9972

open() { # opener counterparty -> channel id
	pc "$1" rpc paychan_open "{\"counterparty\":\"${account[$2]}\",\"deposit\":\"1000UNIT\"}" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["channel_id"])'
}

stream() { # payer channel count -> a JSON report
	pc "$1" pay --channel "$2" --amount 1000 --count "$3" --window "$window" --batch "$batch"
}

# Both cores' busy share while a case ran, from /proc/stat (user+nice+system+irq+softirq).
cpu_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
busy_since() { # the ticks cpu_ticks printed before
	read -r busy0 total0 <<<"$1"
	read -r busy1 total1 <<<"$(cpu_ticks)"
	python3 -c "print(f'{100 * ($busy1 - $busy0) / max(1, $total1 - $total0):.0f}%')"
}

report() { # case label and CPU busy share, then the streams' JSON reports on stdin
	python3 -c "
import json, sys
reports = [json.loads(line) for line in sys.stdin if line.startswith('{')]
for r in reports:
    assert r['error'] is None, r['error']
paid = sum(r['acknowledged'] for r in reports)
seconds = max(r['seconds'] for r in reports)
p = lambda key: max(r[key] for r in reports) / 1000
print(f\"| $1 | {len(reports)} | {paid:,} | {paid / seconds:,.0f} | {p('latency_p50_us'):.1f} / {p('latency_p99_us'):.1f} ms | {p('daemon_latency_p50_us'):.1f} / {p('daemon_latency_p99_us'):.1f} ms | $2 |\")"
}

for name in "${names[@]}"; do start_daemon "$name"; done
ab=$(open alice bob)
pc bob rpc paychan_deposit "{\"channel_id\":$ab,\"amount\":\"1000UNIT\"}" >/dev/null
# A first stream sets the link up; what follows is measured.
stream alice "$ab" 1000 >/dev/null

echo "Window $window payments unanswered per stream, $batch per API call."
echo
echo "| case | streams | payments | payments/s | p50 / p99 app latency | p50 / p99 daemon latency | CPU busy |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
ticks=$(cpu_ticks)
out=$(stream alice "$ab" "$payments")
report "one channel, one direction" "$(busy_since "$ticks")" <<<"$out"
ticks=$(cpu_ticks)
out=$({ stream alice "$ab" "$payments" & stream bob "$ab" "$payments"; wait; })
report "one channel, both directions" "$(busy_since "$ticks")" <<<"$out"

channels=()
openers=()
for i in 0 1 2 3; do
	for k in 1 2 3 1; do
		opener=${names[$i]}
		counterparty=${names[$(((i + k) % 4))]}
		channels+=("$(open "$opener" "$counterparty")")
		openers+=("$opener")
	done
done
for j in "${!channels[@]}"; do stream "${openers[$j]}" "${channels[$j]}" 100 >/dev/null; done
# Twice the one-channel count in all, so that the streams' start is a small part of the run.
per_channel=$((payments / 8))
ticks=$(cpu_ticks)
out=$({
	for j in "${!channels[@]}"; do stream "${openers[$j]}" "${channels[$j]}" "$per_channel" & done
	wait
})
report "16 channels, 4 daemons" "$(busy_since "$ticks")" <<<"$out"

echo
echo "Bare sr25519 cost of one balance proof (one core), same run:"
cargo build --locked --release -p paychan-client --example sign_verify >/dev/null 2>&1
"$CARGO_TARGET_DIR/release/examples/sign_verify" 50000

echo
log "store size and restart time after $history payments on one channel"
paid_on() { pc "$1" balance --channel "$ab" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["channels"][0]["paid"]) // 1000)'; }
done_so_far=$(paid_on alice)
remaining=$((history > done_so_far ? history - done_so_far : 0))
[ "$remaining" -eq 0 ] || stream alice "$ab" "$remaining" >/dev/null
size() { du -k "$work/$1/store.redb" | cut -f1; }
entries() { pc "$1" rpc paychan_info | python3 -c 'import json,sys; print(json.load(sys.stdin)["history_entries"])'; }
kill -KILL "${daemon_pid[bob]}"
wait "${daemon_pid[bob]}" 2>/dev/null || true
started=$(date +%s.%N)
start_daemon bob
restarted=$(python3 -c "print(f'{$(date +%s.%N) - $started:.2f}')")
paid=$(paid_on alice)
echo "| after | payments on the channel | alice's store | bob's store | history entries (alice / bob) | bob's restart after SIGKILL, to the API answering |"
echo "| --- | --- | --- | --- | --- | --- |"
echo "| $history payments | $paid | $(size alice) KiB | $(size bob) KiB | $(entries alice) / $(entries bob) | $restarted s |"
