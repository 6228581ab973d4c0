"""No reference or memory leaks in the compiled kernels over a million calls."""

from __future__ import annotations

import gc
import os
import sys

import pytest

from fastsig import Credentials, Signer, _backend

pytestmark = pytest.mark.requires_compiled
COMPARES_BACKENDS = True  # drives the compiled kernels directly; runs once


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_million_calls_do_not_grow_memory():
    with _backend.using("cython"):
        s3 = Signer(Credentials("AKID", "secret", "token/+="), "us-east-1", "s3")
        ddb = Signer(Credentials("AKID", "secret"), "us-east-1", "dynamodb")
    urls = [f"https://b.s3.amazonaws.com/k {i} ሴ?v={i}" for i in range(1000)]
    headers = [("X-A", " a  b "), ("x-a", "c"), ("Content-Type", "application/json")]

    def work(rounds):
        for _ in range(rounds):
            s3.presign_many("GET", urls)
            for i in range(100):
                ddb.sign("POST", "https://dynamodb.us-east-1.amazonaws.com/", headers, b"{}")
                s3.presign("PUT", urls[i], headers={"X-Amz-Meta-A": "b"})
                try:  # the fallback path, error included
                    ddb.sign("GET", "https://h/?a=%zz")
                except ValueError:
                    pass

    work(50)  # warm caches and allocator pools
    gc.collect()
    before = _rss_bytes()
    refs_before = sys.gettotalrefcount() if hasattr(sys, "gettotalrefcount") else None
    work(700)  # 700k presigns + 70k of each other call: about a million calls
    gc.collect()
    growth = _rss_bytes() - before
    assert growth < 8 * 1024 * 1024, f"RSS grew by {growth} bytes"
    if refs_before is not None:  # debug builds of CPython only
        assert sys.gettotalrefcount() - refs_before < 1000
