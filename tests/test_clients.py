"""The HTTP client integrations (requests, httpx sync and async, aiohttp, urllib3) against real
servers on 127.0.0.1: moto with authentication enforced, the verifier's ASGI middleware under
uvicorn, and a scripted server that checks every signature for retries, clock corrections and
redirects."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import uuid
from typing import Any, NamedTuple

import pytest

from fastsig import (
    Credentials,
    PayloadError,
    RedirectRefusedError,
    RetryPolicy,
    Signer,
    Verifier,
    infer_scope,
)
from fastsig._integration import aws_redirects, error_code, retry_after
from fastsig.middleware import ASGIMiddleware

from .servers import Reply, SigningServer, serve_asgi

requests = pytest.importorskip("requests")
httpx = pytest.importorskip("httpx")
aiohttp = pytest.importorskip("aiohttp")
urllib3 = pytest.importorskip("urllib3")

import fastsig.aiohttp  # noqa: E402
import fastsig.httpx  # noqa: E402
import fastsig.requests  # noqa: E402
import fastsig.urllib3  # noqa: E402

CLIENTS = ["requests", "httpx", "httpx-async", "aiohttp", "urllib3"]
KEY = Credentials("AKIDCLIENTS", "clients/secret+key")
TEMP = Credentials("ASIACLIENTS", "temporary/secret", "session-token-value")
KEYS = {c.access_key_id: c for c in (KEY, TEMP)}
SCOPE = ("us-east-1", "execute-api")


class Answer(NamedTuple):
    status: int
    headers: Any
    body: bytes


def make_auth(kind: str, *args: Any, sleep=None, follow_redirects=True, **options: Any):
    """The integration's auth object (for urllib3, its pool manager). ``sleep`` records the
    waits instead of waiting; async clients get it as a coroutine."""
    if sleep is not None:
        async def async_sleep(delay):
            sleep(delay)

        name = {"httpx-async": "async_sleep"}.get(kind, "sleep")
        options[name] = async_sleep if kind in ("httpx-async", "aiohttp") else sleep
    if kind == "requests":
        return fastsig.requests.AWSAuth(*args, follow_redirects=follow_redirects, **options)
    if kind.startswith("httpx"):
        return fastsig.httpx.AWSAuth(*args, follow_redirects=follow_redirects, **options)
    if kind == "aiohttp":
        return fastsig.aiohttp.AWSAuth(*args, **options)
    return fastsig.urllib3.AWSPoolManager(*args, **options)


def send(kind: str, auth: Any, method: str, url: str, headers=None, body=None,
         **client_options: Any) -> Answer:
    """One request through the client ``kind`` with ``auth``; ``body`` is bytes or a file."""
    if kind == "requests":
        r = requests.request(method, url, headers=headers, data=body, auth=auth, timeout=30)
        return Answer(r.status_code, r.headers, r.content)
    if kind == "httpx":
        with httpx.Client(auth=auth, timeout=30, **client_options) as client:
            r = client.request(method, url, headers=headers, content=body)
            return Answer(r.status_code, r.headers, r.content)
    if kind == "httpx-async":
        async def chunks(stream):  # AsyncClient streams async iterables only
            for chunk in iter(lambda: stream.read(65536), b""):
                yield chunk

        async def go():
            content = chunks(body) if hasattr(body, "read") else body
            async with httpx.AsyncClient(auth=auth, timeout=30, **client_options) as client:
                r = await client.request(method, url, headers=headers, content=content)
                return Answer(r.status_code, r.headers, r.content)

        return asyncio.run(go())
    if kind == "aiohttp":
        async def go():
            async with aiohttp.ClientSession(middlewares=(auth,)) as session:
                async with session.request(method, url, headers=headers, data=body,
                                           **client_options) as r:
                    return Answer(r.status, r.headers, await r.read())

        return asyncio.run(go())
    r = auth.request(method, url, headers=headers, body=body, timeout=30, **client_options)
    return Answer(r.status, r.headers, r.data)


@pytest.fixture(params=CLIENTS)
def client(request):
    return request.param


# ---------------------------------------------------------------------------------------------
# moto with authentication enforced

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
# (service, headers, body, a piece of a successful answer)
MOTO_CALLS = {
    "sts": (FORM, b"Action=GetCallerIdentity&Version=2011-06-15", b"<Arn>"),
    "sqs": ({"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ListQueues"},
            b"{}", b"{"),
    "dynamodb": ({"Content-Type": "application/x-amz-json-1.0",
                  "X-Amz-Target": "DynamoDB_20120810.ListTables"}, b"{}", b"TableNames"),
}


@pytest.mark.server
@pytest.mark.parametrize("service", sorted(MOTO_CALLS))
def test_moto_api_calls(client, service, moto):
    endpoint, creds = moto
    headers, body, expected = MOTO_CALLS[service]
    answer = send(client, make_auth(client, creds, "us-east-1", service), "POST",
                  endpoint + "/", headers, body)
    assert answer.status == 200, answer.body[:300]
    assert expected in answer.body
    wrong = Credentials(creds.access_key_id, "not-the-secret")
    answer = send(client, make_auth(client, wrong, "us-east-1", service), "POST",
                  endpoint + "/", headers, body)
    assert answer.status == 403, answer.body[:300]


@pytest.mark.server
def test_moto_s3_streamed_file(client, moto, tmp_path, backend):
    endpoint, creds = moto
    bucket = f"clients-{client}-{backend}-{uuid.uuid4().hex[:6]}".replace("-async", "a")
    auth = make_auth(client, creds, "us-east-1", "s3")
    assert send(client, auth, "PUT", f"{endpoint}/{bucket}").status == 200
    data = os.urandom(300_000)
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    # moto checks '+' in keys differently from S3 and botocore, so the key has none.
    url = f"{endpoint}/{bucket}/dir/a%20key~1.bin"
    with open(path, "rb") as stream:
        answer = send(client, auth, "PUT", url, body=stream)
    assert answer.status == 200, answer.body[:300]
    answer = send(client, auth, "GET", url)
    assert answer.status == 200 and answer.body == data
    wrong = make_auth(client, Credentials(creds.access_key_id, "not-the-secret"), "us-east-1", "s3")
    assert send(client, wrong, "GET", url).status == 403


# ---------------------------------------------------------------------------------------------
# The verifier's ASGI app


async def echo_app(scope, receive, send):
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    verified = scope["fastsig.verified"]
    out = json.dumps({"key": verified.access_key_id, "service": verified.service,
                      "sha256": hashlib.sha256(body).hexdigest()}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": out})


@pytest.fixture(scope="module")
def verifier_app():
    with serve_asgi(ASGIMiddleware(echo_app, Verifier(KEYS.get)), lifespan="off") as url:
        yield url


@pytest.mark.server
def test_verifier_app(client, verifier_app):
    body = json.dumps({"items": ["a b", "ü"]}).encode()
    url = f"{verifier_app}/prod/items/a%20b?tag=x&tag=&empty"
    answer = send(client, make_auth(client, TEMP, *SCOPE), "POST", url,
                  {"Content-Type": "application/json", "X-Custom": "spaced   value"}, body)
    assert answer.status == 200, answer.body
    assert json.loads(answer.body) == {"key": TEMP.access_key_id, "service": "execute-api",
                                       "sha256": hashlib.sha256(body).hexdigest()}
    wrong = Credentials(TEMP.access_key_id, "not-the-secret", TEMP.session_token)
    assert send(client, make_auth(client, wrong, *SCOPE), "POST", url, None, body).status == 403


@pytest.mark.server
def test_sigv4a_through_every_client(client, verifier_app):
    pytest.importorskip("cryptography")
    auth = make_auth(client, TEMP, *SCOPE, algorithm="sigv4a", region_set=["us-*"])
    answer = send(client, auth, "PUT", f"{verifier_app}/multi/region?x=1", None, b"payload")
    assert answer.status == 200, answer.body
    assert json.loads(answer.body)["sha256"] == hashlib.sha256(b"payload").hexdigest()


@pytest.mark.server
def test_a_thousand_concurrent_async_requests(verifier_app):
    auth = fastsig.httpx.AWSAuth(Signer(TEMP, *SCOPE))

    async def go():
        # httpcore's pool slows down with many connections; 1,000 requests wait on 10.
        limits = httpx.Limits(max_connections=10)
        async with httpx.AsyncClient(auth=auth, timeout=60, limits=limits) as http:
            return await asyncio.gather(*(
                http.post(f"{verifier_app}/n/{n}?q={n}", content=str(n).encode())
                for n in range(1000)))

    answers = asyncio.run(go())
    assert [a.status_code for a in answers] == [200] * 1000
    assert {a.json()["sha256"] for a in answers} == {
        hashlib.sha256(str(n).encode()).hexdigest() for n in range(1000)}


# ---------------------------------------------------------------------------------------------
# Retries and clock corrections


def recorder():
    """A sleep that waits for nothing; it records each delay and moves the signing clock on
    by it plus a second, so every attempt gets its own X-Amz-Date and signature."""
    sleeps, holder = [], []

    def sleep(delay):
        sleeps.append(delay)
        holder[0].clock_offset += delay + 1

    return sleeps, holder, sleep


def retrying_auth(client, policy):
    sleeps, holder, sleep = recorder()
    auth = make_auth(client, TEMP, *SCOPE, retry=policy, sleep=sleep)
    holder.append(auth)
    return auth, sleeps


THROTTLED = b"<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>"


@pytest.mark.server
def test_retries_until_success_with_fresh_signatures(client):
    policy = RetryPolicy(attempts=6, base=1.0, cap=4.0)
    with SigningServer(Verifier(KEYS.get)) as server:
        server.script("/flaky", Reply(500), Reply(503), Reply(429, (("Retry-After", "3"),)),
                      Reply(429), Reply(400, (), THROTTLED))
        auth, sleeps = retrying_auth(client, policy)
        answer = send(client, auth, "PUT", server.url + "/flaky", body=b"payload")
    assert answer.status == 200
    assert len(server.received) == 6
    assert [r.verified for r in server.received] == [None] * 6
    assert all(r.body == b"payload" for r in server.received)
    dates = [r.headers["X-Amz-Date"] for r in server.received]
    assert dates == sorted(dates) and len(set(dates)) == 6
    assert len({r.headers["Authorization"] for r in server.received}) == 6
    # Full jitter under 1, 2, 4, 4 (the cap), 4; the third wait honours Retry-After: 3.
    assert len(sleeps) == 5
    for n, delay in enumerate(sleeps, 1):
        assert 0 <= delay <= min(policy.cap, policy.base * 2 ** (n - 1))
    assert sleeps[2] >= 3
    assert sum(sleeps) <= (policy.attempts - 1) * policy.cap


@pytest.mark.server
@pytest.mark.parametrize("kind", ["requests", "urllib3"])
def test_a_file_body_is_hashed_in_place_and_rewound_for_each_attempt(kind):
    import io

    with SigningServer(Verifier(KEYS.get)) as server:
        server.script("/file", Reply(503), Reply(500))
        auth, sleeps = retrying_auth(kind, RetryPolicy(attempts=3, base=0.01, cap=0.1))
        stream = io.BytesIO(b"skipped|the body")
        stream.seek(8)
        assert send(kind, auth, "PUT", server.url + "/file", None, stream).status == 200
    assert [(r.body, r.verified) for r in server.received] == [(b"the body", None)] * 3


@pytest.mark.server
@pytest.mark.parametrize("status", [400, 403, 404])
def test_other_client_errors_come_back_at_once(client, status):
    with SigningServer(Verifier(KEYS.get)) as server:
        server.script("/bad", Reply(status, (), b"<Error><Code>ValidationError</Code></Error>"))
        auth, sleeps = retrying_auth(client, RetryPolicy(attempts=5))
        assert send(client, auth, "GET", server.url + "/bad").status == status
    assert len(server.received) == 1 and sleeps == []


@pytest.mark.server
def test_gives_up_after_the_last_attempt_and_on_a_long_retry_after(client):
    with SigningServer(Verifier(KEYS.get)) as server:
        server.script("/down", *[Reply(503)] * 4)
        server.script("/later", Reply(503, (("Retry-After", "3600"),)))
        auth, sleeps = retrying_auth(client, RetryPolicy(attempts=3, base=0.5, cap=10))
        assert send(client, auth, "GET", server.url + "/down").status == 503
        assert send(client, auth, "GET", server.url + "/later").status == 503
    assert len(server.received) == 4 and len(sleeps) == 2


@pytest.mark.server
def test_without_a_policy_nothing_is_retried(client):
    with SigningServer() as server:
        server.script("/once", Reply(500))
        assert send(client, make_auth(client, TEMP, *SCOPE), "GET", server.url + "/once").status == 500
    assert len(server.received) == 1


@pytest.mark.server
def test_clock_skew_is_corrected_from_the_date_header(client):
    ahead = 2 * 3600
    clock = lambda: __import__("time").time() + ahead  # noqa: E731
    with SigningServer(Verifier(KEYS.get, clock=clock), refuse=True, clock=clock) as server:
        auth = make_auth(client, TEMP, *SCOPE)
        assert send(client, auth, "GET", server.url + "/skewed").status == 200
        assert [r.verified for r in server.received] == ["RequestTimeTooSkewed", None]
        assert abs(auth.clock_offset - ahead) < 5
        # Corrected once for all: the next request is right the first time.
        assert send(client, auth, "GET", server.url + "/skewed").status == 200
        assert len(server.received) == 3


CONNECTION_FAILURES = {
    "requests": requests.ConnectionError,
    "httpx": httpx.ConnectError,
    "httpx-async": httpx.ConnectError,
    "aiohttp": aiohttp.ClientConnectionError,
    "urllib3": urllib3.exceptions.NewConnectionError,
}


@pytest.mark.server
@pytest.mark.parametrize("kind", ["requests", "urllib3"])
def test_a_streamed_body_is_not_sent_again_after_a_clock_correction(kind):
    ahead = 2 * 3600
    clock = lambda: __import__("time").time() + ahead  # noqa: E731
    with SigningServer(Verifier(KEYS.get, clock=clock), refuse=True, clock=clock) as server:
        auth = make_auth(kind, TEMP, "us-east-1", "s3")
        answer = send(kind, auth, "PUT", server.url + "/once", None, iter([b"one ", b"shot"]))
    assert answer.status == 403 and len(server.received) == 1


@pytest.mark.server
def test_connection_failures(client):
    with SigningServer() as server:
        url = server.url  # closed at once: nothing listens there any more
    auth, sleeps = retrying_auth(client, RetryPolicy(attempts=3, base=0.01, cap=0.05))
    with pytest.raises(CONNECTION_FAILURES[client]):
        send(client, auth, "GET", url + "/gone")
    # aiohttp and urllib3 send through the integration, which tries again; requests and httpx
    # raise a first attempt's failure before any auth object sees it (their transports have
    # retries of their own for that).
    assert len(sleeps) == (2 if client in ("aiohttp", "urllib3") else 0)


# ---------------------------------------------------------------------------------------------
# Redirects


@pytest.fixture
def two_hosts():
    """(A, B): A redirects; B, reached as ``localhost`` (another host name), verifies."""
    with SigningServer() as a, SigningServer(Verifier(KEYS.get), refuse=True) as b:
        yield a, b


def redirect(a, b, status=307, path="/landing?x=1"):
    a.script("/start", Reply(status, (("Location", f"http://localhost:{b.port}{path}"),)))


@pytest.mark.server
@pytest.mark.parametrize("status", [307, 308])
def test_redirect_to_another_host_is_signed_for_it(client, two_hosts, status):
    a, b = two_hosts
    redirect(a, b, status)
    auth = make_auth(client, TEMP, *SCOPE, redirect_policy=lambda old, new: True)
    answer = send(client, auth, "POST", a.url + "/start", {"Content-Type": "text/plain"}, b"body")
    assert answer.status == 200, answer.body
    (landed,) = b.received
    assert landed.verified is None
    assert landed.method == "POST" and landed.body == b"body"
    assert landed.headers["Host"] == f"localhost:{b.port}"


@pytest.mark.server
def test_see_other_becomes_a_signed_get(client, two_hosts):
    a, b = two_hosts
    redirect(a, b, 303)
    auth = make_auth(client, TEMP, *SCOPE, redirect_policy=lambda old, new: True)
    assert send(client, auth, "POST", a.url + "/start", None, b"body").status == 200
    (landed,) = b.received
    assert (landed.method, landed.body, landed.verified) == ("GET", b"", None)


@pytest.mark.server
def test_redirect_outside_the_policy_is_refused(client, two_hosts):
    a, b = two_hosts
    redirect(a, b)
    with pytest.raises(RedirectRefusedError, match="refused"):
        send(client, make_auth(client, TEMP, *SCOPE), "GET", a.url + "/start")
    assert b.received == []


@pytest.mark.server
@pytest.mark.parametrize("kind", ["httpx", "httpx-async"])
def test_httpx_client_following_a_redirect_itself_is_stopped(kind, two_hosts):
    a, b = two_hosts
    redirect(a, b)
    auth = make_auth(kind, TEMP, *SCOPE, follow_redirects=False)
    with pytest.raises(RedirectRefusedError, match="followed a redirect itself"):
        send(kind, auth, "GET", a.url + "/start", follow_redirects=True)
    assert b.received == []


@pytest.mark.server
def test_requests_follows_unsigned_when_told_not_to_follow(two_hosts):
    a, b = two_hosts
    redirect(a, b)
    auth = make_auth("requests", TEMP, *SCOPE, follow_redirects=False)
    assert send("requests", auth, "GET", a.url + "/start").status == 403
    (landed,) = b.received
    assert landed.verified == "MissingAuthenticationToken"
    assert not {"Authorization", "X-Amz-Security-Token", "X-Amz-Date"} & set(landed.headers)


@pytest.mark.server
@pytest.mark.parametrize("kind", ["requests", "httpx", "urllib3"])
def test_a_streamed_body_is_not_replayed_into_a_redirect(kind, two_hosts):
    a, b = two_hosts
    redirect(a, b)
    auth = make_auth(kind, TEMP, "us-east-1", "s3", redirect_policy=lambda old, new: True)
    chunks = iter([b"one ", b"shot"])
    body = chunks if kind != "httpx" else (c for c in chunks)
    with pytest.raises(RedirectRefusedError, match="cannot be replayed"):
        send(kind, auth, "PUT", a.url + "/start", None, body)
    assert b.received == []


# ---------------------------------------------------------------------------------------------
# The shared rules


@pytest.mark.parametrize("host, scope", [
    ("abc123.execute-api.eu-west-1.amazonaws.com", ("execute-api", "eu-west-1")),
    ("sqs.ap-southeast-2.amazonaws.com", ("sqs", "ap-southeast-2")),
    ("dynamodb.us-gov-west-1.amazonaws.com", ("dynamodb", "us-gov-west-1")),
    ("sts-fips.us-east-2.amazonaws.com", ("sts", "us-east-2")),
    ("sts.amazonaws.com", ("sts", "us-east-1")),
    ("iam.amazonaws.com", ("iam", "us-east-1")),
    ("iam.cn-north-1.amazonaws.com.cn", ("iam", "cn-north-1")),
    ("dynamodb.eu-west-3.api.aws", ("dynamodb", "eu-west-3")),
    ("runtime.sagemaker.us-west-2.amazonaws.com", ("sagemaker", "us-west-2")),
    ("email.eu-central-1.amazonaws.com", ("ses", "eu-central-1")),
    ("s3.amazonaws.com", ("s3", "us-east-1")),
    ("bucket.s3.amazonaws.com", ("s3", "us-east-1")),
    ("my.dotted.bucket.s3.eu-west-1.amazonaws.com", ("s3", "eu-west-1")),
    ("bucket.s3-eu-west-1.amazonaws.com", ("s3", "eu-west-1")),
    ("bucket.s3.dualstack.us-west-2.amazonaws.com", ("s3", "us-west-2")),
    ("bucket.s3-fips.us-east-1.amazonaws.com", ("s3", "us-east-1")),
    ("ap-123456789012.s3-accesspoint.us-west-2.amazonaws.com", ("s3", "us-west-2")),
    ("123456789012.s3-control.us-west-2.amazonaws.com", ("s3", "us-west-2")),
    ("bucket.s3-accelerate.amazonaws.com", ("s3", None)),
    ("search-logs-abc123.eu-central-1.es.amazonaws.com", ("es", "eu-central-1")),
    ("vpc-logs-abc.us-east-1.es.amazonaws.com", ("es", "us-east-1")),
    ("abc123.us-east-1.aoss.amazonaws.com", ("aoss", "us-east-1")),
    ("fn123.lambda-url.eu-west-1.on.aws", ("lambda", "eu-west-1")),
    ("SQS.US-EAST-1.AMAZONAWS.COM.", ("sqs", "us-east-1")),
    ("localhost", (None, None)),
    ("127.0.0.1", (None, None)),
    ("api.example.com", (None, None)),
    ("amazonaws.com.evil.example", (None, None)),
])
def test_infer_scope(host, scope):
    assert infer_scope(host) == scope


def test_the_scope_comes_from_the_host_unless_given():
    auth = fastsig.requests.AWSAuth(KEY)
    assert auth.signer_for("https://sqs.eu-north-1.amazonaws.com/").region == "eu-north-1"
    pinned = fastsig.requests.AWSAuth(KEY, region="us-west-1")
    signer = pinned.signer_for("https://sqs.eu-north-1.amazonaws.com/")
    assert (signer.region, signer.service) == ("us-west-1", "sqs")
    with pytest.raises(fastsig.ConfigurationError, match="service"):
        auth.signer_for("http://127.0.0.1:8000/")
    with pytest.raises(fastsig.ConfigurationError, match="Signer or credentials"):
        fastsig.requests.AWSAuth(Signer(KEY, *SCOPE), "us-east-1")
    with pytest.raises(fastsig.ConfigurationError, match="leaves redirects to the client"):
        fastsig.aiohttp.AWSAuth(KEY, follow_redirects=True)
    with pytest.raises(fastsig.ConfigurationError, match="RetryPolicy"):
        fastsig.httpx.AWSAuth(KEY, retry=3)


@pytest.mark.parametrize("old, new, allowed", [
    ("https://a.example/x", "https://a.example/y", True),
    ("https://a.example/x", "http://a.example/y", False),
    ("https://a.example/x", "https://b.example/y", False),
    ("https://b.s3.amazonaws.com/k", "https://b.s3.eu-west-1.amazonaws.com/k", True),
    ("https://b.s3.amazonaws.com/k", "https://b.s3.amazonaws.com.evil.example/k", False),
    ("https://sqs.cn-north-1.amazonaws.com.cn/", "https://sqs.us-east-1.amazonaws.com/", False),
])
def test_the_default_redirect_policy(old, new, allowed):
    assert aws_redirects(old, new) is allowed


@pytest.mark.parametrize("headers, body, code", [
    ({"x-amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/"}, b"", "ThrottlingException"),
    ({}, b'{"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}',
     "ProvisionedThroughputExceededException"),
    ({}, b"<Error><Code>SlowDown</Code><Message>x</Message></Error>", "SlowDown"),
    ({}, b"{not json", None),
    ({}, b"", None),
])
def test_error_codes(headers, body, code):
    assert error_code(headers, body) == code


def test_retry_after():
    assert retry_after("3", 0) == 3.0
    assert retry_after("Thu, 01 Jan 1970 00:00:30 GMT", 10.0) == 20.0
    assert retry_after("soon", 0) is None and retry_after(None, 0) is None


@pytest.mark.parametrize("kind", ["requests", "urllib3"])
def test_a_one_shot_stream_to_a_service_that_needs_its_hash_is_refused(kind):
    auth = make_auth(kind, KEY, *SCOPE)
    with pytest.raises(PayloadError, match="streamed body"):
        send(kind, auth, "PUT", "http://127.0.0.1:9/never", None, iter([b"data"]))


def test_secrets_stay_out_of_reprs():
    for kind in CLIENTS:
        text = repr(make_auth(kind, TEMP, *SCOPE)) + repr(make_auth(kind, Signer(TEMP, *SCOPE)))
        assert TEMP.secret_access_key not in text and TEMP.session_token not in text


def test_importing_fastsig_imports_no_optional_dependency():
    code = ("import sys, fastsig; print(sorted({'requests', 'httpx', 'aiohttp', 'urllib3', "
            "'cryptography'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
