"""Side by side, interleaved: each round runs one batch of every contender of a group in turn,
so a slow spell on a shared machine touches them all alike. Each batch is of distinct inputs and
its results are kept until the round ends; the garbage collector runs as it does for callers.
Reported: the median rate over the rounds with its spread (min-max), and the median of each
round's ratio to the baseline (the yardstick, or hashlib) run in the same round.

    fastsig bench [--rounds 9] [--batch 100000] [--group NAME] [--clock wall|cpu]
                  [--json FILE] [--chart FILE]

``--clock cpu`` times each batch in this process's CPU time instead of wall time: on a machine
shared with other jobs, what they take from the cores then stretches no contender's batch (a
rate is then items a CPU second; the 2-thread hashing counts both threads' CPU).

Prints the machine, the versions and a Markdown table per group: the README's tables; with
``--json`` the figures go to a file too, and ``--chart`` draws them (``chart.py``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from typing import Any, Dict, List, Optional

from .contenders import GROUPS

PEERS = ("botocore", "boto3", "awscrt", "requests-aws4auth")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> Dict[str, Any]:
    """What the figures were measured on."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                name, _, value = line.partition(":")
                if name.strip() == "model name":
                    model = value.strip()
                elif name.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "system": platform.platform(),
            "python": platform.python_version(),
            "features": [f for f in ("sha_ni", "avx2", "avx512f") if f in flags]}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument("--batch", type=int, default=100_000,
                        help="distinct inputs a batch, results kept (default 100000)")
    parser.add_argument("--group", action="append", choices=list(GROUPS),
                        help="only this group (repeatable; default: all)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="time batches in wall time (default) or this process's CPU time")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    parser.add_argument("--chart", metavar="FILE", help="draw the figures as an SVG chart")


def measure(group: str, rounds: int, batch: int, clock: str = "wall") -> Dict[str, Any]:
    """One group's contenders, interleaved: per contender its items per batch and its rate
    and ratio to the baseline in each round."""
    timer = time.process_time if clock == "cpu" else time.perf_counter
    runs: List[Dict[str, Any]] = []
    for name, factory, unit in GROUPS[group]:
        try:
            run, items = factory(batch)
        except ImportError as exc:
            print(f"  (skipping {name}: {exc})", file=sys.stderr)
            continue
        run()  # warm up: imports, caches, the first signing key
        runs.append({"name": name, "run": run, "items": items, "unit": unit, "rates": []})
    # 64 MiB per round: fewer rounds say as much.
    if runs and runs[0]["unit"] == "bytes/s":
        rounds = max(5, rounds // 2)
    for _ in range(rounds):
        for entry in runs:
            gc.collect()  # each batch starts from the same heap, whatever ran before it
            started = timer()
            kept = entry["run"]()
            elapsed = timer() - started
            del kept
            entry["rates"].append(entry["items"] / elapsed)
    base = runs[0]["rates"] if runs else []
    contenders = []
    for entry in runs:
        rates = entry["rates"]
        ratios = [r / b for r, b in zip(rates, base)]
        contenders.append({
            "name": entry["name"], "items": entry["items"], "unit": entry["unit"],
            "rate_median": statistics.median(rates), "rate_min": min(rates),
            "rate_max": max(rates), "ratio_median": statistics.median(ratios),
            "ratio_min": min(ratios), "ratio_max": max(ratios),
        })
    return {"baseline": runs[0]["name"] if runs else None, "rounds": rounds, "clock": clock,
            "contenders": contenders}


def _shown(rate: float, unit: str) -> str:
    return f"{rate / 1e9:.2f} GB/s" if unit == "bytes/s" else f"{rate / 1e3:,.1f}k"


def table(group: str, figures: Dict[str, Any]) -> str:
    baseline = figures["baseline"]
    clock = "CPU time, " if figures.get("clock") == "cpu" else ""
    lines = [f"## {group} ({clock}median of {figures['rounds']} interleaved rounds, min-max)", "",
             f"| contender | batch | rate | vs {baseline} |", "|---|---:|---:|---:|"]
    for c in sorted(figures["contenders"], key=lambda c: c["ratio_median"]):
        unit = c["unit"]
        lines.append(
            f"| {c['name']} | {c['items']:,} | {_shown(c['rate_median'], unit)} "
            f"({_shown(c['rate_min'], unit)}-{_shown(c['rate_max'], unit)}) | "
            f"{c['ratio_median']:.2f}x ({c['ratio_min']:.2f}-{c['ratio_max']:.2f}) |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import fastsig

    report: Dict[str, Any] = {
        "fastsig": fastsig.__version__, "backends": sorted(fastsig._backend.available),
        "machine": machine(), "versions": {d: _version(d) for d in PEERS},
        "batch": args.batch, "clock": args.clock, "groups": {},
    }
    m = report["machine"]
    print(f"fastsig {fastsig.__version__} (backends: {', '.join(report['backends'])}), "
          f"Python {m['python']} on {m['cpu']} ({m['cores']} cores; "
          f"{', '.join(m['features']) or 'no SHA-NI/AVX2'}); "
          + ", ".join(f"{d} {v}" for d, v in report["versions"].items()))
    print(f"Batches of {args.batch:,} distinct inputs, results kept, gc on; odd keys (%, +, #, ?, "
          "spaces, CJK, emoji) 1 in 1,000; timestamps as named.")
    for group in GROUPS:
        if args.group and group not in args.group:
            continue
        figures = measure(group, args.rounds, args.batch, args.clock)
        report["groups"][group] = figures
        print()
        print(table(group, figures))
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=1)
    if args.chart:
        from .chart import svg

        with open(args.chart, "w") as out:
            out.write(svg(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
