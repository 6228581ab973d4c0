"""Signers sent to workers: pickled without their secret unless the caller opts in."""

from __future__ import annotations

import pickle

import pytest

from fastsig import Credentials, Signer
from fastsig.credentials import StaticProvider

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzE//session-token-of-the-driver+/="
WHEN = "20261204T120000Z"


def dumps_all(obj):
    """Every way a task graph may carry it: each pickle protocol, and cloudpickle (Dask,
    Spark and Ray use it)."""
    out = [pickle.dumps(obj, protocol) for protocol in range(pickle.HIGHEST_PROTOCOL + 1)]
    try:
        import cloudpickle
    except ImportError:
        pass
    else:
        out.append(cloudpickle.dumps(obj))
    return out


@pytest.mark.parametrize("make", [
    lambda: Signer(Credentials("ASIADRIVER", SECRET, TOKEN), "eu-west-1", "s3"),
    lambda: Signer(StaticProvider(Credentials("ASIADRIVER", SECRET, TOKEN)), "eu-west-1", "s3"),
])
def test_a_pickled_signer_holds_no_secret(backend, monkeypatch, make):
    signer = make()
    for data in dumps_all(signer):
        for secret in (SECRET, TOKEN, SECRET[:12], TOKEN[:12]):
            assert secret.encode() not in data
        assert b"ASIADRIVER" not in data
    # The worker resolves its own credentials from its chain, here its environment.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDWORKER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "worker-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    worker = pickle.loads(dumps_all(signer)[-1])
    assert (worker.region, worker.service) == ("eu-west-1", "s3")
    expected = Signer(Credentials("AKIDWORKER", "worker-secret"), "eu-west-1", "s3")
    url = "https://b.s3.eu-west-1.amazonaws.com/k"
    assert worker.presign("GET", url, timestamp=WHEN) == expected.presign("GET", url,
                                                                           timestamp=WHEN)


def test_shipping_credentials_is_an_opt_in(backend):
    for signer in (Signer(Credentials("ASIADRIVER", SECRET, TOKEN), "eu-west-1", "s3"),
                   Signer(StaticProvider(Credentials("ASIADRIVER", SECRET, TOKEN)),
                          "eu-west-1", "s3")):
        assert SECRET.encode() not in pickle.dumps(signer.portable())
        portable = signer.portable(include_credentials=True)
        data = pickle.dumps(portable)
        assert SECRET.encode() in data and TOKEN.encode() in data
        copy = pickle.loads(data)
        url = "https://b.s3.eu-west-1.amazonaws.com/k"
        assert copy.presign("GET", url, timestamp=WHEN) == signer.presign("GET", url,
                                                                          timestamp=WHEN)
        # A copy of the copy keeps the choice.
        assert SECRET.encode() in pickle.dumps(pickle.loads(data))
        assert "wJalr" not in repr(portable)


def test_options_travel(backend, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDWORKER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "worker-secret")
    signer = Signer(Credentials("AKIDDRIVER", SECRET), "us-west-2", "execute-api",
                    double_encode=False, normalize_path=False, unsigned_payload=True,
                    excluded_headers=(h for h in ["X-Trace", "user-agent"]),
                    content_sha256_header=True)
    copy = pickle.loads(pickle.dumps(signer))
    for name in ("region", "service", "double_encode", "normalize_path", "unsigned_payload",
                 "excluded_headers", "content_sha256_header", "algorithm"):
        assert getattr(copy, name) == getattr(signer, name), name
    assert signer.excluded_headers == {"x-trace", "user-agent"}
