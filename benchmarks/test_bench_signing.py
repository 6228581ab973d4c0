"""Presign, header signing and payload hashing: fastsig (both backends) against its peers,
through pytest-benchmark. ``fastsig bench`` runs the same contenders round-robin."""

from __future__ import annotations

import pytest

from fastsig.bench.contenders import GROUPS

BATCH = 50_000  # distinct inputs a round, results kept: what callers do

CASES = [
    pytest.param(group, name, factory, unit, id=f"{group}: {name}")
    for group, contenders in GROUPS.items()
    for name, factory, unit in contenders
]


@pytest.mark.parametrize("group, name, factory, unit", CASES)
def test_contender(benchmark, group, name, factory, unit):
    try:
        run, items = factory(BATCH)
    except ImportError as exc:
        pytest.skip(f"{name}: {exc}")
    benchmark.group = group
    benchmark.extra_info.update(contender=name, items=items,
                                unit="bytes/s" if unit == "bytes/s" else "items/s")
    rounds = 5
    benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=2)
