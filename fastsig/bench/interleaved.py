"""Side by side, interleaved: each round runs one batch of every contender of a group in turn,
so a slow spell on a shared machine touches them all alike; each keeps its best round.

    fastsig bench [--rounds 25] [--group NAME]    (or python -m fastsig.bench.interleaved)

Prints the versions and a Markdown table per group with the ratio to the group's baseline
(the yardstick, or hashlib for hashing). This is the table in the README.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from importlib import metadata
from typing import Any, List

from .contenders import GROUPS


def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=25, help="interleaved rounds (default 25)")
    parser.add_argument("--group", action="append", choices=list(GROUPS),
                        help="only this group (repeatable; default: all)")


def run(args: argparse.Namespace) -> int:
    import fastsig

    print(f"fastsig {fastsig.__version__} (backends: {', '.join(sorted(fastsig._backend.available))}), "
          f"Python {platform.python_version()} on {platform.machine()}; "
          + ", ".join(f"{d} {_version(d)}" for d in ("botocore", "awscrt", "requests-aws4auth")))
    for group, contenders in GROUPS.items():
        if args.group and group not in args.group:
            continue
        runs: List[List[Any]] = []  # [name, run, items, unit, best time]
        for name, factory, unit in contenders:
            try:
                run, items = factory()
            except ImportError as exc:
                print(f"  (skipping {name}: {exc})")
                continue
            run()  # warm up
            runs.append([name, run, items, unit, float("inf")])
        # 64 MiB per round: fewer rounds say as much.
        rounds = max(5, args.rounds // 3) if runs and runs[0][3] == "bytes/s" else args.rounds
        gc.disable()
        try:
            for _ in range(rounds):
                for entry in runs:
                    started = time.perf_counter()
                    entry[1]()
                    entry[4] = min(entry[4], time.perf_counter() - started)
        finally:
            gc.enable()
        base = runs[0][2] / runs[0][4]
        print(f"\n## {group} (best of {rounds} interleaved rounds)\n")
        print(f"| contender | {runs[0][3]} | vs {runs[0][0]} |")
        print("|---|---:|---:|")
        for name, _, items, unit, best in sorted(runs, key=lambda r: r[2] / r[4]):
            rate = items / best
            shown = f"{rate / 1e9:.2f} GB/s" if unit == "bytes/s" else f"{rate / 1e3:,.1f}k"
            print(f"| {name} | {shown} | {rate / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
