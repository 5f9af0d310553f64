#!/usr/bin/env python3
"""Prints a markdown table of benchmarked weights next to Balances' transfer_keep_alive.

Reads the weight files that `paychan-node benchmark pallet` generated: the first is Balances'
(default template), the second the payment-channels pallet's (scripts/frame-weight-template.hbs).
Only the first impl block of each file is read (the `SubstrateWeight` one).
"""
import re
import sys

FN = re.compile(r"fn (\w+)\(([^)]*)\)\s*->\s*Weight\s*\{(.*?)\n\t\}", re.S)
PARTS = re.compile(r"Weight::from_parts\(([\d_]+),\s*([\d_]+)\)")
SLOPE = re.compile(r"Weight::from_parts\(([\d_]+),\s*0\)\.saturating_mul\((\w+)\.into\(\)\)")
# Constant database accesses (per-component ones are left out of the totals below).
READS = re.compile(r"\.reads\((\d+)(?:_u64)?\)")
WRITES = re.compile(r"\.writes\((\d+)(?:_u64)?\)")
# The runtime's `DbWeight` (frame-support's ParityDbWeight), in picoseconds.
READ, WRITE = 8_000_000, 50_000_000


def number(text):
    return int(text.replace("_", ""))


def weights(path):
    source = open(path).read()
    impl = source.index("impl<T: frame_system::Config>")
    body = source[impl:]
    end = body.find("\n}\n")
    rows = {}
    for name, _args, code in FN.findall(body[: end if end > 0 else None]):
        parts = [(number(a), number(b)) for a, b in PARTS.findall(code)]
        ref_time = next(a for a, _ in parts if a)
        proof = max(b for _, b in parts)
        slopes = {component: number(slope) for slope, component in SLOPE.findall(code)}
        database = READ * sum(map(int, READS.findall(code))) + WRITE * sum(
            map(int, WRITES.findall(code))
        )
        rows[name] = (ref_time, slopes, proof, ref_time + database)
    return rows


def micros(picos):
    return f"{picos / 1e6:.1f} µs"


balances = weights(sys.argv[1])
channels = weights(sys.argv[2])
transfer, _, transfer_proof, transfer_total = balances["transfer_keep_alive"]
print(
    "| extrinsic | ref_time | × transfer_keep_alive | proof_size (bytes) "
    "| with database accesses | × transfer_keep_alive |"
)
print("| --- | --- | --- | --- | --- | --- |")
print(
    f"| balances.transfer_keep_alive | {micros(transfer)} | 1.00 | {transfer_proof} "
    f"| {micros(transfer_total)} | 1.00 |"
)
for name, (ref_time, slopes, proof, total) in channels.items():
    slope = "".join(f" + {micros(s)}·{c}" for c, s in slopes.items())
    print(
        f"| payment_channels.{name} | {micros(ref_time)}{slope} | {ref_time / transfer:.2f} "
        f"| {proof} | {micros(total)}{' + …' if slopes else ''} | {total / transfer_total:.2f} |"
    )
