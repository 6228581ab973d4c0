"""SigV2 and HmacV1 (``algorithm="sigv2"`` / ``"hmacv1"``) against botocore's ``SigV2Auth``,
``HmacV1Auth`` and ``HmacV1QueryAuth``: 1,000 seeded random requests per form, same inputs and
timestamp, same output."""

from __future__ import annotations

import email.utils
import random
import time
import types
from urllib.parse import parse_qsl, urlsplit

import botocore.auth
import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth, SigV2Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from fastsig import ConfigurationError, Credentials, InvalidRequestError, Signer

EPOCH = 1700000000  # 2023-11-14T22:13:20Z
ROUNDS = 1000

_KEY_CHARS = ["a", "Z", "0", " ", "+", "%25", "%2B", "%20", "é", "𝄞", "~", "-", "_", ".", "/",
              "!", "(", "'", "*", "=", "&amp"]
_SUBS = ["acl", "versionId", "uploadId", "partNumber", "uploads", "tagging", "versions",
         "response-content-disposition", "response-content-type", "delete", "restore", "website"]


def _text(rng: random.Random, chars, low=1, high=8) -> str:
    return "".join(rng.choice(chars) for _ in range(rng.randrange(low, high)))


def _credentials(rng: random.Random):
    secret = _text(rng, ["a", "B", "/", "+", "9", "="], 10, 41)
    token = _text(rng, ["T", "o", "k", "/", "+", "="], 20, 60) if rng.random() < 0.4 else None
    key = "AKID" + str(rng.randrange(10**6))
    return Credentials(key, secret, token), BotoCredentials(key, secret, token)


def _s3_url(rng: random.Random):
    """(url, bucket or None when the bucket is in the path) of an S3 request."""
    bucket = rng.choice(["bucket", "my.bucket", "b-1"])
    key = "/".join(_text(rng, _KEY_CHARS) for _ in range(rng.randrange(1, 4)))
    key = key.replace("&amp", "&")  # '&' in a path is sent as %26
    key = key.replace("&", "%26")
    style = rng.randrange(4)
    host = {0: f"{bucket}.s3.amazonaws.com", 1: f"{bucket}.s3.us-west-2.amazonaws.com",
            2: "s3.us-west-2.amazonaws.com", 3: "127.0.0.1:9000"}[style]
    path = f"/{key}" if style < 2 else f"/{bucket}/{key}"
    if rng.random() < 0.1:
        path = "/" if style < 2 else f"/{bucket}"
    params = []
    for _ in range(rng.randrange(0, 4)):
        name = rng.choice(_SUBS + ["foo", "x-id", "prefix"])
        if rng.random() < 0.3:
            params.append(name)
        else:
            value = _text(rng, ["v", "1", " ", "%20", "+", "é", ";", '"', "%3D"], 0, 6)
            params.append(f"{name}={value}")
    url = f"{'http' if style == 3 else 'https'}://{host}{path}"
    if params:
        url += "?" + "&".join(params)
    return url, (bucket if style < 2 else None)


def _s3_headers(rng: random.Random, presigned: bool):
    headers = {}
    if rng.random() < 0.5:
        headers["Content-Type"] = rng.choice(
            ["text/plain", " image/jpeg ", "application/x-www-form-urlencoded"])
    if rng.random() < 0.3:
        headers["Content-MD5"] = "1B2M2Y8AsgTpgAmY7PhCfg=="
    for i in range(rng.randrange(0, 4)):
        prefix = rng.choice(["x-amz-meta-", "X-Amz-Meta-", "x-amz-"])
        name = prefix + rng.choice(["a", "b", "note", "acl"]) + str(i)
        headers[name] = _text(rng, ["v", " ", "\t", "1", ",", "%"], 0, 8)
    if not presigned and rng.random() < 0.3:
        headers["x-amz-date"] = email.utils.formatdate(EPOCH, usegmt=True)
    if rng.random() < 0.2:
        headers["Cache-Control"] = "no-cache"
    return headers


def _botocore_path(url: str, bucket):
    path = urlsplit(url).path or "/"
    return f"/{bucket}{path}" if bucket else path


def test_hmacv1_headers_equal_botocore():
    rng = random.Random(2801)
    for n in range(ROUNDS):
        creds, boto_creds = _credentials(rng)
        url, bucket = _s3_url(rng)
        method = rng.choice(["GET", "PUT", "HEAD", "DELETE", "POST"])
        headers = _s3_headers(rng, False)
        signed = Signer(creds, "us-east-1", "s3", algorithm="hmacv1").sign(
            method, url, headers, timestamp=EPOCH)
        # botocore is handed the URL as fastsig sends it (botocore's serializer would have
        # encoded the key the same way).
        request = AWSRequest(method, signed.url, headers=dict(headers))
        request.auth_path = _botocore_path(signed.url, bucket)
        has_amz_date = "x-amz-date" in headers
        auth = HmacV1Auth(boto_creds)
        # S3 ignores Date when x-amz-date is sent, and its string to sign has an empty date
        # line then; botocore always writes Date, so it is told to write an empty one.
        date = "" if has_amz_date else email.utils.formatdate(EPOCH, usegmt=True)
        auth._get_date = lambda date=date: date
        auth.add_auth(request)
        theirs = {k: v for k, v in request.headers.items() if not (has_amz_date and k == "Date")}
        assert signed.headers == theirs, (n, method, url, headers)
        assert request.url == signed.url


def test_hmacv1_presign_equals_botocore():
    rng = random.Random(2802)
    for n in range(ROUNDS):
        creds, boto_creds = _credentials(rng)
        url, bucket = _s3_url(rng)
        method = rng.choice(["GET", "PUT", "HEAD", "DELETE"])
        headers = _s3_headers(rng, True)
        expires_in = rng.choice([1, 60, 3600, 604800, 31536000])
        ours = Signer(creds, "us-east-1", "s3", algorithm="hmacv1").presign(
            method, url, headers=headers, expires_in=expires_in, timestamp=EPOCH)
        sent = Signer(creds, "us-east-1", "s3", algorithm="hmacv1").sign(
            method, url, timestamp=EPOCH).url  # the URL as it is sent, before signing
        request = AWSRequest(method, sent, headers=dict(headers))
        request.auth_path = _botocore_path(sent, bucket)
        auth = HmacV1QueryAuth(boto_creds, expires=expires_in)
        auth._get_date = lambda: str(EPOCH + expires_in)
        auth.add_auth(request)
        assert ours == request.url, (n, method, url, headers)


def _query_url(rng: random.Random):
    host = rng.choice(["ec2.amazonaws.com", "sqs.us-east-1.amazonaws.com", "sdb.amazonaws.com",
                       "127.0.0.1:8080", "localhost:5000"])
    path = rng.choice(["/", "/", "/123456789012/queue", "/a b/é", "/x+y"])
    params = {"Action": rng.choice(["DescribeRegions", "SendMessage", "ListDomains"]),
              "Version": "2012-11-05"}
    for i in range(rng.randrange(0, 6)):
        name = rng.choice(["MessageBody", "Filter.1.Name", "Attribute.Name", "é", "a b", "x+y",
                           "MaxResults"]) + str(i)
        params[name] = _text(rng, ["v", " ", "+", "%", "/", "é", "𝄞", "&", "=", "~", "*"], 0, 10)
    return f"{'http' if ':' in host else 'https'}://{host}{path}", params


@pytest.fixture
def boto_clock(monkeypatch):
    # botocore's SigV2Auth reads time.strftime(ISO8601, time.gmtime()).
    monkeypatch.setattr(botocore.auth, "time", types.SimpleNamespace(
        gmtime=lambda: time.gmtime(EPOCH), strftime=time.strftime, time=lambda: EPOCH))


def _quote(text: str) -> str:
    from urllib.parse import quote
    return quote(text, safe="-_.~")


def test_sigv2_query_equals_botocore(boto_clock):
    rng = random.Random(2803)
    for n in range(ROUNDS):
        creds, boto_creds = _credentials(rng)
        base, params = _query_url(rng)
        method = rng.choice(["GET", "GET", "DELETE", "HEAD"])
        url = base + "?" + "&".join(f"{_quote(k)}={_quote(v)}" for k, v in params.items())
        signed = Signer(creds, "us-east-1", "ec2", algorithm="sigv2").sign(
            method, url, timestamp=EPOCH)
        sent_base = signed.url.partition("?")[0]
        request = AWSRequest(method, sent_base, params=dict(params))
        SigV2Auth(boto_creds).add_auth(request)
        ours = dict(parse_qsl(urlsplit(signed.url).query, keep_blank_values=True))
        assert ours == request.params, (n, url)
        assert signed.signature == request.params["Signature"]


def test_sigv2_form_post_equals_botocore(boto_clock):
    rng = random.Random(2804)
    for n in range(ROUNDS):
        creds, boto_creds = _credentials(rng)
        base, params = _query_url(rng)
        body = params if rng.random() < 0.5 else "&".join(
            f"{_quote(k)}={_quote(v)}" for k, v in params.items()).encode()
        signed = Signer(creds, "us-east-1", "sqs", algorithm="sigv2").sign(
            "POST", base, {"Content-Type": "application/x-www-form-urlencoded"}, body,
            timestamp=EPOCH)
        request = AWSRequest("POST", signed.url, data=dict(params))
        SigV2Auth(boto_creds).add_auth(request)
        ours = dict(parse_qsl(signed.body.decode(), keep_blank_values=True))
        assert ours == request.data, (n, base, body)
        assert signed.headers["Content-Type"].startswith("application/x-www-form-urlencoded")


def test_sigv2_presign_carries_expires():
    signer = Signer(Credentials("AKID", "secret"), "us-east-1", "ec2", algorithm="sigv2")
    url = signer.presign("GET", "https://ec2.amazonaws.com/?Action=DescribeRegions",
                         expires_in=600, timestamp=EPOCH)
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["Expires"] == "2023-11-14T22:23:20Z" and "Timestamp" not in query


def test_legacy_algorithms_refuse_what_they_cannot_do():
    for algorithm in ("sigv2", "hmacv1"):
        signer = Signer(Credentials("AKID", "secret"), "us-east-1", "s3", algorithm=algorithm)
        with pytest.raises(ConfigurationError):
            signer.presign_many("GET", ["https://b.s3.amazonaws.com/k"])
        with pytest.raises(ConfigurationError):
            signer.sign("GET", "https://b.s3.amazonaws.com/k", payload_hash="UNSIGNED-PAYLOAD")
        with pytest.raises(ConfigurationError):
            signer.sign_event(b"", "0" * 64)
    sigv2 = Signer(Credentials("AKID", "secret"), "us-east-1", "ec2", algorithm="sigv2")
    with pytest.raises(InvalidRequestError):
        sigv2.sign("POST", "https://ec2.amazonaws.com/?Action=X", None, b"Version=1")
    with pytest.raises(InvalidRequestError):
        sigv2.sign("GET", "https://ec2.amazonaws.com/?a=1&a=2")
    with pytest.raises(ConfigurationError):
        Signer(Credentials("AKID", "secret"), "us-east-1", "s3", algorithm="sigv3")


# -- the Verifier ---------------------------------------------------------------------------

def _signed_requests(seed: int, count: int):
    """(kind, method, url, headers, body, credentials) of requests signed by fastsig, of all
    four forms."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        creds, _ = _credentials(rng)
        form = n % 4
        if form < 2:
            url, _bucket = _s3_url(rng)
            signer = Signer(creds, "us-east-1", "s3", algorithm="hmacv1")
            method = rng.choice(["GET", "PUT", "DELETE"])
            if form == 0:
                signed = signer.sign(method, url, _s3_headers(rng, False), timestamp=EPOCH)
                out.append(("hmacv1", method, signed.url, signed.headers, None, creds))
            else:
                headers = {k: v for k, v in _s3_headers(rng, True).items()
                           if k.lower().startswith("x-amz-")}
                presigned = signer.presign(method, url, headers=headers, timestamp=EPOCH,
                                           expires_in=600)
                out.append(("hmacv1", method, presigned, {}, None, creds))
        else:
            base, params = _query_url(rng)
            signer = Signer(creds, "us-east-1", "ec2", algorithm="sigv2")
            if form == 2:
                url = base + "?" + "&".join(f"{_quote(k)}={_quote(v)}" for k, v in params.items())
                signed = signer.sign("GET", url, timestamp=EPOCH)
                out.append(("sigv2", "GET", signed.url, signed.headers, None, creds))
            else:
                signed = signer.sign("POST", base, None, params, timestamp=EPOCH)
                out.append(("sigv2", "POST", signed.url, signed.headers, signed.body, creds))
    return out


def _verifier(creds, **options):
    from fastsig import Verifier
    return Verifier({creds.access_key_id: creds}.get, clock=lambda: EPOCH + 5, **options)


def test_verifier_accepts_legacy_when_enabled_and_refuses_it_otherwise():
    from fastsig import VerificationError
    for kind, method, url, headers, body, creds in _signed_requests(2805, 400):
        verified = _verifier(creds, legacy=("sigv2", "hmacv1")).verify(method, url, headers, body)
        assert verified.access_key_id == creds.access_key_id
        assert verified.session_token == creds.session_token
        # Only the kind it allows.
        other = "sigv2" if kind == "hmacv1" else "hmacv1"
        for options in ({}, {"legacy": (other,)}):
            with pytest.raises(VerificationError) as refused:
                _verifier(creds, **options).verify(method, url, headers, body)
            assert refused.value.code == "InvalidRequest" and refused.value.status == 400
            assert "not supported" in str(refused.value)


def _tamper(url: str) -> str:
    # One more parameter that the signature does not cover.
    return url + ("&" if "?" in url else "?") + "acl"


def test_verifier_refuses_tampered_expired_and_wrong_token_legacy_requests():
    from fastsig import VerificationError
    legacy = {"legacy": ("sigv2", "hmacv1")}
    for kind, method, url, headers, body, creds in _signed_requests(2806, 80):
        verifier = _verifier(creds, **legacy)
        with pytest.raises(VerificationError) as bad:
            if body is not None:
                verifier.verify(method, url, headers, body.replace(b"Action=", b"Action=X"))
            elif kind == "sigv2":
                verifier.verify(method, url.replace("Action=", "Action=X"), headers)
            else:
                verifier.verify("HEAD" if method != "HEAD" else "GET", url, headers)
        assert bad.value.code == "SignatureDoesNotMatch"
    # Expired, skewed, unknown key, and a token that is not the key's.
    creds = Credentials("AKIDX", "secret", "TOKEN")
    from fastsig import Verifier
    signer = Signer(creds, "us-east-1", "s3", algorithm="hmacv1")
    url = signer.presign("GET", "https://b.s3.amazonaws.com/k", expires_in=60, timestamp=EPOCH)
    late = Verifier({"AKIDX": creds}.get, clock=lambda: EPOCH + 61, legacy="hmacv1")
    with pytest.raises(VerificationError) as expired:
        late.verify("GET", url)
    assert expired.value.code == "AccessDenied" and "expired" in str(expired.value)
    signed = signer.sign("GET", "https://b.s3.amazonaws.com/k", timestamp=EPOCH)
    with pytest.raises(VerificationError) as skewed:
        Verifier({"AKIDX": creds}.get, clock=lambda: EPOCH + 3600, legacy="hmacv1").verify(
            "GET", signed.url, signed.headers)
    assert skewed.value.code == "RequestTimeTooSkewed"
    with pytest.raises(VerificationError) as unknown:
        Verifier({}.get, clock=lambda: EPOCH, legacy="hmacv1").verify(
            "GET", signed.url, signed.headers)
    assert unknown.value.code == "InvalidAccessKeyId"
    other = Credentials("AKIDX", "secret", "OTHER")
    with pytest.raises(VerificationError) as token:
        Verifier({"AKIDX": other}.get, clock=lambda: EPOCH, legacy="hmacv1").verify(
            "GET", signed.url, signed.headers)
    assert token.value.code == "InvalidToken"
    assert "TOKEN" not in str(token.value) and "OTHER" not in str(token.value)
    sigv2 = Signer(creds, "us-east-1", "ec2", algorithm="sigv2").sign(
        "GET", "https://ec2.amazonaws.com/?Action=DescribeRegions", timestamp=EPOCH)
    with pytest.raises(VerificationError) as skewed2:
        Verifier({"AKIDX": creds}.get, clock=lambda: EPOCH + 901, legacy="sigv2").verify(
            "GET", sigv2.url)
    assert skewed2.value.code == "RequestTimeTooSkewed"


def test_verifier_checks_botocore_signed_legacy_requests(boto_clock):
    from fastsig import Verifier
    creds = Credentials("AKIDB", "secret/key", "TOK")
    boto = BotoCredentials("AKIDB", "secret/key", "TOK")
    verifier = Verifier({"AKIDB": creds}.get, clock=lambda: EPOCH, legacy=("sigv2", "hmacv1"))
    request = AWSRequest("GET", "https://ec2.amazonaws.com/",
                         params={"Action": "DescribeRegions", "Version": "2016-11-15"})
    SigV2Auth(boto).add_auth(request)
    prepared = request.prepare()
    assert verifier.verify("GET", prepared.url).access_key_id == "AKIDB"
    request = AWSRequest("PUT", "https://bucket.s3.amazonaws.com/a%20key?acl",
                         headers={"x-amz-meta-k": "v", "Content-Type": "text/plain"})
    request.auth_path = "/bucket/a%20key"
    auth = HmacV1Auth(boto)
    auth._get_date = lambda: email.utils.formatdate(EPOCH, usegmt=True)
    auth.add_auth(request)
    assert verifier.verify("PUT", request.url, dict(request.headers)).service == "s3"
