"""Log-log plot of the exact solver's time against the number of channels.

Usage: plot_scaling.py ba-m4.csv [ba-m8.csv ...] out.png  (CSV from `paychan-rebalance bench --csv`)
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    *inputs, output = sys.argv[1:]
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for path in inputs:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        channels = [int(r["channels"]) for r in rows]
        label = rows[0]["workload"].rsplit(" ", 1)[0] if rows else path
        label += " flat (Revive)" if "flat" in path else " piecewise"
        ax.plot(channels, [float(r["solve_ms"]) for r in rows], "o-", label=f"{label}: exact solve")
        ax.plot(channels, [float(r["end_to_end_ms"]) for r in rows], "s--", alpha=0.6,
                label=f"{label}: build + solve + plan")
    lo, hi = 1e4, 1e6
    ax.plot([lo, hi], [10, 1000], ":", color="grey", label="linear (slope 1)")
    ax.axhline(500, color="red", linewidth=0.8, label="500 ms goal at 100k (piecewise)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("channels (Barabási–Albert, heavy depletion)")
    ax.set_ylabel("milliseconds (2-core VM)")
    ax.set_title("paychan-rebalance: exact min-cost circulation")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(output)


if __name__ == "__main__":
    main()
