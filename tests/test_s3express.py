"""S3 Express One Zone: zonal endpoints, CreateSession and session-signed requests, against
botocore (its S3 client's endpoint rules and requests, S3ExpressAuth, S3ExpressQueryAuth),
and sessions fetched from a real HTTP server on 127.0.0.1 that checks their signatures."""

from __future__ import annotations

import datetime
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import botocore.auth
import botocore.session
import pytest
from botocore.auth import S3ExpressAuth, S3ExpressQueryAuth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials

from fastsig import (
    Credentials,
    CredentialsError,
    S3ExpressSessionProvider,
    S3ExpressSessions,
    Verifier,
)
from fastsig._s3 import bucket_url, directory_bucket_zone, zonal_endpoint
from fastsig._s3express import create_session_request

WHEN = datetime.datetime(2026, 12, 4, 12, 0, 0, tzinfo=datetime.timezone.utc)
EPOCH = int(WHEN.timestamp())
BASE = ("AKIDBASE", "base/secret+key", "BASETOKEN/+=")
SESSION = ("ASIASESSION", "session/secret+key", "SESSION/TOKEN+=" * 20)
SESSION_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<CreateSessionResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Credentials>'
    "<SessionToken>{2}</SessionToken><SecretAccessKey>{1}</SecretAccessKey>"
    "<AccessKeyId>{0}</AccessKeyId><Expiration>{3}</Expiration></Credentials>"
    "</CreateSessionResult>")
BUCKETS = [("mybucket--usw2-az1--x-s3", "us-west-2"), ("logs-2024--use1-az4--x-s3", "us-east-1"),
           ("b--apne1-az4--x-s3", "ap-northeast-1"), ("x--usw2-lax1-az1--x-s3", "us-west-2"),
           ("data--cnn1-az1--x-s3", "cn-north-1")]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_):
        yield self._body


@pytest.fixture
def botocore_client(monkeypatch):
    """A botocore S3 client whose requests are recorded as they would go on the wire (its
    before-send hook answers them: there is no S3 Express endpoint here); its clock is WHEN."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime",
                        lambda: WHEN.replace(tzinfo=None))
    sent = []

    def make(region, **config):
        session = botocore.session.get_session()
        client = session.create_client(
            "s3", region_name=region, aws_access_key_id=BASE[0], aws_secret_access_key=BASE[1],
            aws_session_token=BASE[2], config=Config(**config))

        def before_send(request, **_):
            sent.append(request)
            # Far ahead: botocore's identity cache reads the real clock.
            expiration = "2099-01-01T00:00:00Z"
            body = SESSION_XML.format(*SESSION, expiration).encode() \
                if request.url.endswith("?session") else b""
            return AWSResponse(request.url, 200, {}, _Raw(body))

        client.meta.events.register("before-send.s3", before_send)
        return client

    return make, sent


def _headers(request) -> dict:
    return {k.lower(): (v.decode() if isinstance(v, bytes) else v)
            for k, v in request.headers.items()}


@pytest.mark.parametrize("bucket, region", BUCKETS)
@pytest.mark.parametrize("config", [{}, {"use_fips_endpoint": True}, {"use_dualstack_endpoint": True}])
def test_zonal_endpoints_and_create_session_equal_botocore(botocore_client, bucket, region, config):
    if region.startswith("cn-") and config.get("use_fips_endpoint"):
        pytest.skip("no FIPS in the China partition")  # botocore refuses it too
    make, sent = botocore_client
    make(region, **config).get_object(Bucket=bucket, Key="a b/c.txt")
    create, get = sent
    fips, dualstack = bool(config.get("use_fips_endpoint")), bool(config.get("use_dualstack_endpoint"))
    root = zonal_endpoint(bucket, region, fips=fips, dualstack=dualstack)
    assert create.url == root + "?session"
    assert get.url == root + "a%20b/c.txt"
    assert root.split(".")[1] == ("s3express-fips-" if fips else "s3express-") + \
        directory_bucket_zone(bucket)
    if not fips:
        assert bucket_url(bucket, region, dualstack=dualstack) == root
    # CreateSession: the account's credentials, signing name s3express, X-Amz-Security-Token.
    # botocore signs CreateSession through awscrt when it is installed, with its own clock:
    # the same timestamp is the one it sent.
    theirs = _headers(create)
    ours = create_session_request(Credentials(*BASE), region, bucket, fips=fips,
                                  dualstack=dualstack, timestamp=theirs["x-amz-date"])
    assert ours.url.partition("?")[0] == create.url.partition("?")[0]
    assert ours.headers["Authorization"] == theirs["authorization"]
    assert ours.headers["X-Amz-Security-Token"] == theirs["x-amz-security-token"] == BASE[2]
    assert "/s3express/aws4_request" in ours.headers["Authorization"]


def test_session_signed_requests_equal_the_botocore_clients(botocore_client):
    make, sent = botocore_client
    bucket, region = BUCKETS[0]
    client = make(region)
    client.get_object(Bucket=bucket, Key="photos/2024/img 1.jpg")
    _create, get = sent
    sessions = S3ExpressSessions(Credentials(*BASE), region,
                                 lambda signed: (200, SESSION_XML.format(
                                     *SESSION, "2026-12-04T12:05:00Z").encode()),
                                 clock=lambda: EPOCH)
    theirs = _headers(get)
    ours = sessions.sign("GET", get.url, {"x-amz-checksum-mode": "ENABLED"}, timestamp=WHEN)
    assert ours.headers["Authorization"] == theirs["authorization"]
    assert ours.headers["x-amz-s3session-token"] == theirs["x-amz-s3session-token"] == SESSION[2]
    assert "X-Amz-Security-Token" not in ours.headers and "x-amz-security-token" not in theirs
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "photos/2024/img 1.jpg"}, ExpiresIn=300)
    presigned = sessions.presign("GET", get.url, expires_in=300, timestamp=WHEN)
    assert _same_url(presigned, url)


def _same_url(a: str, b: str) -> bool:
    """The same target and the same parameters (botocore orders them otherwise)."""
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa[:3] == pb[:3]
            and sorted(parse_qsl(pa.query, keep_blank_values=True))
            == sorted(parse_qsl(pb.query, keep_blank_values=True)))


def _random_request(rng: random.Random):
    bucket, region = rng.choice(BUCKETS)
    key = "".join(rng.choice(["a", "/", " ", "+", "é", "%25", "~", "=", "&"])
                  for _ in range(rng.randrange(1, 20)))
    key = key.replace("&", "%26")
    root = zonal_endpoint(bucket, region)
    query = rng.choice(["", "?versionId=3", "?partNumber=1&uploadId=a%2Bb", "?x-id=GetObject"])
    headers = {}
    for name in rng.sample(["x-amz-meta-a", "content-type", "x-amz-checksum-mode", "range",
                            "x-amz-storage-class"], rng.randrange(0, 4)):
        headers[name] = rng.choice(["v", "text/plain", "bytes=0-9", " a  b "])
    return bucket, region, rng.choice(["GET", "PUT", "HEAD", "DELETE"]), root + key + query, headers


def test_session_signing_equals_s3expressauth_for_random_requests():
    rng = random.Random(2807)
    session = Credentials(*SESSION, WHEN + datetime.timedelta(minutes=5))
    for n in range(300):
        bucket, region, method, url, headers = _random_request(rng)
        sessions = S3ExpressSessions(Credentials(*BASE), region, clock=lambda: EPOCH)
        sessions._entry(bucket)[0]._store(session)  # the session CreateSession would give
        ours = sessions.sign(method, url, headers, b"body" if method == "PUT" else None,
                             timestamp=WHEN)
        request = AWSRequest(method, ours.url, headers=dict(headers),
                             data=b"body" if method == "PUT" else b"")
        request.context["timestamp"] = WHEN.strftime("%Y%m%dT%H%M%SZ")
        auth = S3ExpressAuth(BotoCredentials(*SESSION), "s3express", region, identity_cache=None)
        auth._current_datetime = lambda: WHEN.replace(tzinfo=None)
        original = botocore.auth.get_current_datetime
        botocore.auth.get_current_datetime = lambda: WHEN.replace(tzinfo=None)
        try:
            auth.add_auth(request)
            query_auth = S3ExpressQueryAuth(BotoCredentials(*SESSION), "s3express", region,
                                            identity_cache=None, expires=300)
            presign_request = AWSRequest(method, ours.url)
            query_auth.add_auth(presign_request)
        finally:
            botocore.auth.get_current_datetime = original
        assert ours.headers["Authorization"] == request.headers["Authorization"], (n, url)
        assert request.headers["x-amz-s3session-token"] == SESSION[2]
        presigned = sessions.presign(method, ours.url, timestamp=WHEN)
        assert _same_url(presigned, presign_request.url), (n, url)


# -- sessions from a real server -----------------------------------------------------------

class _SessionServer:
    """CreateSession on 127.0.0.1: checks each request's SigV4 signature with fastsig's
    Verifier (the account's credentials), answers a new session valid for 300 s of ``clock``."""

    def __init__(self, clock):
        self.clock = clock
        self.calls = []
        verifier = Verifier({BASE[0]: Credentials(*BASE)}.get, clock=lambda: self.clock[0])
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                try:
                    verified = verifier.verify("GET", self.path, list(self.headers.items()))
                except Exception as exc:  # the answer says why
                    body = f"<Error><Code>{getattr(exc, 'code', 'X')}</Code></Error>".encode()
                    self.send_response(403)
                else:
                    n = len(server.calls)
                    server.calls.append((self.path, verified.service))
                    expiration = datetime.datetime.fromtimestamp(
                        server.clock[0] + 300, datetime.timezone.utc)
                    body = SESSION_XML.format(f"ASIA{n}", f"secret{n}", f"token{n}",
                                              expiration.isoformat()).encode()
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def session_server():
    clock = [float(EPOCH)]
    server = _SessionServer(clock)
    yield server, clock
    server.close()


def test_sessions_are_cached_per_bucket_and_refreshed_before_they_expire(session_server):
    server, clock = session_server
    sessions = S3ExpressSessions(Credentials(*BASE), "us-west-2", endpoint_url=server.url,
                                 clock=lambda: clock[0])
    a, b = "aa--usw2-az1--x-s3", "bb--usw2-az1--x-s3"
    first = sessions.resolve(a)
    assert first.access_key_id == "ASIA0" and sessions.resolve(a) is first
    assert sessions.resolve(b).access_key_id == "ASIA1"
    assert server.calls == [(f"/{a}/?session=", "s3express"), (f"/{b}/?session=", "s3express")]
    clock[0] += 200  # 100 s left: still the same session
    assert sessions.resolve(a) is first
    clock[0] += 60  # 40 s left, inside the 45 s before expiry: a new session
    assert sessions.resolve(a).access_key_id == "ASIA2"
    signed = sessions.sign("GET", f"{server.url}/{a}/key", bucket=a, timestamp=int(clock[0]))
    assert signed.headers["x-amz-s3session-token"] == "token2"
    assert "Credential=ASIA2/" in signed.headers["Authorization"]
    # One bucket remembered: the other's session is fetched again.
    small = S3ExpressSessions(Credentials(*BASE), "us-west-2", endpoint_url=server.url,
                              clock=lambda: clock[0], max_buckets=1)
    small.resolve(a), small.resolve(b), small.resolve(a)
    assert len(server.calls) == 6


def test_a_refused_create_session_says_why_without_secrets(session_server):
    server, clock = session_server
    wrong = Credentials(BASE[0], "not-the-secret", BASE[2])
    provider = S3ExpressSessionProvider(wrong, "us-west-2", "aa--usw2-az1--x-s3",
                                        endpoint_url=server.url, clock=lambda: clock[0])
    with pytest.raises(CredentialsError) as refused:
        provider.resolve()
    message = str(refused.value)
    assert "HTTP 403 SignatureDoesNotMatch" in message
    assert "not-the-secret" not in message and BASE[2] not in message


def test_urls_that_are_not_zonal_need_a_bucket():
    sessions = S3ExpressSessions(Credentials(*BASE), "us-west-2")
    from fastsig import InvalidRequestError
    with pytest.raises(InvalidRequestError):
        sessions.sign("GET", "https://bucket.s3.us-west-2.amazonaws.com/k")
    with pytest.raises(InvalidRequestError):
        zonal_endpoint("plain-bucket", "us-west-2")
