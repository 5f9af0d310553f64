"""The rebalancing evaluation (issue #20): replays seeded workloads with paychan-sim under every
policy, writes each run's totals (JSON) and series (CSV) to docs/evaluation/data/, draws the plots
into docs/evaluation/, and regenerates the tables of docs/evaluation.md between its
`<!-- table:NAME -->` and `<!-- /table -->` markers. Run through scripts/evaluate.sh.

Usage: evaluation.py SIM_BINARY PAYMENTS [JOBS]
"""
import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
OUT = os.path.join(DOCS, "evaluation")
DATA = os.path.join(OUT, "data")
LND = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "ln-graphs",
                                    "lnd_july15_2019.edgelist"))
BAND = "20:80"
SHIFTS = f"shifts:5000:{BAND}"
ON_DEMAND = f"on-demand:{BAND}:1000"
PERIODS = [1000, 5000, 20000, 50000, 200000]


def lnd(payments, split, workload, policy, amount="1000:100000", extra=()):
    return ["--graph", LND, "--payments", str(payments), "--split", split, "--workload", workload,
            "--amount", amount, "--policy", policy, "--seed", "1",
            "--interval", str(max(payments // 50, 1)), *extra]


def plan(payments):
    """Every run, by name: paychan-sim's arguments."""
    runs = {}
    small = max(payments // 100, 1000)
    # 1. Every policy: skewed split, uniform pairs, 1 000-100 000 sat.
    for label, policy in [("none", "none"), ("shifts", SHIFTS), ("on-demand", ON_DEMAND),
                          ("rounds", "rounds:20000"), ("rounds-whole", "rounds-whole:20000")]:
        runs[f"skewed-{label}"] = lnd(payments, "skewed", "uniform", policy)
    runs["skewed-ideal"] = lnd(small, "skewed", "uniform", "ideal")
    runs["skewed-ideal-baseline"] = lnd(small, "skewed", "uniform", "none")
    # 2. Single-funded channels, small payments: where depletion is the problem.
    for label, policy in [("none", "none"), ("shifts", SHIFTS), ("on-demand", ON_DEMAND),
                          ("rounds", "rounds:20000")]:
        runs[f"funder-{label}"] = lnd(payments, "funder", "uniform", policy, amount="100:1000")
    runs["funder-ideal"] = lnd(small, "funder", "uniform", "ideal", amount="100:1000")
    runs["funder-ideal-baseline"] = lnd(small, "funder", "uniform", "none", amount="100:1000")
    # 3. How often to round.
    for every in PERIODS:
        runs[f"period-{every}"] = lnd(payments, "funder", "uniform", f"rounds:{every}",
                                      amount="100:1000")
    # 4. Demand with a circulation and an acyclic part (Spider's workloads).
    for share in ["0", "0.3", "0.6"]:
        for label, policy in [("none", "none"), ("shifts", SHIFTS), ("on-demand", ON_DEMAND),
                              ("rounds", "rounds:20000")]:
            runs[f"demand-{share}-{label}"] = lnd(payments, "funder", f"demand:{share}", policy,
                                                  amount="100:1000")
    # 4b. Zipf-skewed payers and payees: a few parties pay and are paid most.
    for label, policy in [("none", "none"), ("shifts", SHIFTS), ("on-demand", ON_DEMAND),
                          ("rounds", "rounds:20000")]:
        runs[f"zipf-{label}"] = lnd(payments, "funder", "zipf:1.0", policy, amount="100:1000")
    # 5. How many channels a request may name.
    for entries in [16, 64, 128]:
        runs[f"entries-{entries}"] = lnd(payments, "funder", "uniform", ON_DEMAND,
                                         amount="100:1000",
                                         extra=("--request-entries", str(entries)))
    # 6. Revive's LP against the exact solver where the LP finishes: a 2 000-channel BA graph.
    ba = max(payments // 20, 1000)
    for label, policy in [("none", "none"), ("exact", "rounds:1000"), ("lp", "lp:1000:30000")]:
        runs[f"lp-{label}"] = ["--ba", "2000:4", "--payments", str(ba), "--split", "funder",
                               "--workload", "uniform", "--amount", "100:1000", "--policy", policy,
                               "--seed", "3", "--interval", str(max(ba // 50, 1))]
    # 7. Single-unit payments (the published anchor's measure).
    for label, policy in [("none", "none"), ("shifts", SHIFTS), ("rounds", "rounds:20000")]:
        runs[f"unit-{label}"] = lnd(payments // 4, "funder", "uniform", policy, amount="1:1")
    return runs


def source_digest():
    """A digest of the code a run's numbers depend on: the simulator, the router and solver
    (rebalancer/), and the pallet's weights. A result made from the same code is reused."""
    digest = hashlib.sha256()
    for top in ["sim/src", "rebalancer/src", "pallets/payment-channels/src/weights.rs"]:
        path = os.path.join(ROOT, top)
        files = [path] if os.path.isfile(path) else sorted(
            os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs if f.endswith(".rs"))
        for file in files:
            digest.update(os.path.relpath(file, ROOT).encode())
            with open(file, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()[:16]


SOURCE = source_digest()


def run(sim, name, args):
    """Runs paychan-sim once, unless its result is there, from the same code and arguments."""
    result = os.path.join(DATA, f"{name}.json")
    series = os.path.join(DATA, f"{name}.csv")
    if os.path.exists(result):
        with open(result) as f:
            kept = json.load(f)
        if kept.get("source") == SOURCE and kept.get("args") == shown(args):
            return kept
    started = time.time()
    output = subprocess.run([sim, *args, "--json", "--csv", series], check=True,
                            capture_output=True, text=True).stdout
    totals = json.loads(output)
    totals["args"] = shown(args)
    totals["source"] = SOURCE
    with open(result, "w") as f:
        json.dump(totals, f, indent=1)
    print(f"==> {name}: {100 * totals['success_ratio']:.2f}% succeeded "
          f"({time.time() - started:.0f} s)", file=sys.stderr, flush=True)
    return totals


def shown(args):
    """The arguments as the results record them, the snapshot's directory left out."""
    return " ".join(a.replace(os.path.dirname(LND) + "/", "") for a in args)


def series(name):
    with open(os.path.join(DATA, f"{name}.csv"), newline="") as f:
        return list(csv.DictReader(f))


def pct(x):
    return f"{100 * x:.2f}%"


def cost(r):
    """On-chain weight in balances transfers of the same weight table."""
    return r["ref_time"] / r["transfer_ref_time"]


HEADER = ("| policy | payments | succeeded | of the volume | failed: payer short | payee short "
          "| in between | depleted directions at the end | moved by rebalancing | extrinsics "
          "| weight (transfers) |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def row(label, r):
    moved = r["volume_moved"] + r["shifted"]
    return (f"| {label} | {r['payments']:,} | {pct(r['success_ratio'])} | {pct(r['volume_ratio'])} "
            f"| {r['failed_at_payer']:,} | {r['failed_at_payee']:,} | {r['failed_in_between']:,} "
            f"| {pct(r['depleted_directions'])} | {moved:,} | {r['transactions']:,} "
            f"| {cost(r):,.0f} |")


def policy_of(r):
    return "`" + r["args"].split("--policy ")[1].split(" ")[0] + "`"


def main():
    sim, payments = sys.argv[1], int(sys.argv[2])
    jobs = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    os.makedirs(DATA, exist_ok=True)
    runs = plan(payments)
    # Results of runs the plan no longer has would be mistaken for current ones.
    for file in os.listdir(DATA):
        if file.rsplit(".", 1)[0] not in runs:
            os.remove(os.path.join(DATA, file))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {name: pool.submit(run, sim, name, args) for name, args in runs.items()}
        results = {name: future.result() for name, future in futures.items()}

    tables = {}
    for prefix in ["skewed", "funder"]:
        lines = [HEADER]
        for name in [n for n in runs if n.startswith(prefix + "-")]:
            label = policy_of(results[name])
            if name.endswith("ideal-baseline"):
                label = "`none`, over the ideal's payments"
            lines.append(row(label, results[name]))
        tables[prefix] = "\n".join(lines)
    lines = [HEADER]
    for every in PERIODS:
        lines.append(row(f"`rounds:{every}`", results[f"period-{every}"]))
    tables["period"] = "\n".join(lines)
    lines = ["| acyclic share | policy | succeeded | of the volume | payer short | payee short "
             "| in between | depleted at the end | extrinsics | weight (transfers) |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in [n for n in runs if n.startswith("demand-")]:
        r = results[name]
        share = name.split("-")[1]
        lines.append(f"| {share} | {policy_of(r)} | {pct(r['success_ratio'])} | "
                     f"{pct(r['volume_ratio'])} | {r['failed_at_payer']:,} | "
                     f"{r['failed_at_payee']:,} | {r['failed_in_between']:,} | "
                     f"{pct(r['depleted_directions'])} | {r['transactions']:,} | {cost(r):,.0f} |")
    tables["demand"] = "\n".join(lines)
    lines = [HEADER]
    for name in [n for n in runs if n.startswith("zipf-")]:
        lines.append(row(policy_of(results[name]), results[name]))
    tables["zipf"] = "\n".join(lines)
    lines = ["| entries a request may name | succeeded | requests | plans | moved "
             "| depleted at the end | weight (transfers) |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for entries in [16, 64, 128]:
        r = results[f"entries-{entries}"]
        lines.append(f"| {entries} | {pct(r['success_ratio'])} | {r['requests']:,} | "
                     f"{r['plans']:,} | {r['volume_moved']:,} | {pct(r['depleted_directions'])} | "
                     f"{cost(r):,.0f} |")
    tables["entries"] = "\n".join(lines)
    lines = ["| solver | succeeded | rounds | rounds past the LP's time limit | moved | plans "
             "| depleted at the end | run time |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label in ["none", "exact", "lp"]:
        r = results[f"lp-{label}"]
        lines.append(f"| {policy_of(r)} | {pct(r['success_ratio'])} | {r['rounds']} | "
                     f"{r['failed_rounds']} | {r['volume_moved']:,} | {r['plans']} | "
                     f"{pct(r['depleted_directions'])} | {r['seconds']:.0f} s |")
    tables["lp"] = "\n".join(lines)
    lines = ["| policy | succeeded | payer short | payee short | in between |",
             "|---|---:|---:|---:|---:|"]
    for label in ["none", "shifts", "rounds"]:
        r = results[f"unit-{label}"]
        lines.append(f"| {policy_of(r)} | {pct(r['success_ratio'])} | {r['failed_at_payer']:,} | "
                     f"{r['failed_at_payee']:,} | {r['failed_in_between']:,} |")
    tables["unit"] = "\n".join(lines)

    plot_over_time(runs, "funder", "Single-funded channels, uniform pairs, 100-1 000 sat",
                   "success-over-time.png")
    plot_period(results)
    write_tables(tables)


def plot_over_time(runs, prefix, title, file):
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.2, 6.4), dpi=120, sharex=True)
    for name in [n for n in runs if n.startswith(prefix + "-") and "ideal" not in n]:
        rows = series(name)
        x = [int(r["payments"]) for r in rows]
        label = runs[name][runs[name].index("--policy") + 1]
        top.plot(x, [100 * float(r["success_ratio"]) for r in rows], label=label)
        bottom.plot(x, [100 * float(r["depleted_directions"]) for r in rows], label=label)
    top.set_ylabel("succeeded in the interval (%)")
    bottom.set_ylabel("depleted channel directions (%)")
    bottom.set_xlabel("payments replayed")
    top.set_title(title)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    top.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(OUT, file))


def plot_period(results):
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 4.0), dpi=120)
    sweep = [(every, results[f"period-{every}"]) for every in PERIODS]
    baseline = results["funder-none"]
    success = [100 * r["success_ratio"] for _, r in sweep]
    depleted = [100 * r["depleted_directions"] for _, r in sweep]
    left.plot(PERIODS, success, "o-", label="succeeded")
    left.plot(PERIODS, depleted, "s--", label="depleted directions at the end")
    left.axhline(100 * baseline["success_ratio"], color="grey", linestyle=":",
                 label="succeeded without rebalancing")
    left.set_xscale("log")
    left.set_xlabel("payments between rounds")
    left.set_ylabel("%")
    left.grid(alpha=0.3)
    left.legend(fontsize=7)
    right.plot([cost(r) for _, r in sweep], success, "s-")
    # A percentage point either side of the baseline, so that noise does not look like a trend.
    base = 100 * baseline["success_ratio"]
    right.axhline(base, color="grey", linestyle=":", label="without rebalancing")
    right.set_ylim(base - 1, base + 1)
    right.legend(fontsize=7)
    for every, r in sweep:
        right.annotate(f"{every:,}", (cost(r), 100 * r["success_ratio"]), fontsize=7)
    right.set_xscale("log")
    right.set_xlabel("on-chain weight (balances transfers)")
    right.set_ylabel("succeeded (%)")
    right.grid(alpha=0.3)
    fig.suptitle("Scheduled rounds, single-funded channels, lnd_july15_2019")
    fig.tight_layout()
    fig.savefig(os.path.join(OUT, "success-vs-period.png"))


def write_tables(tables):
    path = os.path.join(DOCS, "evaluation.md")
    with open(path) as f:
        text = f.read()
    for name, table in tables.items():
        pattern = re.compile(rf"(<!-- table:{name} -->\n).*?(<!-- /table -->)", re.S)
        if not pattern.search(text):
            sys.exit(f"docs/evaluation.md has no <!-- table:{name} --> marker")
        text = pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text)
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
