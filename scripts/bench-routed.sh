#!/usr/bin/env bash
# Benchmarks routed payments (issue #19) between `paychan daemon`s on one machine, against a dev
# node with instant sealing: a line alice → bob → charlie → dave of 1 000 UNIT channels, and
# PAYMENTS payments (default 2 000) from alice to bob (1 hop), charlie (2) and dave (3), each
# over `paychan_payRouted` with CONCURRENCY (default 32) in flight. A payment is one lock per hop
# and one payment of each lock back, every proof made durable (fsync) by its receiver before it
# is acknowledged; the call returns when the payee's secret is back at alice.
# Invoices are made before the clock starts. Latency is the API call's round trip.
#   ./scripts/bench-routed.sh
#   PAYMENTS=500 CONCURRENCY=8 ./scripts/bench-routed.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
"$PAYCHAN_ROOT/scripts/setup.sh"
cd "$PAYCHAN_ROOT"

payments="${PAYMENTS:-2000}"
concurrency="${CONCURRENCY:-32}"
# A pending lock per payment in flight, at most 64 per channel direction (MAX_LOCKS).
if [ "$concurrency" -gt 64 ]; then fail "CONCURRENCY is at most 64 (locks pending per channel)"; fi

source "$PAYCHAN_ROOT/scripts/bench-daemons.sh"
names=(alice bob charlie dave)
bench_start 9981 9982
for name in "${names[@]}"; do start_daemon "$name"; done
for i in 0 1 2; do
	pc "${names[$i]}" rpc paychan_open \
		"{\"counterparty\":\"${account[${names[$((i + 1))]}]}\",\"deposit\":\"1000UNIT\"}" >/dev/null
done

echo "$payments payments a case, $concurrency in flight; alice's daemon pays over 1 000 UNIT channels."
echo
echo "| hops | payments | payments/s | p50 / p99 latency | CPU busy |"
echo "| --- | --- | --- | --- | --- |"
for hops in 1 2 3; do
	payee=${names[$hops]}
	python3 - "$payments" "$concurrency" "$hops" \
		"${api_port[alice]}" "$work/alice/api.cookie" \
		"${api_port[$payee]}" "$work/$payee/api.cookie" "${account[$payee]}" <<'EOF'
import json, sys, threading, time, urllib.request

payments, concurrency, hops = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
payer_port, payer_cookie, payee_port, payee_cookie, payee = sys.argv[4:9]

def caller(port, cookie):
    token = open(cookie).read().strip()
    def call(method, params):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}", body,
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        answer = json.load(urllib.request.urlopen(request, timeout=120))
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]
    return call

pay, invoice = caller(payer_port, payer_cookie), caller(payee_port, payee_cookie)
amount = "1000000"  # 10^-6 UNIT
# One payment first sets the links up; what follows is measured.
first = invoice("paychan_invoice", {"amount": amount})
pay("paychan_payRouted", {"to": payee, "amount": amount, "secret_hash": first["secret_hash"]})
hashes = [invoice("paychan_invoice", {"amount": amount})["secret_hash"] for _ in range(payments)]

def ticks():
    fields = open("/proc/stat").readline().split()[1:]
    values = [int(v) for v in fields]
    busy = values[0] + values[1] + values[2] + values[5] + values[6]
    return busy, sum(values[:7])

latencies, errors, lock = [], [], threading.Lock()
def worker(mine):
    for secret_hash in mine:
        started = time.perf_counter()
        try:
            paid = pay("paychan_payRouted",
                       {"to": payee, "amount": amount, "secret_hash": secret_hash, "max_hops": hops})
            assert [len(part["hops"]) for part in paid["attempts"][-1]["parts"]] == [hops], paid
            with lock:
                latencies.append(time.perf_counter() - started)
        except Exception as error:  # reported below; the benchmark fails on any
            with lock:
                errors.append(str(error))

busy0, total0 = ticks()
started = time.perf_counter()
threads = [threading.Thread(target=worker, args=(hashes[i::concurrency],)) for i in range(concurrency)]
for thread in threads: thread.start()
for thread in threads: thread.join()
seconds = time.perf_counter() - started
busy1, total1 = ticks()
if errors:
    sys.exit(f"{len(errors)} payments failed; the first: {errors[0]}")
latencies.sort()
pct = lambda p: latencies[min(len(latencies) - 1, len(latencies) * p // 100)] * 1000
busy = 100 * (busy1 - busy0) / max(1, total1 - total0)
print(f"| {hops} | {len(latencies):,} | {len(latencies) / seconds:,.1f} | {pct(50):.1f} / {pct(99):.1f} ms | {busy:.0f}% |")
EOF
done
