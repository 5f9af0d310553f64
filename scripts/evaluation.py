"""The rebalancing evaluation (issue #20): replays seeded workloads with paychan-sim under every
policy, writes each run's totals (JSON) and series (CSV) to docs/evaluation/data/, draws the plots
into docs/evaluation/, and regenerates the tables of docs/evaluation.md between its
`<!-- table:NAME -->` and `<!-- /table -->` markers. Run through scripts/evaluate.sh.

Usage: evaluation.py SIM_BINARY PAYMENTS
"""
import csv
import json
import os
import re
import subprocess
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
OUT = os.path.join(DOCS, "evaluation")
DATA = os.path.join(OUT, "data")
LND = os.path.join(ROOT, "..", "shared", "data", "ln-graphs", "lnd_july15_2019.edgelist")

BAND = "20:80"
# The runs, by name: the graph, the split, the workload, the policy and how many payments (as a
# share of PAYMENTS, so that the costly ideal stays bounded).
POLICIES = [
    ("none", "none", 1.0),
    ("shifts", f"shifts:5000:{BAND}", 1.0),
    ("on-demand", f"on-demand:{BAND}:1000", 1.0),
    ("rounds-5000", "rounds:5000", 1.0),
    ("rounds-20000", "rounds:20000", 1.0),
    ("ideal", "ideal", 0.1),
]
PERIODS = [1000, 2000, 5000, 10000, 20000, 50000]
DEMAND_SHARES = ["0", "0.3", "0.6"]


def run(sim, name, args):
    """Runs paychan-sim once (unless its result is already there and newer than the binary)."""
    os.makedirs(DATA, exist_ok=True)
    result = os.path.join(DATA, f"{name}.json")
    series = os.path.join(DATA, f"{name}.csv")
    if os.path.exists(result) and os.path.getmtime(result) > os.path.getmtime(sim):
        with open(result) as f:
            return json.load(f)
    started = time.time()
    print(f"==> {name}: paychan-sim {' '.join(args)}", file=sys.stderr, flush=True)
    output = subprocess.run(
        [sim, *args, "--json", "--csv", series], check=True, capture_output=True, text=True
    ).stdout
    totals = json.loads(output)
    totals["args"] = " ".join(args)
    with open(result, "w") as f:
        json.dump(totals, f, indent=1)
    print(f"    {time.time() - started:.0f} s: {100 * totals['success_ratio']:.2f}% succeeded",
          file=sys.stderr, flush=True)
    return totals


def lnd(payments, split, workload, policy, seed=1):
    return ["--graph", LND, "--payments", str(payments), "--split", split,
            "--workload", workload, "--policy", policy, "--seed", str(seed),
            "--interval", str(max(payments // 50, 1))]


def series(name):
    with open(os.path.join(DATA, f"{name}.csv"), newline="") as f:
        return list(csv.DictReader(f))


def pct(x):
    return f"{100 * x:.2f}%"


def cost(r):
    """On-chain cost in balances transfers of the same weight table."""
    return r["ref_time"] / r["transfer_ref_time"]


def row(label, r):
    moved = r["volume_moved"] + r["shifted"]
    return (f"| {label} | {r['payments']:,} | {pct(r['success_ratio'])} | {pct(r['volume_ratio'])} "
            f"| {pct(r['depleted_directions'])} | {moved:,} | {r['transactions']:,} "
            f"| {cost(r):,.0f} | {r['seconds']:.0f} s |")


HEADER = ("| policy | payments | succeeded | of the volume | depleted directions at the end "
          "| moved by rebalancing (sat) | extrinsics | weight (transfers) | run time |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|")


def main():
    sim, payments = sys.argv[1], int(sys.argv[2])
    tables = {}
    results = {}

    # 1. Every policy on the July 2019 snapshot, skewed split, uniform pairs.
    lines = [HEADER]
    for label, policy, share in POLICIES:
        n = max(int(payments * share), 1000)
        name = f"policies-{label}"
        results[name] = run(sim, name, lnd(n, "skewed", "uniform", policy))
        lines.append(row(f"`{policy}`", results[name]))
    tables["policies"] = "\n".join(lines)

    # 1b. Single-funded channels, the funding end drawn at random: where one-way flow bites.
    lines = [HEADER]
    for label, policy in [("none", "none"), ("shifts", f"shifts:5000:{BAND}"),
                          ("on-demand", f"on-demand:{BAND}:1000"), ("rounds-5000", "rounds:5000")]:
        name = f"funder-{label}"
        results[name] = run(sim, name, lnd(payments, "funder", "uniform", policy))
        lines.append(row(f"`{policy}`", results[name]))
    tables["funder"] = "\n".join(lines)

    # 2. How often to round: success against the period, and against what it costs on chain.
    lines = [HEADER]
    sweep = []
    for every in PERIODS:
        name = f"period-{every}"
        results[name] = run(sim, name, lnd(payments, "skewed", "uniform", f"rounds:{every}"))
        r = results[name]
        sweep.append((every, r))
        lines.append(row(f"round every {every:,} payments", r))
    tables["period"] = "\n".join(lines)

    # 3. Demand with a circulation and an acyclic part (Spider's workloads).
    lines = ["| acyclic share | policy | succeeded | of the volume | extrinsics | weight (transfers) |",
             "|---:|---|---:|---:|---:|---:|"]
    for share in DEMAND_SHARES:
        for label, policy in [("none", "none"), ("on-demand", f"on-demand:{BAND}:1000"),
                              ("rounds-5000", "rounds:5000")]:
            name = f"demand-{share}-{label}"
            results[name] = run(sim, name, lnd(payments, "skewed", f"demand:{share}", policy))
            r = results[name]
            lines.append(f"| {share} | `{policy}` | {pct(r['success_ratio'])} | "
                         f"{pct(r['volume_ratio'])} | {r['transactions']:,} | {cost(r):,.0f} |")
    tables["demand"] = "\n".join(lines)

    # 4. Revive's LP against the exact solver, where the LP finishes: a 2 000-channel BA graph.
    lines = ["| solver | succeeded | rounds | rounds over the LP's time limit | moved | plans "
             "| run time |", "|---|---:|---:|---:|---:|---:|---:|"]
    ba_payments = max(payments // 10, 1000)
    for label, policy in [("none", "none"), ("exact", "rounds:500"), ("lp", "lp:500:20000")]:
        name = f"lp-{label}"
        results[name] = run(sim, name, [
            "--ba", "2000:4", "--payments", str(ba_payments), "--split", "skewed",
            "--workload", "uniform", "--amount", "1000:50000", "--policy", policy, "--seed", "3",
            "--interval", str(max(ba_payments // 50, 1))])
        r = results[name]
        lines.append(f"| `{policy}` | {pct(r['success_ratio'])} | {r['rounds']} | "
                     f"{r['failed_rounds']} | {r['volume_moved']:,} | {r['plans']} | "
                     f"{r['seconds']:.0f} s |")
    tables["lp"] = "\n".join(lines)

    # 5. Single-unit probes (the anchors' measure): 1 sat payments on the skewed split.
    lines = ["| policy | succeeded |", "|---|---:|"]
    for label, policy in [("none", "none"), ("rounds-5000", "rounds:5000")]:
        name = f"unit-{label}"
        args = lnd(max(payments // 4, 1000), "skewed", "uniform", policy)
        args += ["--amount", "1:1"]
        results[name] = run(sim, name, args)
        lines.append(f"| `{policy}` | {pct(results[name]['success_ratio'])} |")
    tables["unit"] = "\n".join(lines)

    plot_over_time(results)
    plot_period(sweep)
    write_tables(tables)


def plot_over_time(results):
    fig, ax = plt.subplots(figsize=(7.2, 4.4), dpi=120)
    for label, policy, share in POLICIES:
        rows = series(f"policies-{label}")
        ax.plot([int(r["payments"]) for r in rows], [100 * float(r["success_ratio"]) for r in rows],
                label=policy)
    ax.set_xlabel("payments replayed")
    ax.set_ylabel("succeeded in the interval (%)")
    ax.set_title("lnd_july15_2019, skewed split, uniform pairs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(OUT, "success-over-time.png"))


def plot_period(sweep):
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 4.0), dpi=120)
    periods = [every for every, _ in sweep]
    success = [100 * r["success_ratio"] for _, r in sweep]
    left.plot(periods, success, "o-")
    left.set_xscale("log")
    left.set_xlabel("payments between rounds")
    left.set_ylabel("succeeded (%)")
    left.grid(alpha=0.3)
    right.plot([cost(r) for _, r in sweep], success, "s-")
    for every, r in sweep:
        right.annotate(f"{every:,}", (cost(r), 100 * r["success_ratio"]), fontsize=7)
    right.set_xscale("log")
    right.set_xlabel("on-chain weight (balances transfers)")
    right.set_ylabel("succeeded (%)")
    right.grid(alpha=0.3)
    fig.suptitle("Scheduled rounds, lnd_july15_2019")
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
