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
        headers["Content-Type"] = rng.choice(["text/plain", " image/jpeg ", "application/x-www-form-urlencoded"])
    if rng.random() < 0.3:
        headers["Content-MD5"] = "1B2M2Y8AsgTpgAmY7PhCfg=="
    for i in range(rng.randrange(0, 4)):
        name = rng.choice(["x-amz-meta-", "X-Amz-Meta-", "x-amz-"]) + rng.choice(["a", "b", "note", "acl"]) + str(i)
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
