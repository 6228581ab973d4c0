"""The verifier: everything fastsig, botocore and awscrt sign verifies; every change to a signed
part fails with the error code AWS would give; hostile input gets a clean VerificationError."""

from __future__ import annotations

import datetime
import hashlib
import io
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import fastsig
from fastsig import Credentials, Signer, Verifier, VerificationError
from fastsig._timestamp import to_epoch_seconds
from fastsig.sigv4 import EMPTY_SHA256

from . import suite

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="  # noqa: E501
WHEN = datetime.datetime(2024, 2, 29, 23, 59, 59, tzinfo=datetime.timezone.utc)
NOW = WHEN.timestamp()
CREDS = Credentials(ACCESS_KEY, SECRET_KEY)
TEMP = Credentials("ASIAEXAMPLE", SECRET_KEY, TOKEN)
KEYS = {c.access_key_id: c for c in (CREDS, TEMP)}
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def verifier(**options):
    options.setdefault("clock", lambda: NOW)
    return Verifier(KEYS.get, **options)


def code_of(call):
    with pytest.raises(VerificationError) as info:
        call()
    error = info.value
    assert isinstance(error.code, str) and error.status in (400, 403, 501)
    assert SECRET_KEY not in str(error) and TOKEN not in str(error)
    return error.code


# -- the official suite: stored signed requests verify, and so do fastsig's own ----------------

SUITE_CASES = suite.aws_c_auth_cases() + suite.botocore_cases()


def _suite_verifier(case, **options):
    when = to_epoch_seconds(suite.TIMESTAMP)
    token = case.token

    def lookup(key):
        return Credentials(key, suite.SECRET_KEY, token) if key == suite.ACCESS_KEY else None

    return Verifier(lookup, clock=lambda: when, normalize_path=case.normalize, **options)


def _read_signed(path):
    return suite.parse_request(path.read_bytes().decode("utf-8"))


@pytest.mark.parametrize("case", [c for c in SUITE_CASES if c.layout.startswith("aws-c-auth")],
                         ids=lambda c: c.id)
def test_stored_suite_signatures_verify(case):
    """The signed requests that ship with the suite, written by another implementation."""
    for style in ("header", "query"):
        file = case.path / f"{style}-signed-request.txt"
        if not file.exists():
            continue
        request = _read_signed(file)
        checker = _suite_verifier(case)
        if case.omit_session_token:
            # The token travels unsigned (AWS IoT's convention), which a verifier refuses.
            assert code_of(lambda: checker.verify(request.method, request.url, request.headers,
                                                  request.body)) == "AccessDenied" or style == "query"
            continue
        result = checker.verify(request.method, request.url, request.headers, request.body)
        assert result.presigned is (style == "query")
        assert result.access_key_id == suite.ACCESS_KEY
        assert result.session_token == case.token


@pytest.mark.parametrize("case", SUITE_CASES, ids=lambda c: c.id)
def test_suite_requests_round_trip(case):
    if case.omit_session_token:
        pytest.skip("an unsigned session token is refused by design")
    request = case.request
    signer = Signer(Credentials(suite.ACCESS_KEY, suite.SECRET_KEY, case.token), "us-east-1",
                    "service", normalize_path=case.normalize,
                    content_sha256_header=case.sign_body)
    checker = _suite_verifier(case)
    signed = signer.sign(request.method, request.url, request.headers, request.body,
                         timestamp=suite.TIMESTAMP)
    checker.verify(request.method, signed.url, signed.headers, request.body)
    # A presigned URL of a service other than S3 signs the body's hash, as the suite does.
    url = signer.presign(request.method, request.url, headers=request.headers,
                         timestamp=suite.TIMESTAMP,
                         payload_hash=fastsig.sigv4.hash_payload(request.body))
    # The presigner owns X-Amz-Date and the token: they travel in the URL, not in headers.
    sent = [(n, v) for n, v in request.headers
            if n.lower() not in ("x-amz-date", "x-amz-security-token")]
    checker.verify(request.method, url, sent, request.body)


# -- round trips and tampering, property-based --------------------------------------------------

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=8)
_SEGMENT = st.one_of(st.sampled_from(["", ".", "..", "a+b", "~x", "%", "a b"]), _TEXT).filter(
    lambda s: not set(s) & set("/?#"))
_PATH = st.lists(_SEGMENT, max_size=4).map(lambda segs: "/" + "/".join(quote(s) for s in segs))
_QUERY = st.lists(st.tuples(_TEXT, _TEXT), max_size=4).map(
    lambda items: "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in items))
_HEADERS = st.lists(
    st.tuples(st.sampled_from(["X-Amz-Meta-Note", "Content-Type", "x-custom", "X-CUSTOM"]),
              st.text(alphabet=" \tabcXYZ09-;=,", max_size=10)),
    max_size=4)
_SERVICE = st.sampled_from(["s3", "service", "execute-api", "s3-object-lambda"])
_METHOD = st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"])
_BODY = st.one_of(st.none(), st.binary(max_size=100))


def _url(path, query):
    return f"https://example-bucket.s3.us-east-1.amazonaws.com{path}" + (f"?{query}" if query else "")


@SETTINGS
@given(_METHOD, _SERVICE, _PATH, _QUERY, _HEADERS, _BODY, st.booleans())
def test_header_round_trip_and_tampering(method, service, path, query, headers, body, temporary):
    creds = TEMP if temporary else CREDS
    signed = Signer(creds, "us-east-1", service).sign(method, _url(path, query), headers, body,
                                                      timestamp=WHEN)
    checker = verifier()
    result = checker.verify(method, signed.url, signed.headers, body)
    assert result.session_token == creds.session_token
    assert result.service == service and not result.presigned

    # One changed byte anywhere that is signed fails, with the code AWS gives.
    def tamper(text, index):
        ch = text[index]
        return text[:index] + ("b" if ch != "b" else "c") + text[index + 1:]

    for other in {m for m in ("GET", "PUT", "POST") if m != method}:
        assert code_of(lambda: checker.verify(other, signed.url, signed.headers, body)) == \
            "SignatureDoesNotMatch"
    tampered_path = re.sub(r"(amazonaws\.com)[^?]*", r"\1/zz-tampered", signed.url, count=1)
    assert code_of(lambda: checker.verify(method, tampered_path, signed.headers, body)) == \
        "SignatureDoesNotMatch"
    tampered_query = signed.url + ("&" if "?" in signed.url else "?") + "extra=1"
    assert code_of(lambda: checker.verify(method, tampered_query, signed.headers, body)) == \
        "SignatureDoesNotMatch"
    auth = signed.headers["Authorization"]
    sig_at = auth.index("Signature=") + len("Signature=")
    for index in (sig_at, len(auth) - 1):
        bad = dict(signed.headers, Authorization=tamper(auth, index))
        assert code_of(lambda: checker.verify(method, signed.url, bad, body)) == \
            "SignatureDoesNotMatch"
    for name, value in signed.headers.items():
        if name.lower() in ("authorization", "x-amz-date", "x-amz-content-sha256", "host"):
            continue
        if value.strip():
            bad = dict(signed.headers)
            bad[name] = tamper(value.strip(), 0)
            expect = "InvalidToken" if name == "X-Amz-Security-Token" and service.startswith("s3") \
                else "InvalidClientTokenId" if name == "X-Amz-Security-Token" \
                else "SignatureDoesNotMatch"
            assert code_of(lambda: checker.verify(method, signed.url, bad, body)) == expect
    bad_date = dict(signed.headers, **{"X-Amz-Date": "20240229T235958Z"})
    assert code_of(lambda: checker.verify(method, signed.url, bad_date, body)) == \
        "SignatureDoesNotMatch"
    scope = "us-east-1/" + service
    for wrong in ("us-west-2/" + service, "us-east-1/other"):
        bad = dict(signed.headers, Authorization=auth.replace(scope, wrong))
        assert code_of(lambda: checker.verify(method, signed.url, bad, body)) == \
            "SignatureDoesNotMatch"
    tampered_body = (body or b"") + b"!"
    expect = "XAmzContentSHA256Mismatch" if service.startswith("s3") else "SignatureDoesNotMatch"
    assert code_of(lambda: checker.verify(method, signed.url, signed.headers, tampered_body)) == \
        expect


@SETTINGS
@given(_SERVICE, _PATH, _QUERY, st.integers(1, 604800), st.booleans())
def test_presigned_round_trip_and_tampering(service, path, query, expires, temporary):
    creds = TEMP if temporary else CREDS
    url = Signer(creds, "us-east-1", service).presign("GET", _url(path, query),
                                                      expires_in=expires, timestamp=WHEN)
    checker = verifier()
    result = checker.verify("GET", url)
    assert result.presigned and result.expires == int(NOW) + expires
    assert result.expires_at == WHEN + datetime.timedelta(seconds=expires)
    base, _, signature = url.rpartition("X-Amz-Signature=")
    signature = signature[:64]
    for index in (0, 63):
        bad = url.replace(signature, signature[:index] + ("0" if signature[index] != "0" else "1")
                          + signature[index + 1:])
        assert code_of(lambda: checker.verify("GET", bad)) == "SignatureDoesNotMatch"
    assert code_of(lambda: checker.verify("PUT", url)) == "SignatureDoesNotMatch"
    assert code_of(lambda: checker.verify("GET", url.replace("X-Amz-Expires=", "X-Amz-Expires=1")
                                         if expires < 60480 else url + "&a=b")) in (
        "SignatureDoesNotMatch", "IncompleteSignature")
    tampered_path = re.sub(r"(amazonaws\.com)[^?]*", r"\1/zz-tampered", url, count=1)
    assert code_of(lambda: checker.verify("GET", tampered_path)) == "SignatureDoesNotMatch"
    assert code_of(lambda: checker.verify("GET", url.replace("example-bucket", "other-bucket"))) \
        == "SignatureDoesNotMatch"
    late = Verifier(KEYS.get, clock=lambda: NOW + expires + 1)
    assert code_of(lambda: late.verify("GET", url)) == "AccessDenied"
    assert Verifier(KEYS.get, clock=lambda: NOW + expires).verify("GET", url)


# -- independent signers -------------------------------------------------------------------------

botocore_auth = pytest.importorskip("botocore.auth")
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials as BotoCredentials  # noqa: E402


@pytest.fixture
def frozen_botocore(monkeypatch):
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda: WHEN.replace(tzinfo=None))


@SETTINGS
@given(_METHOD, _SERVICE, _PATH, _QUERY, _HEADERS, _BODY, st.booleans())
def test_botocore_signed_requests_verify(frozen_botocore, method, service, path, query, headers,
                                        body, temporary):
    creds = TEMP if temporary else CREDS
    url = _url(path, query)
    assume(not url.endswith(" "))
    # botocore signs an empty "&&" segment as "="; fastsig reads it as no parameter.
    assume("&&" not in query and not query.startswith("&") and not query.endswith("&"))
    boto_creds = BotoCredentials(creds.access_key_id, SECRET_KEY, creds.session_token)
    is_s3 = service.startswith("s3")
    request = AWSRequest(method=method, url=url, data=body or b"")
    for name, value in headers:
        request.headers[name] = value
    (botocore_auth.S3SigV4Auth if is_s3 else botocore_auth.SigV4Auth)(
        boto_creds, service, "us-east-1").add_auth(request)
    prepared = request.prepare()
    # botocore's header view folds repeated names into one; on the wire each is its own line.
    own = {name.lower() for name, _ in headers}
    sent = headers + [(n, v) for n, v in prepared.headers.items() if n.lower() not in own]
    if not any(n.lower() == "host" for n, _ in sent):
        sent.append(("Host", "example-bucket.s3.us-east-1.amazonaws.com"))
    verifier().verify(method, prepared.url, sent, body)

    query_request = AWSRequest(method="GET", url=url)
    (botocore_auth.S3SigV4QueryAuth if is_s3 else botocore_auth.SigV4QueryAuth)(
        boto_creds, service, "us-east-1", expires=600).add_auth(query_request)
    verifier().verify("GET", query_request.prepare().url)


def test_boto3_generate_presigned_url_verifies():
    boto3 = pytest.importorskip("boto3")
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                          aws_secret_access_key=SECRET_KEY,
                          config=__import__("botocore.config").config.Config(signature_version="s3v4"))
    for key in ("photos/cat.jpg", "a b+c%d/ünï~*'()!", "dir//x/../y"):
        url = client.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": key},
                                            ExpiresIn=900)
        result = Verifier(KEYS.get).verify("GET", url)  # signed now, checked now
        assert result.service == "s3" and result.presigned


@SETTINGS
@given(_METHOD, _PATH, _QUERY, _HEADERS, _BODY, st.booleans(), st.booleans())
def test_awscrt_signed_requests_verify(method, path, query, headers, body, temporary, presign):
    awscrt_auth = pytest.importorskip("awscrt.auth")
    from awscrt import http as crt_http

    creds = TEMP if temporary else CREDS
    assume(":" not in path.split("/")[1] if path.count("/") else True)  # awscrt misparses it
    assume("&&" not in query and not query.startswith("&") and not query.endswith("&"))
    target = path + (f"?{query}" if query else "")
    host = "example.amazonaws.com"
    request = crt_http.HttpRequest(method, target, crt_http.HttpHeaders([("Host", host)] + headers))
    payload = fastsig.sigv4.hash_payload(body)
    config = awscrt_auth.AwsSigningConfig(
        algorithm=awscrt_auth.AwsSigningAlgorithm.V4,
        signature_type=(awscrt_auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS if presign
                        else awscrt_auth.AwsSignatureType.HTTP_REQUEST_HEADERS),
        credentials_provider=awscrt_auth.AwsCredentialsProvider.new_static(
            creds.access_key_id, SECRET_KEY, creds.session_token),
        region="us-east-1", service="service", date=WHEN, signed_body_value=payload,
        expiration_in_seconds=600 if presign else None,
    )
    signed = awscrt_auth.aws_sign_request(request, config).result()
    verifier().verify(method, f"https://{host}{signed.path}", list(signed.headers), body)


# -- specific rules ------------------------------------------------------------------------------

def _signed(service="service", headers=None, body=None, creds=CREDS, payload_hash=None,
            **options):
    return Signer(creds, "us-east-1", service, **options).sign(
        "POST", "https://example.amazonaws.com/p?q=1", headers, body, timestamp=WHEN,
        payload_hash=payload_hash)


def test_missing_authentication():
    assert code_of(lambda: verifier().verify("GET", "https://example.amazonaws.com/")) == \
        "MissingAuthenticationToken"


def test_unknown_key_codes_follow_the_service():
    signed = _signed(creds=Credentials("AKIDUNKNOWN", SECRET_KEY))
    assert code_of(lambda: verifier().verify("POST", signed.url, signed.headers)) == \
        "InvalidClientTokenId"
    signed = _signed("s3", creds=Credentials("AKIDUNKNOWN", SECRET_KEY))
    assert code_of(lambda: verifier().verify("POST", signed.url, signed.headers)) == \
        "InvalidAccessKeyId"


def test_lookup_may_return_a_secret():
    signed = _signed()
    result = Verifier({ACCESS_KEY: SECRET_KEY}.get, clock=lambda: NOW).verify(
        "POST", signed.url, signed.headers)
    assert result.access_key_id == ACCESS_KEY


def test_session_token_required_when_the_lookup_has_one():
    stolen = _signed(creds=Credentials("ASIAEXAMPLE", SECRET_KEY))  # signed without the token
    assert code_of(lambda: verifier().verify("POST", stolen.url, stolen.headers)) == \
        "InvalidClientTokenId"


def test_clock_skew():
    signed = _signed()
    for offset in (-901, 901):
        checker = Verifier(KEYS.get, clock=lambda: NOW + offset)
        assert code_of(lambda: checker.verify("POST", signed.url, signed.headers)) == \
            "RequestTimeTooSkewed"
    assert Verifier(KEYS.get, clock=lambda: NOW + 900).verify("POST", signed.url, signed.headers)


def test_default_clock_is_the_wall_clock():
    checker = Verifier(KEYS.get)  # time.time, which the compiled path reads without a call
    now = datetime.datetime.now(datetime.timezone.utc)
    signer = Signer(CREDS, "us-east-1", "service")
    url = "https://example.amazonaws.com/p?q=1"
    assert checker.verify("GET", url, signer.sign("GET", url, timestamp=now).headers)
    for offset in (-16, 16):
        late = signer.sign("GET", url, timestamp=now + datetime.timedelta(minutes=offset))
        assert code_of(lambda: checker.verify("GET", url, late.headers)) == \
            "RequestTimeTooSkewed"


def test_one_verifier_keeps_credentials_and_dates_apart():
    """The verifier reuses the string to sign's hash state for a run of requests with one
    credential and X-Amz-Date: interleaved credentials and dates must each get their own."""
    checker = verifier()
    url = "https://example.amazonaws.com/p?q=1"
    signed = [Signer(creds, "us-east-1", "service").sign(
                  "GET", url, timestamp=WHEN + datetime.timedelta(seconds=delta))
              for delta in (0, -1, 1) for creds in (CREDS, TEMP)]
    for request in signed + signed[::-1] + signed:
        assert checker.verify("GET", url, request.headers)
        moved = dict(request.headers)  # the same credential, another second: not signed
        moved["X-Amz-Date"] = next(other.headers["X-Amz-Date"] for other in signed
                                   if other.headers["X-Amz-Date"] != request.headers["X-Amz-Date"])
        assert code_of(lambda: checker.verify("GET", url, moved)) == "SignatureDoesNotMatch"


def test_one_verifier_reports_what_each_request_proved():
    """Requests that prove the same share one result: interleaved requests that differ only
    in token, signed headers, expiry, form or payload must each get their own."""
    checker = verifier()
    requests = []
    for service, url in (("service", "https://example.amazonaws.com/p?q=1"),
                         ("s3", "https://b.s3.amazonaws.com/k")):
        for headers in (None, {"X-Amz-Meta-A": "1"}, "presigned 60", "presigned 61"):
            for payload in (None, "UNSIGNED-PAYLOAD") if service == "s3" else (None,):
                for token in (None, "token-1", "token-2", None):  # innermost: all else alike
                    # A token the lookup does not ask for, so any verifies.
                    signer = Signer(Credentials(ACCESS_KEY, SECRET_KEY, token), "us-east-1",
                                    service)
                    if isinstance(headers, str):
                        expires = int(headers.split()[1])
                        presigned = signer.presign("GET", url, expires_in=expires, timestamp=WHEN)
                        requests.append((("GET", presigned, None), (
                            token, True, int(NOW) + expires, ("host",),
                            "UNSIGNED-PAYLOAD" if service == "s3" else EMPTY_SHA256)))
                        continue
                    signed = signer.sign("GET", url, headers, timestamp=WHEN, payload_hash=payload)
                    names = tuple(sorted(name.lower() for name in signed.headers
                                         if name != "Authorization"))
                    requests.append((("GET", url, signed.headers), (
                        token, False, None, names, payload or EMPTY_SHA256)))
    for args, want in requests + requests[::-1] + requests:
        got = checker.verify(*args)
        assert (got.session_token, got.presigned, got.expires, got.signed_headers,
                got.payload_hash) == want
        assert (got.access_key_id, got.timestamp) == (ACCESS_KEY, int(NOW))


def test_presigned_url_from_the_future():
    url = Signer(CREDS, "us-east-1", "s3").presign("GET", "https://b.s3.amazonaws.com/k",
                                                   timestamp=WHEN)
    early = Verifier(KEYS.get, clock=lambda: NOW - 901)
    assert code_of(lambda: early.verify("GET", url)) == "RequestTimeTooSkewed"


def test_unsigned_amz_header_is_refused():
    signed = _signed()
    smuggled = dict(signed.headers, **{"X-Amz-Meta-Evil": "1"})
    assert code_of(lambda: verifier().verify("POST", signed.url, smuggled)) == "AccessDenied"
    # Unsigned headers of other kinds are fine: proxies add them.
    verifier().verify("POST", signed.url, dict(signed.headers, **{"User-Agent": "x", "Via": "y"}))


@pytest.mark.parametrize("position", [0, 15, 16, 47, 63])
def test_signature_must_be_lowercase_hex(position):
    # The characters either side of 0-9 and a-f, and a capital of a digit that was there:
    # the compiled check takes sixteen bytes at a time, so every lane is tried.
    for kind in ("header", "presigned"):
        if kind == "header":
            signed = _signed()
            signature = signed.signature
            verifier().verify("POST", signed.url, signed.headers)
        else:
            url = Signer(CREDS, "us-east-1", "execute-api").presign(
                "GET", "https://example.com/", timestamp=WHEN)
            signature = url.rpartition("X-Amz-Signature=")[2]
            verifier().verify("GET", url)
        for char in "/:`gG\x7f\x80ÿ" + signature[position].upper():
            if char == signature[position]:
                continue
            bad = signature[:position] + char + signature[position + 1:]
            if kind == "header":
                auth = signed.headers["Authorization"].replace(signature, bad)
                call = lambda: verifier().verify(  # noqa: E731
                    "POST", signed.url, dict(signed.headers, Authorization=auth))
            else:
                call = lambda: verifier().verify("GET", url.replace(signature, quote(bad)))  # noqa: E731
            assert code_of(call) in ("SignatureDoesNotMatch", "IncompleteSignature",
                                     "AuthorizationQueryParametersError", "AccessDenied")


def test_host_must_be_signed():
    signed = _signed()
    auth = signed.headers["Authorization"].replace("SignedHeaders=host;", "SignedHeaders=")
    headers = dict(signed.headers, Authorization=auth)
    assert code_of(lambda: verifier().verify("POST", signed.url, headers)) == "IncompleteSignature"


def test_unsigned_payload_only_where_allowed():
    s3 = _signed("s3", unsigned_payload=True)
    assert verifier().verify("POST", s3.url, s3.headers, b"anything").payload_hash == "UNSIGNED-PAYLOAD"
    other = _signed("service", unsigned_payload=True, content_sha256_header=True)
    assert code_of(lambda: verifier().verify("POST", other.url, other.headers)) == "InvalidRequest"
    assert verifier(unsigned_payload=True).verify("POST", other.url, other.headers)
    assert code_of(lambda: verifier(unsigned_payload=False).verify("POST", s3.url, s3.headers)) == \
        "InvalidRequest"


def test_streamed_body_is_hashed_in_chunks():
    body = b"x" * 200_000
    signed = _signed("s3", body=body)
    stream = io.BytesIO(body)
    verifier().verify("POST", signed.url, signed.headers, stream)
    assert stream.tell() == 0
    assert code_of(lambda: verifier().verify("POST", signed.url, signed.headers,
                                             io.BytesIO(body[:-1]))) == "XAmzContentSHA256Mismatch"
    assert verifier().verify("POST", signed.url, signed.headers,
                             payload_hash=fastsig.sigv4.sha256_hex(body))


def test_s3_header_auth_needs_the_content_hash():
    signed = _signed("s3", content_sha256_header=False)
    assert code_of(lambda: verifier().verify("POST", signed.url, signed.headers)) == \
        "IncompleteSignature"


def test_origin_form_target_uses_the_host_header():
    signed = _signed()
    target = signed.url.split("amazonaws.com", 1)[1]
    assert verifier().verify("POST", target, signed.headers)
    headers = {k: v for k, v in signed.headers.items() if k != "Host"}
    assert code_of(lambda: verifier().verify("POST", target, headers)) == "SignatureDoesNotMatch"


def test_scope_pinned_region_and_service():
    signed = _signed()
    assert verifier(region="us-east-1", service="service").verify("POST", signed.url, signed.headers)
    assert code_of(lambda: verifier(region="eu-west-1").verify("POST", signed.url, signed.headers)) \
        == "SignatureDoesNotMatch"
    assert code_of(lambda: verifier(service="s3").verify("POST", signed.url, signed.headers)) \
        == "SignatureDoesNotMatch"


def test_unsupported_kinds_are_refused_not_waved_through():
    signed = _signed("s3", payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    assert code_of(lambda: verifier().verify("POST", signed.url, signed.headers)) == "NotImplemented"
    # SigV4a is verified (tests/test_sigv4a.py); an incomplete one is refused as such.
    url = "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&X-Amz-Signature=00"
    assert code_of(lambda: verifier().verify("GET", url)) == "IncompleteSignature"


def test_verified_request_repr_hides_the_token():
    signed = _signed(creds=TEMP)
    result = verifier().verify("POST", signed.url, signed.headers)
    assert result.session_token == TOKEN
    assert TOKEN not in repr(result) and "hidden" in repr(result)


# -- hostile input -------------------------------------------------------------------------------

PRESIGNED = Signer(CREDS, "us-east-1", "s3").presign("GET", "https://b.s3.amazonaws.com/k",
                                                     timestamp=WHEN)


@pytest.mark.parametrize("url,headers", [
    ("https://b.s3.amazonaws.com/k", {"Authorization": "AWS4-HMAC-SHA256 " + "A" * 1_000_000}),
    ("https://b.s3.amazonaws.com/k", {"Authorization": "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, "
                                      "Credential=x, SignedHeaders=host, Signature=0"}),
    ("https://b.s3.amazonaws.com/k", {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"
                                      "20240229/us-east-1/s3/aws4_request, SignedHeaders=host, "
                                      "Signature=" + "0" * 64}),  # no X-Amz-Date
    ("https://b.s3.amazonaws.com/k", {"Authorization": "Bearer x"}),
    ("https://b.s3.amazonaws.com/k", [("Authorization", "AWS4-HMAC-SHA256 a"), ("Authorization", "b")]),
    (PRESIGNED + "&" + "&".join(f"p{i}=v" for i in range(5000)), None),
    (PRESIGNED.replace("X-Amz-Expires=3600", "X-Amz-Expires=-5"), None),
    (PRESIGNED.replace("X-Amz-Expires=3600", "X-Amz-Expires=99999999999999999999"), None),
    (PRESIGNED.replace("X-Amz-Expires=3600", "X-Amz-Expires=604801"), None),
    (PRESIGNED.replace("X-Amz-Date=20240229T235959Z", "X-Amz-Date=20240231T235959Z"), None),
    (PRESIGNED.replace("X-Amz-Date=20240229T235959Z", "X-Amz-Date=yesterday"), None),
    (PRESIGNED + "&X-Amz-Credential=x", None),
    (PRESIGNED.replace("X-Amz-Credential=", "X-Amz-Credential=%ZZ"), None),
    (PRESIGNED.replace("X-Amz-Credential=", "X-Amz-Credential=%FF"), None),
    (PRESIGNED.replace("/k?", "/k%?"), None),
    (PRESIGNED.replace("/k?", "/k\x00?"), None),
    (PRESIGNED.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=Host"), None),
    (PRESIGNED.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x%3Bhost"), None),
    (PRESIGNED.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=MD5"), None),
    (PRESIGNED.replace("X-Amz-Signature=", "X-Amz-Signature=\u00e9"), None),
    ("not a url", None),
    (PRESIGNED, {"Host": "b.s3.amazonaws.com\x00"}),
    (PRESIGNED, {"X-Amz-Content-SHA256": "zz"}),
])
def test_hostile_input_is_a_clean_verification_error(url, headers):
    code_of(lambda: verifier().verify("GET", url, headers))


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200), st.lists(st.tuples(st.text(max_size=20), st.text(max_size=60)),
                                       max_size=4), st.binary(max_size=20))
@example("/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb", [("Host", "h")], b"")
def test_fuzzed_requests_never_crash(target, headers, body):
    checker = verifier()
    for url in (target, "https://h.example" + target, PRESIGNED + target):
        try:
            checker.verify("GET", url, headers + [("Host", "h.example")], body)
        except VerificationError as error:
            assert error.status in (400, 403, 501)
        else:  # pragma: no cover - a random request with a good signature
            raise AssertionError("a random request verified")


@pytest.mark.parametrize("bad_method", ["", "G T", None, "GÉT"])
def test_bad_method(bad_method):
    assert code_of(lambda: verifier().verify(bad_method, PRESIGNED)) == "InvalidRequest"


def test_errors_pickle_with_their_code():
    import pickle

    error = fastsig.UnknownAccessKeyError("x", "InvalidAccessKeyId")
    again = pickle.loads(pickle.dumps(error))
    assert again.code == "InvalidAccessKeyId" and str(again) == "x"


def test_signature_comparison_is_constant_time(monkeypatch):
    # The general path compares with hmac.compare_digest (the compiled fast paths with
    # same_bytes, a branch-free loop in C): a streamed body takes the general path.
    import hmac

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    signed = _signed(body=b"x")
    verifier().verify("POST", signed.url, signed.headers, io.BytesIO(b"x"))
    assert calls


@pytest.mark.parametrize("container", [list, dict])
def test_a_lookup_that_empties_the_headers_changes_nothing(container):
    """The compiled verifier reads a list's or dict's headers in place and keeps alive only
    the values it needs once the lookup has run: a lookup that empties the container, dropping
    the last reference to every value, must leave the verdict as it was."""
    token = "".join(["session-", "token"])  # fresh strings, freed with the container
    signer = Signer(Credentials(ACCESS_KEY, SECRET_KEY, token), "us-east-1", "service")
    url = "https://example.amazonaws.com/p?q=1"
    sent = signer.sign("GET", url, {"X-Amz-Meta-A": "1"}, timestamp=WHEN).headers
    pairs = [("".join([name]), "".join([value[:-1], value[-1]])) for name, value in sent.items()]
    headers = dict(pairs) if container is dict else pairs
    del pairs

    def lookup(key):
        headers.clear()
        return KEYS.get(key)

    got = Verifier(lookup, clock=lambda: NOW).verify("GET", url, headers)
    assert (got.access_key_id, got.session_token, got.signed_headers) == (
        ACCESS_KEY, token, ("host", "x-amz-date", "x-amz-meta-a", "x-amz-security-token"))


# -- defects a held-out differential fuzz found (issue 24): each the same on both backends ----

def _failure(call):
    try:
        call()
    except Exception as exc:  # the type and message are what both backends must agree on
        return type(exc).__name__, str(exc)
    return None


def test_a_lone_surrogate_in_the_method_is_the_librarys_error(backend):
    signer = Signer(CREDS, "us-east-1", "s3")
    url = signer.presign("GET", "https://b.s3.amazonaws.com/k", timestamp=WHEN)
    assert _failure(lambda: signer.presign_many("G\ud800", [])) == (
        "InvalidRequestError", "method must be a non-empty HTTP token such as GET")
    assert _failure(lambda: signer.presign("G\ud800", url))[0] == "InvalidRequestError"
    assert code_of(lambda: verifier().verify("G\ud800", url)) == "InvalidRequest"


@pytest.mark.parametrize("extra, named", [
    ("&X-Amz-Date=%ff&X-Amz-Date=1", "X-Amz-Date"),
    ("&X-Amz-Expires=3&X-Amz-Date=1", "X-Amz-Date, X-Amz-Expires"),
    ("&X-Amz-Signature=00&X-Amz-Credential=x", "X-Amz-Credential, X-Amz-Signature"),
])
def test_c_repeated_presigning_parameters_are_named_alike(extra, named, backend):
    url = Signer(CREDS, "us-east-1", "s3").presign("GET", "https://b.s3.amazonaws.com/k",
                                                   timestamp=WHEN)
    assert _failure(lambda: verifier().verify("GET", url + extra)) == (
        "MalformedAuthorizationError", f"presigned URL repeats {named}")


@pytest.mark.parametrize("length", range(30))
def test_d_short_authorization_values_are_refused_without_reading_past_them(length, backend):
    # Values of 17 to 27 bytes once made the compiled check compare 28 (ASan: heap overflow).
    value = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"[:length]
    headers = {"Host": "b.s3.amazonaws.com", "Authorization": value,
               "X-Amz-Date": "20240229T235959Z"}
    assert code_of(lambda: verifier().verify("GET", "/k", headers)) in (
        "IncompleteSignature", "MissingAuthenticationToken")


def test_e_a_bodiless_asgi_request_without_a_query_is_checked_cleanly(backend):
    # An empty query once sent memchr(NULL, ...) through the compiled scope check (UBSan).
    signer = Signer(CREDS, "us-east-1", "s3")
    url = signer.presign("GET", "https://b.s3.amazonaws.com/k", timestamp=WHEN)
    _, check_scope, presigned = verifier()._scope_checker()
    check = lambda scope: check_scope(scope, presigned)  # noqa: E731
    scope = {"type": "http", "method": "GET", "scheme": "https", "raw_path": b"/k",
             "query_string": b"", "headers": [(b"host", b"b.s3.amazonaws.com")]}
    assert check(scope) is None  # no signature: the general path answers
    path, _, query = url.partition("amazonaws.com")[2].partition("?")
    scope.update(raw_path=path.encode(), query_string=query.encode())
    assert check(scope) is None or check(scope).access_key_id == ACCESS_KEY


def _presigned_and_signed():
    """A presigned GET (absolute and origin form) with a server's headers, and a header-signed
    POST, each as (method, target, headers as str pairs, body)."""
    url = Signer(CREDS, "us-east-1", "s3").presign("GET", "https://b.s3.us-east-1.amazonaws.com/k x",
                                                   timestamp=WHEN)
    host = "b.s3.us-east-1.amazonaws.com"
    server = [("Host", host), ("User-Agent", "curl/8"), ("Accept", "*/*"),
              ("X-Forwarded-For", "203.0.113.7")]
    signed = Signer(CREDS, "us-east-1", "dynamodb").sign(
        "POST", "https://dynamodb.us-east-1.amazonaws.com/", {"X-Amz-Target": "T"}, b"{}",
        timestamp=WHEN)
    return [("GET", url, server, None), ("GET", url[url.index(".com") + 4:], server, None),
            ("POST", "/", list(signed.headers.items()) + server[1:], b"{}")]


@pytest.mark.parametrize("change", [None, ("User-Agent", "é"), ("X-Amz-Meta-A", "1"),
                                    ("Host", "other.example"), ("Accept", "a\nb")])
def test_b_bytes_header_pairs_verify_as_the_str_pairs_they_spell(change, backend):
    for method, target, headers, body in _presigned_and_signed():
        if change:
            headers = [h for h in headers if h[0] != change[0]] + [change]
        as_bytes = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers]
        assert _failure(lambda: verifier().verify(method, target, as_bytes, body)) == _failure(
            lambda: verifier().verify(method, target, headers, body))
        if change is None:
            assert verifier().verify(method, target, as_bytes, body).access_key_id == ACCESS_KEY


def test_presigned_urls_with_a_servers_headers_take_the_compiled_path(backend):
    checker = verifier()
    presigned = checker._fast_paths()[0]
    for method, target, headers, _ in _presigned_and_signed()[:2]:
        for form in (headers, dict(headers)):
            fast = presigned.check_headers(method, target, form)
            assert (fast is not None) == (backend == "cython")
            assert checker.verify(method, target, form) == checker._prepare(
                method, target, form).finish(None, None)
    # What a presigned URL does not sign may not ride along: the general path answers.
    method, target, headers, _ = _presigned_and_signed()[0]
    assert presigned.check_headers(method, target, headers + [("X-Amz-Acl", "public")]) is None
    assert code_of(lambda: checker.verify(method, target, headers + [("X-Amz-Acl", "x")])) == (
        "AccessDenied")
    assert presigned.check_headers(method, target, [("Host", "evil.example")]) is None
    assert code_of(lambda: checker.verify(method, target, [("Host", "evil.example")])) == (
        "SignatureDoesNotMatch")


def _sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def test_unsigned_headers_with_odd_values_take_the_compiled_path(backend):
    """A header that is not signed may hold what no signer signs as sent (non-ASCII, as a
    browser's Referer or a proxy's header; a control character; a fold): the general path
    takes it whatever its value, and so does the compiled one-call check, in every header
    form. Signed, such a value is the general path's to canonicalize."""
    checker = verifier()
    header_path = checker._fast_paths()[1]
    s3 = Signer(CREDS, "us-east-1", "s3")
    api = Signer(CREDS, "us-east-1", "dynamodb")
    body = b'{"TableName": "t"}'
    presigned = s3.presign("GET", "https://b.s3.amazonaws.com/k", timestamp=WHEN,
                           headers={"Content-Type": "text/plain"})
    signed = api.sign("POST", "https://dynamodb.us-east-1.amazonaws.com/", body=body,
                      timestamp=WHEN)
    for odd in ("caf\u00e9", "a\x01b", "a\n  b", "\u00ff" * 3):
        extra = [("Referer", odd), ("Accept", "*/*")]
        for method, target, headers, sent in (
                ("GET", presigned, [("Host", "b.s3.amazonaws.com"),
                                    ("Content-Type", "text/plain")] + extra, None),
                ("POST", signed.url, list(signed.headers.items()) + extra, body)):
            digest = None if sent is None else _sha256_hex(sent)
            general = checker._prepare(method, target, headers).finish(sent, None)
            forms = [headers, dict(headers)]
            if odd != "\u00ff" * 3:
                forms.append([(n.encode(), v.encode("latin-1")) for n, v in headers])
            for form in forms:
                fast = header_path.check(method, target, form, digest)
                assert (fast is not None) == (backend == "cython"), (odd, form)
                assert fast is None or fast == general
                assert checker.verify(method, target, form, sent) == general
    # A fold signed: refused by the compiled check, judged by the general path.
    folded = api.sign("POST", "https://dynamodb.us-east-1.amazonaws.com/",
                      {"X-Note": "a\n  b"}, body, timestamp=WHEN)
    headers = [(n, "a\n  b" if n == "X-Note" else v) for n, v in folded.headers.items()]
    assert header_path.check("POST", folded.url, headers, _sha256_hex(body)) is None
    assert checker.verify("POST", folded.url, headers, body) == checker._prepare(
        "POST", folded.url, headers).finish(body, None)


def _presigned_with_headers_or_body():
    """Presigned requests the bare check does not take: signed headers beyond host (x-amz-*
    ones too), a body (hashed into a non-S3 signature; S3 presigns UNSIGNED-PAYLOAD), the
    body's hash given instead; as (method, target, headers, body, payload_hash)."""
    s3 = Signer(CREDS, "us-east-1", "s3")
    api = Signer(CREDS, "us-east-1", "execute-api")
    host = "b.s3.us-east-1.amazonaws.com"
    server = [("User-Agent", "aws-cli/2"), ("Accept", "*/*"), ("X-Forwarded-For", "203.0.113.7")]
    put = s3.presign("PUT", f"https://{host}/a b+c", timestamp=WHEN,
                     headers={"Content-Type": "text/plain", "X-Amz-Meta-Owner": "ann"})
    body = b'{"a": 1}'
    post = api.presign("POST", "https://api.example.com/stage/p?x=1", timestamp=WHEN,
                       payload_hash=_sha256_hex(body))
    sent = [("Host", host), ("Content-Type", "text/plain"), ("x-amz-meta-owner", "ann")] + server
    return [
        ("PUT", put, sent, b"hello", None),
        ("PUT", put[put.index(".com") + 4:], sent, None, None),
        ("PUT", put, dict(sent), None, EMPTY_SHA256),
        ("POST", post, [("Host", "api.example.com")] + server, body, None),
        ("POST", post, None, body, None),
        ("POST", post, [(b"host", b"api.example.com"), (b"user-agent", b"x")], None,
         _sha256_hex(body)),
    ]


def test_presigned_urls_with_signed_headers_or_a_body_take_the_compiled_path(backend):
    checker = verifier()
    header_path = checker._fast_paths()[1]
    for method, target, headers, body, payload_hash in _presigned_with_headers_or_body():
        digest = payload_hash or (None if body is None else _sha256_hex(body))
        fast = header_path.check(method, target, headers, digest)
        assert (fast is not None) == (backend == "cython"), target
        general = checker._prepare(method, target, headers).finish(body, payload_hash)
        assert checker.verify(method, target, headers, body, payload_hash=payload_hash) == general
        assert fast is None or fast == general
        assert general.presigned and general.expires_at is not None
    # What they sign must come as signed, and what a presigned URL does not sign may not
    # ride along, x-amz-content-sha256 included: the general path answers, as before.
    method, target, headers, body, _ = _presigned_with_headers_or_body()[0]
    changed = [(n, "x" if n == "Content-Type" else v) for n, v in headers]
    assert header_path.check(method, target, changed, None) is None
    assert code_of(lambda: checker.verify(method, target, changed, body)) == (
        "SignatureDoesNotMatch")
    for extra in (("X-Amz-Acl", "private"), ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")):
        assert header_path.check(method, target, headers + [extra], None) is None
        assert code_of(lambda: checker.verify(method, target, headers + [extra], body)) == (
            "AccessDenied")
    method, target, headers, body, _ = _presigned_with_headers_or_body()[3]
    assert code_of(lambda: checker.verify(method, target, headers, b"other")) == (
        "SignatureDoesNotMatch")
