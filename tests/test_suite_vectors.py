"""The official SigV4 test suite, stage by stage: canonical request, string to sign,
signature and signed request, for header and query (presigned) signing, on every backend."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from fastsig import Credentials, Signer, sigv4

from .suite import (
    ACCESS_KEY,
    SECRET_KEY,
    TIMESTAMP,
    SuiteCase,
    aws_c_auth_cases,
    botocore_cases,
    parse_request,
)

CASES = aws_c_auth_cases("v4") + botocore_cases()


def _params(case_stage_pairs):
    return [
        pytest.param(case, stage, id=f"{case.id}:{stage}")
        for case, stage in case_stage_pairs
    ]


STAGES = _params((case, stage) for case in CASES for stage in sorted(case.expected))


def make_signer(case: SuiteCase) -> Signer:
    return Signer(
        Credentials(ACCESS_KEY, SECRET_KEY, case.token),
        "us-east-1",
        "service",
        double_encode=True,
        normalize_path=case.normalize,
        omit_session_token=case.omit_session_token,
        # The older botocore copy hashes the body but sends no X-Amz-Content-SHA256.
        content_sha256_header=case.sign_body and case.layout != "botocore",
    )


def payload_hash(case: SuiteCase) -> str:
    if case.sign_body and case.request.body is not None:
        return sigv4.sha256_hex(case.request.body)
    return sigv4.EMPTY_SHA256


def header_signed(case: SuiteCase):
    req = case.request
    return make_signer(case).sign(
        req.method, req.url, req.headers, timestamp=TIMESTAMP, payload_hash=payload_hash(case)
    )


def presigned(case: SuiteCase) -> str:
    req = case.request
    return make_signer(case).presign(
        req.method,
        req.url,
        expires_in=case.expires_in,
        headers=req.headers,
        timestamp=TIMESTAMP,
        payload_hash=payload_hash(case),
    )


def query_canonical_request(case: SuiteCase, url: str) -> str:
    """Rebuild the canonical request of a presigned URL with the low-level API: its query
    without the signature (and the unsigned token), and the request's own headers."""
    query = "&".join(
        p
        for p in urlsplit(url).query.split("&")
        if not p.startswith("X-Amz-Signature=")
        and not (case.omit_session_token and p.startswith("X-Amz-Security-Token="))
    )
    path = urlsplit(case.request.url).path
    return sigv4.canonical_request(
        case.request.method,
        sigv4.canonical_uri(path, normalize=case.normalize),
        query,
        *sigv4.canonical_headers(case.request.headers),
        payload_hash(case),
    )


def _header_map(headers):
    out = {}
    for name, value in headers:
        out.setdefault(name.lower(), []).append(value)
    return {k: ",".join(v) for k, v in out.items()}


@pytest.mark.parametrize("case, stage", STAGES)
def test_suite(case: SuiteCase, stage: str) -> None:
    expected = case.expected[stage]
    where = f"{case.path} [{stage}]"
    if stage.startswith("header-"):
        signed = header_signed(case)
        if stage == "header-creq":
            assert signed.canonical_request == expected, where
        elif stage == "header-sts":
            assert signed.string_to_sign == expected, where
        elif stage == "header-signature":
            assert signed.signature == expected, where
        elif stage == "header-authz":
            assert signed.headers["Authorization"] == expected, where
        elif stage == "header-signed-request":
            want = _header_map(parse_request(expected).headers)
            got = {k.lower(): v for k, v in signed.headers.items()}
            assert sorted(got) == sorted(want), where
            for name in ("authorization", "x-amz-date", "x-amz-security-token",
                         "x-amz-content-sha256"):
                assert got.get(name) == want.get(name), f"{where} {name}"
        else:  # pragma: no cover
            pytest.fail(f"unknown stage {stage}")
        return

    url = presigned(case)
    creq = query_canonical_request(case, url)
    if stage == "query-creq":
        assert creq == expected, where
        # The URL carries exactly the canonical query that was signed.
        assert urlsplit(url).query.startswith(expected.split("\n")[2] + "&X-Amz-Signature="), where
    elif stage == "query-sts":
        sts = sigv4.string_to_sign(TIMESTAMP, "20150830/us-east-1/service/aws4_request", creq)
        assert sts == expected, where
    elif stage == "query-signature":
        assert dict(p.split("=", 1) for p in urlsplit(url).query.split("&"))[
            "X-Amz-Signature"] == expected, where
    elif stage == "query-signed-request":
        want = parse_request(expected)
        want_path, _, want_query = want.target.partition("?")
        got = urlsplit(url)
        assert got.path == want_path.replace(" ", "%20") or got.path == want_path, where
        # aws-c-auth writes the query raw and in its own order; fastsig sends it canonical.
        assert sigv4.canonical_query(got.query) == sigv4.canonical_query(want_query), where
    else:  # pragma: no cover
        pytest.fail(f"unknown stage {stage}")


def test_vectors_are_whole() -> None:
    """Every vector file listed in SHA256SUMS is present and unchanged."""
    import hashlib

    from .suite import SUITE

    listed = (SUITE.parent / "SHA256SUMS").read_text().splitlines()
    assert len(listed) == 980
    for line in listed:
        digest, name = line.split("  ", 1)
        path = SUITE.parent / name
        assert path.is_file(), f"vector file missing: {path}"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"vector file changed: {path}"


def test_suite_is_complete() -> None:
    # 38 aws-c-auth v4 cases and 34 botocore cases, none silently lost by the loader.
    assert len([c for c in CASES if c.layout == "aws-c-auth-v4"]) == 38
    assert len([c for c in CASES if c.layout == "botocore"]) == 34
    assert all(len(c.expected) == 8 for c in CASES if c.layout == "aws-c-auth-v4")
