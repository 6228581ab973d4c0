"""The whole suite runs once per available backend: ``cython`` (when built) and ``python``."""

from __future__ import annotations

import os

import pytest

import fastsig
from fastsig import _backend

BACKENDS = sorted(_backend.available)


def pytest_generate_tests(metafunc):
    # A module that compares the backends itself sets COMPARES_BACKENDS and runs once.
    if "backend" in metafunc.fixturenames:
        if getattr(metafunc.module, "COMPARES_BACKENDS", False):
            metafunc.parametrize("backend", ["python"], indirect=True, ids=["both"])
        else:
            metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def backend(request, monkeypatch):
    """Makes every signer and kernel call in the test use one backend; yields its name."""
    name = request.param
    monkeypatch.setattr(_backend, "kernels", _backend.available[name])
    monkeypatch.setattr(_backend, "backend", name)
    monkeypatch.setattr(fastsig, "backend", name)
    return name


@pytest.fixture
def kernels(backend):
    return _backend.available[backend]


@pytest.fixture(scope="session")
def moto():
    """(endpoint, credentials of an allow-all IAM user) of moto's server with authentication
    enforced, shared by every test that needs it."""
    pytest.importorskip("moto.server")
    pytest.importorskip("requests")
    from .moto_helpers import start_moto

    yield from start_moto()


@pytest.fixture(scope="session")
def open_moto():
    """The endpoint of a moto server that accepts unsigned requests."""
    pytest.importorskip("moto.server")
    pytest.importorskip("requests")
    from .moto_helpers import start_open_moto

    yield from start_open_moto()


def pytest_collection_modifyitems(config, items):
    _record_vector_checks(items)
    for item in items:
        if "requires_compiled" in item.keywords and "cython" not in _backend.available:
            item.add_marker(pytest.mark.skip(reason="the compiled backend is not built"))


def pytest_report_header(config):
    flag = os.environ.get("FASTSIG_NO_EXTENSIONS")
    return f"fastsig backends: {', '.join(BACKENDS)} (FASTSIG_NO_EXTENSIONS={flag!r})"


# -- the official vectors: how many cases and stages this run checked --------------------------
_VECTOR_CHECKS: dict = {}  # nodeid -> (layout, case, stage, backend)
_VECTOR_PASSED: set = set()


def _record_vector_checks(items):
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        case, stage = params.get("case"), params.get("stage")
        if item.name.startswith("test_suite[") and case is not None and stage is not None:
            _VECTOR_CHECKS[item.nodeid] = (case.layout, case.name, stage, params.get("backend"))


def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed and report.nodeid in _VECTOR_CHECKS:
        _VECTOR_PASSED.add(report.nodeid)


def pytest_terminal_summary(terminalreporter):
    if not _VECTOR_CHECKS:
        return
    by_layout: dict = {}
    for nodeid, (layout, case, stage, backend) in _VECTOR_CHECKS.items():
        entry = by_layout.setdefault(layout, {"cases": set(), "stages": set(), "passed": 0,
                                              "checks": 0, "backends": set()})
        entry["cases"].add(case)
        entry["stages"].add(stage)
        entry["backends"].add(backend)
        entry["checks"] += 1
        entry["passed"] += nodeid in _VECTOR_PASSED
    terminalreporter.section("official SigV4 vectors")
    for layout, e in sorted(by_layout.items()):
        terminalreporter.write_line(
            f"{layout}: {len(e['cases'])} cases, {len(e['stages'])} stages "
            f"({', '.join(sorted(e['stages']))}), backends {', '.join(sorted(map(str, e['backends'])))}: "
            f"{e['passed']} of {e['checks']} checks passed"
        )
