"""Side-by-side benchmarks: every contender in one run, a ratio table at the end.

    pip install -e '.[bench]'
    python -m pytest benchmarks          # through pytest-benchmark
    fastsig bench     # round-robin: steadier on a shared machine

Each benchmark signs a batch of distinct keys per round (a fixed key flatters botocore through
urllib's cache) and reports items per second in its best round; the table divides each rate by
the baseline's in the same group (the yardstick, ``fastsig/bench/yardstick.py``, or hashlib).
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata


BASELINES = ("yardstick", "hashlib.sha256")  # what each group's ratios divide by


def pytest_configure(config):
    config.option.benchmark_disable_gc = True
    config.option.benchmark_warmup = True


def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def pytest_report_header(config):
    import fastsig

    versions = ", ".join(
        f"{d} {_version(d)}" for d in ("botocore", "awscrt", "requests-aws4auth", "fastsig")
    )
    return [
        f"fastsig backend: {fastsig.backend}; Python {platform.python_version()} "
        f"({platform.machine()}); {versions}",
    ]


def pytest_terminal_summary(terminalreporter, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    groups = {}
    for bench in session.benchmarks:
        if bench.stats is None:  # benchmarks disabled or skipped
            continue
        per_round = bench.extra_info.get("items", 1)
        # The best round: on a shared machine noise only ever slows a round down.
        rate = per_round / bench.stats.min
        groups.setdefault(bench.group, []).append((bench.extra_info.get("contender", bench.name), rate,
                                                   bench.extra_info.get("unit", "items/s")))
    if not groups:
        return
    write = terminalreporter.write_line
    write("")
    write("fastsig side-by-side (best round; ratio = rate / the group's baseline rate)")
    for group, rows in groups.items():
        rates = {name: rate for name, rate, _ in rows}
        base_name = next((b for b in BASELINES if b in rates), None)
        base = rates.get(base_name)
        write("")
        write(f"## {group}")
        write(f"| contender | rate | vs {base_name} |")
        write("|---|---:|---:|")
        for name, rate, unit in sorted(rows, key=lambda r: r[1]):
            ratio = f"{rate / base:.2f}x" if base else "-"
            shown = f"{rate / 1e9:.2f} GB/s" if unit == "bytes/s" else f"{rate / 1e3:,.1f}k/s"
            write(f"| {name} | {shown} | {ratio} |")


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
