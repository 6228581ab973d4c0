"""``fastsig explain``: the first difference between a client's canonical request and the
verifier's, named by its rule, for the five usual mistakes; never a secret in its output."""

from __future__ import annotations

import datetime
import hashlib
from typing import Any, Dict, List, Tuple

import pytest

from fastsig import Credentials, Signer
from fastsig.cli import main

CREDS = Credentials("ASIAEXPLAIN", "explain/secret/KEY+EXAMPLE", "explain-session-token-value")
WHEN = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def explain(capsys: Any, tmp_path: Any, method: str, url: str, headers: Dict[str, str],
            creq: str, data: str = "") -> Tuple[int, str]:
    path = tmp_path / "creq.txt"
    path.write_text(creq)
    args = ["explain", method, url, "--canonical-request", str(path),
            "--access-key-id", CREDS.access_key_id,
            "--secret-access-key", CREDS.secret_access_key,
            "--session-token", CREDS.session_token]
    for name, value in headers.items():
        if name.lower() not in ("authorization", "host"):
            args += ["-H", f"{name}: {value}"]
    if data:
        args += ["-d", data]
    status = main(args)
    out, err = capsys.readouterr()
    text = out + err
    assert CREDS.secret_access_key not in text and CREDS.session_token not in text
    return status, out


def signed(url: str, headers: Any = None, body: bytes = b"") -> Tuple[Dict[str, str], str]:
    request = Signer(CREDS, "us-east-1", "s3").sign("PUT", url, headers, body, timestamp=WHEN)
    return dict(request.headers), request.canonical_request


BASE = "https://b.s3.us-east-1.amazonaws.com"


def test_the_same_canonical_request(backend, capsys, tmp_path):
    headers, creq = signed(BASE + "/k?a=1", body=b"data")
    status, out = explain(capsys, tmp_path, "PUT", BASE + "/k?a=1", headers, creq, "data")
    assert status == 1 and "the canonical requests are the same" in out


def test_path_encoding(backend, capsys, tmp_path):
    # The client took a raw '+' for a plus; S3 reads it as a space.
    headers, creq = signed(BASE + "/a%2Bb")
    status, out = explain(capsys, tmp_path, "PUT", BASE + "/a+b", headers, creq)
    assert status == 1 and "first difference: line 2: path encoding" in out
    assert "'/a%2Bb'" in out and "'/a%20b'" in out


def test_query_order(backend, capsys, tmp_path):
    headers, creq = signed(BASE + "/k?a=1&b=2")
    client = creq.replace("a=1&b=2", "b=2&a=1")
    status, out = explain(capsys, tmp_path, "PUT", BASE + "/k?b=2&a=1", headers, client)
    assert "first difference: line 3: query order" in out


def test_query_encoding(backend, capsys, tmp_path):
    headers, creq = signed(BASE + "/k?q=a%20b")
    client = creq.replace("q=a%20b", "q=a+b")
    status, out = explain(capsys, tmp_path, "PUT", BASE + "/k?q=a%20b", headers, client)
    assert "first difference: line 3: query encoding" in out


def test_header_trimming(backend, capsys, tmp_path):
    headers, creq = signed(BASE + "/k", {"X-Amz-Meta-Note": "a   b"})
    client = creq.replace("x-amz-meta-note:a b", "x-amz-meta-note:a   b")
    status, out = explain(capsys, tmp_path, "PUT", BASE + "/k", headers, client)
    assert "header trimming" in out and "first difference" in out


def test_a_header_not_signed(backend, capsys, tmp_path):
    headers, creq = signed(BASE + "/k", {"X-Amz-Meta-Note": "n"})
    lines: List[str] = [line for line in creq.split("\n") if not line.startswith("x-amz-meta-note:")]
    lines[-2] = lines[-2].replace("x-amz-meta-note;", "")
    status, out = explain(capsys, tmp_path, "PUT", BASE + "/k", headers, "\n".join(lines))
    assert status == 1 and "a header not signed" in out and "x-amz-meta-note" in out


def test_a_signed_header_the_request_lacks(backend, capsys, tmp_path):
    headers, creq = signed(BASE + "/k", {"X-Amz-Meta-Note": "n"})
    del headers["X-Amz-Meta-Note"]
    status, out = explain(capsys, tmp_path, "PUT", BASE + "/k", headers, creq)
    assert status == 1 and "a header not signed" in out


def test_the_payload_hash(backend, capsys, tmp_path):
    # Payload hash declared by x-amz-content-sha256 but computed by the client over other bytes.
    headers, creq = signed(BASE + "/k", body=b"body")
    lines = creq.split("\n")
    lines[-1] = hashlib.sha256(b"other").hexdigest()
    status, out = explain(capsys, tmp_path, "PUT", BASE + "/k", headers, "\n".join(lines), "body")
    assert "first difference" in out and "the payload hash" in out


def test_a_request_as_curl_sends_it(backend, capsys, tmp_path):
    headers, _ = signed(BASE + "/k")
    args = ["explain", "PUT", BASE + "/k", "--access-key-id", CREDS.access_key_id,
            "--secret-access-key", CREDS.secret_access_key, "--session-token", CREDS.session_token]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    # Signed at WHEN, checked as of its own X-Amz-Date: valid.
    assert main(args) == 0
    assert "valid" in capsys.readouterr().out
    args[2] = BASE + "/other"
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "PUT\n/other\n" in out and CREDS.session_token not in out
    assert CREDS.secret_access_key not in out


def test_usage(backend, capsys):
    with pytest.raises(SystemExit) as info:
        main(["explain", "GET", "https://b.s3.amazonaws.com/k", "--example"])
    assert info.value.code == 2
    assert "canonical-request" in capsys.readouterr().err
