"""SigV4a (AWS4-ECDSA-P256-SHA256) against aws-c-auth's suite, stage by stage, and awscrt."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from fastsig import (
    ConfigurationError,
    Credentials,
    Signer,
    VerificationError,
    Verifier,
    derive_sigv4a_key,
    sigv4,
)
from fastsig._timestamp import to_epoch_seconds

from .suite import ACCESS_KEY, SECRET_KEY, TIMESTAMP, SuiteCase, aws_c_auth_cases, parse_request
from .test_suite_vectors import _header_map, payload_hash, query_canonical_request

ec = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ec")
hashes = pytest.importorskip("cryptography.hazmat.primitives.hashes")

# Two cases carry only their request: aws-c-auth does not run them.
CASES = [c for c in aws_c_auth_cases("v4a") if c.expected]
SCOPE = "20150830/service/aws4_request"
STAGES = [pytest.param(case, stage, id=f"{case.name}:{stage}")
          for case in CASES for stage in sorted(case.expected)]


def public_key(case: SuiteCase):
    numbers = json.loads((case.path / "public-key.json").read_text())
    return ec.EllipticCurvePublicNumbers(
        int(numbers["X"], 16), int(numbers["Y"], 16), ec.SECP256R1()).public_key()


def verifies(key, signature_hex: str, string_to_sign: str) -> bool:
    try:
        key.verify(bytes.fromhex(signature_hex), string_to_sign.encode(), ec.ECDSA(hashes.SHA256()))
    except Exception:
        return False
    return True


def make_signer(case: SuiteCase) -> Signer:
    return Signer(Credentials(ACCESS_KEY, SECRET_KEY, case.token), "us-east-1", "service",
                  algorithm="sigv4a", region_set=["us-east-1"], normalize_path=case.normalize,
                  omit_session_token=case.omit_session_token, content_sha256_header=case.sign_body)


def presigned(case: SuiteCase) -> str:
    req = case.request
    return make_signer(case).presign(req.method, req.url, expires_in=case.expires_in,
                                     headers=req.headers, timestamp=TIMESTAMP,
                                     payload_hash=payload_hash(case))


def query_string_to_sign(creq: str) -> str:
    return f"AWS4-ECDSA-P256-SHA256\n{TIMESTAMP}\n{SCOPE}\n{sigv4.sha256_hex(creq.encode())}"


def test_the_suite_is_complete():
    assert len(aws_c_auth_cases("v4a")) == 40 and len(CASES) == 38


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_derived_key_is_the_suites(case):
    derived = derive_sigv4a_key(Credentials(ACCESS_KEY, SECRET_KEY)).public_key()
    assert derived.public_numbers() == public_key(case).public_numbers()


@pytest.mark.parametrize("case, stage", STAGES)
def test_suite(case: SuiteCase, stage: str) -> None:
    expected = case.expected[stage]
    key = public_key(case)
    if stage.startswith("header-"):
        req = case.request
        signed = make_signer(case).sign(req.method, req.url, req.headers, timestamp=TIMESTAMP,
                                        payload_hash=payload_hash(case))
        if stage == "header-creq":
            assert signed.canonical_request == expected
        elif stage == "header-sts":
            assert signed.string_to_sign == expected
            assert verifies(key, signed.signature, expected)
        elif stage == "header-signature":
            # ECDSA is randomised: the stored signature and ours both verify, and differ.
            assert verifies(key, expected, case.expected["header-sts"])
            assert verifies(key, signed.signature, case.expected["header-sts"])
        else:
            want = _header_map(parse_request(expected).headers)
            got = {k.lower(): v for k, v in signed.headers.items()}
            assert sorted(got) == sorted(want)
            for name in ("x-amz-date", "x-amz-region-set", "x-amz-security-token",
                         "x-amz-content-sha256"):
                assert got.get(name) == want.get(name), name
            stored = want["authorization"].rpartition("Signature=")[2]
            assert got["authorization"].rpartition("Signature=")[0] == \
                want["authorization"].rpartition("Signature=")[0]
            assert verifies(key, stored, case.expected["header-sts"])
        return
    url = presigned(case)
    creq = query_canonical_request(case, url)
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    if stage == "query-creq":
        assert creq == expected
        assert urlsplit(url).query.startswith(expected.split("\n")[2] + "&X-Amz-Signature=")
    elif stage == "query-sts":
        assert query_string_to_sign(creq) == expected
        assert verifies(key, signature, expected)
    elif stage == "query-signature":
        assert verifies(key, expected, case.expected["query-sts"])
    else:
        stored = dict(parse_qsl(parse_request(expected).target.partition("?")[2]))
        assert verifies(key, stored["X-Amz-Signature"], case.expected["query-sts"])
        ours = dict(parse_qsl(urlsplit(url).query))
        assert {k: v for k, v in ours.items() if k != "X-Amz-Signature"} == \
            {k: v for k, v in stored.items() if k != "X-Amz-Signature"}


def test_awscrt_signatures_verify_under_the_derived_key():
    auth = pytest.importorskip("awscrt.auth")
    http = pytest.importorskip("awscrt.http")
    import datetime

    creds = Credentials("AKIDCRT", "crt/secret+key", "crt-token")
    config = auth.AwsSigningConfig(
        algorithm=auth.AwsSigningAlgorithm.V4_ASYMMETRIC,
        signature_type=auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
        credentials_provider=auth.AwsCredentialsProvider.new_static(
            creds.access_key_id, creds.secret_access_key, creds.session_token),
        region="us-west-2", service="execute-api",
        date=datetime.datetime(2026, 11, 23, 12, 0, 0, tzinfo=datetime.timezone.utc))
    request = http.HttpRequest("POST", "/prod/items?b=2&a=1",
                               http.HttpHeaders([("Host", "api.example.com"),
                                                 ("Content-Type", "application/json")]))
    auth.aws_sign_request(request, config).result(10)
    headers = list(request.headers)
    authorization = dict(headers)["Authorization"]
    assert authorization.startswith("AWS4-ECDSA-P256-SHA256 ")
    signed_names = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    creq = sigv4.canonical_request(
        "POST", sigv4.canonical_uri("/prod/items"), sigv4.canonical_query("b=2&a=1"),
        *sigv4.canonical_headers([(n, v) for n, v in headers if n.lower() in signed_names]),
        sigv4.EMPTY_SHA256)
    sts = ("AWS4-ECDSA-P256-SHA256\n20261123T120000Z\n20261123/execute-api/aws4_request\n"
           + sigv4.sha256_hex(creq.encode()))
    key = derive_sigv4a_key(creds).public_key()
    assert verifies(key, authorization.rpartition("Signature=")[2], sts)
    when = to_epoch_seconds("20261123T120000Z")
    checker = Verifier({creds.access_key_id: creds}.get, clock=lambda: when, region="us-west-2")
    verified = checker.verify("POST", "/prod/items?b=2&a=1", headers)
    assert (verified.region, verified.service, verified.session_token) == (
        "us-west-2", "execute-api", "crt-token")


def test_signing_options():
    creds = Credentials(ACCESS_KEY, SECRET_KEY)
    signer = Signer(creds, "us-east-1", "s3", algorithm="sigv4a")
    url = signer.presign("GET", "https://mrap.accesspoint.s3-global.amazonaws.com/key",
                         timestamp=TIMESTAMP)
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["X-Amz-Region-Set"] == "*"
    assert query["X-Amz-Credential"] == f"{ACCESS_KEY}/20150830/s3/aws4_request"
    two = Signer(creds, "us-east-1", "s3", algorithm="sigv4a", region_set=("us-east-1", "eu-*"))
    signed = two.sign("GET", "https://h.example/k", timestamp=TIMESTAMP)
    assert signed.headers["X-Amz-Region-Set"] == "us-east-1,eu-*"
    assert "x-amz-region-set:us-east-1,eu-*\n" in signed.canonical_request
    many = two.presign_many("GET", ["https://h.example/a", "https://h.example/b"],
                            timestamp=TIMESTAMP)
    assert all("X-Amz-Region-Set=us-east-1%2Ceu-%2A" in u for u in many)
    for bad in ({"algorithm": "sigv5"}, {"region_set": ["us-east-1"]},
                {"algorithm": "sigv4a", "region_set": []},
                {"algorithm": "sigv4a", "region_set": ["us east"]}):
        with pytest.raises(ConfigurationError):
            Signer(creds, "us-east-1", "s3", **bad)


# -- verification -------------------------------------------------------------------------------


def suite_verifier(case: SuiteCase, **options) -> Verifier:
    when = to_epoch_seconds(TIMESTAMP)

    def lookup(key):
        return Credentials(key, SECRET_KEY, case.token) if key == ACCESS_KEY else None

    return Verifier(lookup, clock=lambda: when, normalize_path=case.normalize, **options)


def code_of(call) -> str:
    with pytest.raises(VerificationError) as info:
        call()
    return info.value.code


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_stored_signed_requests_verify(case):
    """aws-c-auth's own SigV4a signatures, checked by fastsig's verifier."""
    for style in ("header", "query"):
        request = parse_request((case.path / f"{style}-signed-request.txt").read_bytes().decode())
        if case.omit_session_token:
            # The token travels unsigned (AWS IoT's convention), which a verifier refuses.
            if style == "header":
                assert code_of(lambda: suite_verifier(case).verify(
                    request.method, request.url, request.headers, request.body)) == "AccessDenied"
            continue
        result = suite_verifier(case, region="us-east-1").verify(
            request.method, request.url, request.headers, request.body)
        assert (result.presigned, result.region, result.service) == (style == "query", "us-east-1", "service")
        assert result.session_token == case.token


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_round_trips_and_tampering(case):
    if case.omit_session_token:
        pytest.skip("an unsigned session token is refused by design")
    req = case.request
    signer = make_signer(case)
    checker = suite_verifier(case)
    signed = signer.sign(req.method, req.url, req.headers, req.body if case.sign_body else None,
                         timestamp=TIMESTAMP)
    body = req.body if case.sign_body else None
    assert checker.verify(req.method, signed.url, signed.headers, body).region == "us-east-1"
    url = presigned(case)
    assert checker.verify(req.method, url, req.headers, body).presigned
    # One changed byte anywhere the signature covers fails it.
    tampered = dict(signed.headers, **{"X-Amz-Region-Set": "*"})
    assert code_of(lambda: checker.verify(req.method, signed.url, tampered, body)) == "SignatureDoesNotMatch"
    assert code_of(lambda: checker.verify(req.method, url.replace("Region-Set=us-east-1", "Region-Set=%2A"),
                                          req.headers, body)) == "SignatureDoesNotMatch"
    auth = signed.headers["Authorization"]
    flipped = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    assert code_of(lambda: checker.verify(req.method, signed.url, dict(signed.headers, Authorization=flipped),
                                          body)) == "SignatureDoesNotMatch"


def test_region_sets_and_public_key_lookups():
    creds = Credentials("AKIDV4A", "v4a/secret")
    signer = Signer(creds, "us-east-1", "execute-api", algorithm="sigv4a", region_set=["us-*", "eu-west-1"])
    signed = signer.sign("GET", "https://api.example.com/items?x=1")
    for region, good in (("us-west-2", True), ("eu-west-1", True), ("eu-central-1", False), (None, True)):
        checker = Verifier({"AKIDV4A": creds}.get, region=region)
        if good:
            assert checker.verify("GET", signed.url, signed.headers).region == "us-*,eu-west-1"
        else:
            verdict = code_of(lambda: checker.verify("GET", signed.url, signed.headers))
            assert verdict == "SignatureDoesNotMatch"
    by_public_key = Verifier({"AKIDV4A": derive_sigv4a_key(creds).public_key()}.get)
    assert by_public_key.verify("GET", signed.url, signed.headers).access_key_id == "AKIDV4A"
    assert by_public_key.verify("GET", signer.presign("GET", "https://api.example.com/a")).presigned
    other = derive_sigv4a_key(Credentials("AKIDV4A", "another")).public_key()
    assert code_of(lambda: Verifier({"AKIDV4A": other}.get).verify(
        "GET", signed.url, signed.headers)) == "SignatureDoesNotMatch"
    # A request without its region set, or with two, is malformed.
    no_set = {k: v for k, v in signed.headers.items() if k != "X-Amz-Region-Set"}
    assert code_of(lambda: by_public_key.verify("GET", signed.url, no_set)) in (
        "IncompleteSignature", "SignatureDoesNotMatch")


@pytest.mark.parametrize("case", CASES[:6], ids=lambda c: c.name)
def test_fastsig_signatures_verify_in_awscrt(case):
    """awscrt (aws-c-auth's crypto) checks fastsig's signatures under the suite's public key."""
    crypto = pytest.importorskip("awscrt.crypto")
    from cryptography.hazmat.primitives import serialization

    der = public_key(case).public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    crt_key = crypto.EC.new_key_from_der_data(der)
    req = case.request
    signed = make_signer(case).sign(req.method, req.url, req.headers, timestamp=TIMESTAMP,
                                    payload_hash=payload_hash(case))
    digest = sigv4.sha256_hex(signed.string_to_sign.encode())
    assert crt_key.verify(bytes.fromhex(digest), bytes.fromhex(signed.signature))
    url = presigned(case)
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    sts = query_string_to_sign(query_canonical_request(case, url))
    assert crt_key.verify(bytes.fromhex(sigv4.sha256_hex(sts.encode())), bytes.fromhex(signature))
    assert not crt_key.verify(bytes.fromhex(sigv4.sha256_hex(b"tampered")),
                              bytes.fromhex(signature))
