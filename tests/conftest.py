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
    for item in items:
        if "requires_compiled" in item.keywords and "cython" not in _backend.available:
            item.add_marker(pytest.mark.skip(reason="the compiled backend is not built"))


def pytest_report_header(config):
    flag = os.environ.get("FASTSIG_NO_EXTENSIONS")
    return f"fastsig backends: {', '.join(BACKENDS)} (FASTSIG_NO_EXTENSIONS={flag!r})"
