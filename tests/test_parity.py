"""Property-based parity with independent signers: botocore and awscrt must produce the same
signatures as fastsig for the same random requests, on every backend.

The generators produce requests that each reference handles correctly: botocore's query
signers parse the query into a dict (so presign cases use unique keys), and both take the
S3 path as already encoded (so S3 paths are generated in their encoded form).
"""

from __future__ import annotations

import datetime
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from fastsig import Credentials, Signer

botocore_auth = pytest.importorskip("botocore.auth")
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials as BotoCredentials  # noqa: E402

awscrt_auth = pytest.importorskip("awscrt.auth")
from awscrt import http as crt_http  # noqa: E402

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
WHEN = datetime.datetime(2024, 2, 29, 23, 59, 59, tzinfo=datetime.timezone.utc)
SETTINGS = settings(
    max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Text that may appear in a path segment or a query component before encoding: anything
# but surrogates and control characters, with the traps made likely.
_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(" +%~._-!*'()$&=;:@,[]ሴé😀\u00a0")),
        st.characters(blacklist_categories=("Cs", "Cc")),
    ),
    max_size=8,
)
_SEGMENT = st.one_of(st.sampled_from(["", ".", "..", "%", "%2F", "a+b", "~x"]), _TEXT)
_SEGMENTS = st.lists(_SEGMENT.filter(lambda s: not set(s) & set("/?#")), max_size=5)
_QUERY_ITEMS = st.lists(st.tuples(_TEXT, st.one_of(st.none(), _TEXT)), max_size=5)
_HEADER_NAMES = st.sampled_from(
    ["X-Custom", "x-custom", "X-CUSTOM", "My-Header", "Content-Type", "X-Amz-Meta-Note",
     "Accept", "x-t_!#$%&'*+.^`|~0"]
)
# (No Date header: botocore replaces a caller's Date with the signing time and then signs no
# X-Amz-Date, a convention of its own; fastsig signs Date like any header.)
_HEADER_VALUE = st.text(
    alphabet=st.sampled_from(list(" \t abcXYZ019\"',;:=/-")), max_size=16
)
_HEADERS = st.lists(st.tuples(_HEADER_NAMES, _HEADER_VALUE), max_size=6)
_TOKEN = st.one_of(st.none(), st.text(alphabet="AQoDYXdz+/=0123456789abc", min_size=1, max_size=64))
_METHOD = st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "get"])
_SERVICE = st.sampled_from(["s3", "service", "dynamodb", "execute-api", "s3-object-lambda"])
_BODY = st.one_of(st.none(), st.binary(max_size=300))


def _encoded(text: str) -> str:
    return quote(text, safe="-_.~")


def _query(items, unique_keys=False) -> str:
    if unique_keys:
        items = list({k: (k, v) for k, v in items}.values())
    # An empty key is written "=": a bare "&&" is no parameter for awscrt and fastsig, but
    # botocore signs it as "=".
    return "&".join(
        _encoded(k) if v is None and k else f"{_encoded(k)}={_encoded(v or '')}" for k, v in items
    )


def _path(segments, is_s3: bool, raw_mask: int, for_awscrt: bool) -> str:
    if is_s3:  # the references sign an S3 path as they get it: give it encoded
        return "/" + "/".join(_encoded(s) for s in segments)
    # Other services encode the path again, so raw and encoded input are both fair; but
    # awscrt's URI parser misreads a raw ":" in a path ("/:///"), so it gets those encoded.
    return "/" + "/".join(
        s if raw_mask >> i & 1 and not (for_awscrt and ":" in s) else _encoded(s)
        for i, s in enumerate(segments)
    )


def _url(segments, query, is_s3, raw_mask, for_awscrt=False) -> str:
    path = _path(segments, is_s3, raw_mask, for_awscrt)
    url = "https://example-bucket.s3.us-east-1.amazonaws.com" + path
    if query:
        url += "?" + query
    # urllib (inside botocore) strips trailing spaces off a URL; a client would not send one.
    assume(not url.endswith(" "))
    return url


@pytest.fixture
def frozen_botocore(monkeypatch):
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda: WHEN.replace(tzinfo=None))


def _botocore_request(method, url, headers, body):
    request = AWSRequest(method=method, url=url, data=body or b"")
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders appends: repeated names are kept
    return request


def _signer(service, token, **options) -> Signer:
    return Signer(Credentials(ACCESS_KEY, SECRET_KEY, token), "us-east-1", service, **options)


@SETTINGS
@given(_METHOD, _SERVICE, _SEGMENTS, _QUERY_ITEMS, _HEADERS, _BODY, _TOKEN, st.integers(0, 31))
@example("GET", "service", ["a b", "..", "", "ሴ"], [("a", "b c"), ("a", ""), ("", None)],
         [("X-Custom", "  a \t b  "), ("x-custom", "c")], None, None, 31)
@example("PUT", "s3", ["photos", "2024", "img 0000042+%.jpg"], [("acl", None)], [], b"x", "tok", 0)
def test_header_signing_matches_botocore(
    frozen_botocore, method, service, segments, query_items, headers, body, token, raw_mask
):
    is_s3 = service.startswith("s3")
    url = _url(segments, _query(query_items), is_s3, raw_mask)
    request = _botocore_request(method, url, headers, body)
    auth_class = botocore_auth.S3SigV4Auth if is_s3 else botocore_auth.SigV4Auth
    auth_class(BotoCredentials(ACCESS_KEY, SECRET_KEY, token), service, "us-east-1").add_auth(request)

    signed = _signer(service, token).sign(method, url, headers, body, timestamp=WHEN)
    assert signed.headers["Authorization"] == request.headers["Authorization"]


@SETTINGS
@given(_SERVICE, _SEGMENTS, _QUERY_ITEMS, _TOKEN, st.integers(1, 604800), st.integers(0, 31))
@example("s3", ["photos", "img 0000042.jpg"], [], None, 3600, 0)
@example("service", [".", "a", "..", "b c"], [("k", "v+w"), ("e", None)], "tok", 60, 5)
def test_presign_matches_botocore(
    frozen_botocore, service, segments, query_items, token, expires, raw_mask
):
    is_s3 = service.startswith("s3")
    url = _url(segments, _query(query_items, unique_keys=True), is_s3, raw_mask)
    request = AWSRequest(method="GET", url=url)
    auth_class = botocore_auth.S3SigV4QueryAuth if is_s3 else botocore_auth.SigV4QueryAuth
    auth_class(
        BotoCredentials(ACCESS_KEY, SECRET_KEY, token), service, "us-east-1", expires=expires
    ).add_auth(request)
    want = request.url.rpartition("X-Amz-Signature=")[2]

    presigned = _signer(service, token).presign("GET", url, expires_in=expires, timestamp=WHEN)
    assert presigned.rpartition("X-Amz-Signature=")[2] == want


def _awscrt_sign(method, url, headers, payload_hash, token, service, double, normalize,
                 content_header, query_expires=None):
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    request = crt_http.HttpRequest(
        method.upper(), target, crt_http.HttpHeaders([("Host", parts.netloc)] + list(headers))
    )
    config = awscrt_auth.AwsSigningConfig(
        algorithm=awscrt_auth.AwsSigningAlgorithm.V4,
        signature_type=(
            awscrt_auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS
            if query_expires
            else awscrt_auth.AwsSignatureType.HTTP_REQUEST_HEADERS
        ),
        credentials_provider=awscrt_auth.AwsCredentialsProvider.new_static(
            ACCESS_KEY, SECRET_KEY, token
        ),
        region="us-east-1",
        service=service,
        date=WHEN,
        use_double_uri_encode=double,
        should_normalize_uri_path=normalize,
        signed_body_value=payload_hash,
        signed_body_header_type=(
            awscrt_auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256
            if content_header
            else awscrt_auth.AwsSignedBodyHeaderType.NONE
        ),
        expiration_in_seconds=query_expires,
    )
    signed = awscrt_auth.aws_sign_request(request, config).result()
    if query_expires:
        return signed.path.rpartition("X-Amz-Signature=")[2]
    return dict(signed.headers)["Authorization"]


@SETTINGS
@given(
    _METHOD, _SEGMENTS, _QUERY_ITEMS, _HEADERS,
    _BODY, _TOKEN, st.booleans(), st.booleans(), st.booleans(), st.integers(0, 31),
)
def test_header_signing_matches_awscrt(
    method, segments, query_items, headers, body, token, double, normalize, content_header,
    raw_mask,
):
    # awscrt takes the path as given unless it double-encodes: then give it encoded.
    url = _url(segments, _query(query_items), not double, raw_mask, for_awscrt=True)
    signer = _signer(
        "service", token, double_encode=double, normalize_path=normalize,
        content_sha256_header=content_header,
    )
    signed = signer.sign(method, url, headers, body, timestamp=WHEN)
    payload_hash = signed.canonical_request.rpartition("\n")[2]
    want = _awscrt_sign(method, url, headers, payload_hash, token, "service", double,
                        normalize, content_header)
    assert signed.headers["Authorization"] == want


@SETTINGS
@given(_SEGMENTS, _QUERY_ITEMS, _TOKEN, st.booleans(), st.booleans(), st.integers(1, 604800),
       st.integers(0, 31))
def test_presign_matches_awscrt(segments, query_items, token, double, normalize, expires, raw_mask):
    url = _url(segments, _query(query_items), not double, raw_mask, for_awscrt=True)
    signer = _signer("service", token, double_encode=double, normalize_path=normalize)
    presigned = signer.presign("GET", url, expires_in=expires, timestamp=WHEN)
    want = _awscrt_sign("GET", url, [], signer._presign_payload, token, "service", double,
                        normalize, False, query_expires=expires)
    assert presigned.rpartition("X-Amz-Signature=")[2] == want
