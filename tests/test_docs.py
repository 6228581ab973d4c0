"""The examples in docstrings run, on each backend."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["fastsig", "fastsig.credentials", "fastsig.credentials.chain",
                                    "fastsig.credentials.assume_role", "fastsig.credentials.mfa",
                                    "fastsig.credentials.sso", "fastsig.signer",
                                    "fastsig.sigv4", "fastsig.verifier", "fastsig.middleware",
                                    "fastsig._integration", "fastsig._eventstream", "fastsig._s3",
                                    "fastsig._s3express", "fastsig.requests", "fastsig.httpx",
                                    "fastsig.urllib3", "fastsig.arrow", "fastsig.engines.polars",
                                    "fastsig.engines.duckdb", "fastsig.engines.pandas"])
def test_docstring_examples(module):
    client = module.rpartition(".")[2]
    if client in ("requests", "httpx", "urllib3"):
        pytest.importorskip(client)
    failures, tried = doctest.testmod(importlib.import_module(module))
    assert failures == 0 and tried > 0
