"""The WSGI and ASGI middleware behind real servers on 127.0.0.1 (waitress, wsgiref, uvicorn),
called by boto3, by ``requests`` with fastsig's signatures, and with presigned URLs."""

from __future__ import annotations

import asyncio
import io
import hashlib
import json
import socket
import threading
import time
import wsgiref.simple_server

import pytest

from fastsig import Credentials, Signer, Verifier
from fastsig.middleware import ASGIMiddleware, WSGIMiddleware

from .servers import serve_asgi

requests = pytest.importorskip("requests")
pytestmark = pytest.mark.server

CREDS = Credentials("AKIDMIDDLEWARE", "middleware/secret+key")
TEMP = Credentials("ASIAMIDDLEWARE", "temporary/secret", "session-token-value")
KEYS = {c.access_key_id: c for c in (CREDS, TEMP)}


def _answer(verified, body: bytes) -> bytes:
    return json.dumps({
        "key": verified.access_key_id,
        "service": verified.service,
        "presigned": verified.presigned,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "body_length": len(body),
    }).encode()


def _response(method, answer):
    """The answer goes in a header (boto3 parses a PutObject body as an S3 error) and, for
    a GET, in the body too."""
    body = answer if method == "GET" else b""
    return body, [("content-type", "application/json"), ("x-answer", answer.decode()),
                  ("content-length", str(len(body)))]


def wsgi_app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    out, headers = _response(environ["REQUEST_METHOD"],
                             _answer(environ["fastsig.verified"], body))
    start_response("200 OK", headers)
    return [out]


async def asgi_app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    out, headers = _response(scope["method"], _answer(scope["fastsig.verified"], body))
    await send({"type": "http.response.start", "status": 200,
                "headers": [(n.encode(), v.encode()) for n, v in headers]})
    await send({"type": "http.response.body", "body": out})


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module", params=["waitress", "wsgiref", "uvicorn"])
def server(request):
    """(base URL, kind) of a real server on 127.0.0.1 with the middleware in front."""
    kind = request.param
    verifier = Verifier(KEYS.get)
    if kind == "waitress":
        waitress = pytest.importorskip("waitress")
        srv = waitress.create_server(WSGIMiddleware(wsgi_app, verifier, memory_limit=4096),
                                     host="127.0.0.1", port=0, threads=4)
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{srv.effective_port}", kind
        srv.task_dispatcher.shutdown()
        # The loop runs while any channel is open, its wake-up trigger included.
        for channel in list(srv._map.values()):
            channel.close()
    elif kind == "wsgiref":
        srv = wsgiref.simple_server.make_server(
            "127.0.0.1", 0, WSGIMiddleware(wsgi_app, verifier), handler_class=_QuietHandler)
        thread = threading.Thread(target=srv.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{srv.server_port}", kind
        srv.shutdown()
        srv.server_close()
    else:
        pytest.importorskip("uvicorn")
        with serve_asgi(ASGIMiddleware(asgi_app, verifier, memory_limit=4096), "on") as url:
            yield url, kind
        return
    thread.join(10)


def _send(signer, method, url, headers=None, body=None):
    signed = signer.sign(method, url, headers, body)
    return requests.request(method, signed.url, headers=signed.headers, data=body, timeout=30)


def _error_code(response):
    text = response.text
    if text.startswith("{"):
        return json.loads(text)["__type"]
    return text.split("<Code>")[1].split("</Code>")[0]


@pytest.mark.parametrize("service", ["s3", "execute-api"])
@pytest.mark.parametrize("creds", [CREDS, TEMP], ids=["long-term", "temporary"])
def test_fastsig_signed_requests(server, service, creds):
    base, _ = server
    signer = Signer(creds, "us-east-1", service)
    body = b"x" * 10_000  # larger than the spool's memory limit: goes to disk
    r = _send(signer, "PUT", f"{base}/bucket/some%20key+%25.txt?versionId=1&x=a%20b", {
        "Content-Type": "text/plain", "X-Amz-Meta-Owner": "me   too  "}, body)
    assert r.status_code == 200, r.text
    answer = json.loads(r.headers["x-answer"])
    assert answer["key"] == creds.access_key_id and answer["service"] == service
    assert answer["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert _send(signer, "GET", f"{base}/b//c~d").status_code == 200  # (urllib3 drops dot segments)


def test_tampered_and_wrong_requests_get_aws_errors(server):
    base, _ = server
    signer = Signer(CREDS, "us-east-1", "s3")
    signed = signer.sign("PUT", f"{base}/bucket/key", None, b"data")
    r = requests.put(signed.url, headers=signed.headers, data=b"DATA", timeout=30)
    assert (r.status_code, _error_code(r)) == (400, "XAmzContentSHA256Mismatch")
    r = requests.put(signed.url + "?x=1", headers=signed.headers, data=b"data", timeout=30)
    assert (r.status_code, _error_code(r)) == (403, "SignatureDoesNotMatch")
    r = requests.get(f"{base}/bucket/key", timeout=30)
    assert (r.status_code, _error_code(r)) == (403, "MissingAuthenticationToken")
    stranger = Signer(Credentials("AKIDSTRANGER", "x"), "us-east-1", "s3")
    r = _send(stranger, "GET", f"{base}/bucket/key")
    assert (r.status_code, _error_code(r)) == (403, "InvalidAccessKeyId")
    old = signer.sign("GET", f"{base}/bucket/key", timestamp=time.time() - 3600)
    r = requests.get(old.url, headers=old.headers, timeout=30)
    assert (r.status_code, _error_code(r)) == (403, "RequestTimeTooSkewed")
    smuggled = dict(signed.headers, **{"X-Amz-Meta-Extra": "1"})
    r = requests.put(signed.url, headers=smuggled, data=b"data", timeout=30)
    assert (r.status_code, _error_code(r)) == (403, "AccessDenied")


def test_presigned_urls(server):
    base, _ = server
    signer = Signer(CREDS, "us-east-1", "s3")
    url = signer.presign("GET", f"{base}/bucket/photos/cat ü.jpg", expires_in=60)
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.json()["presigned"], r.text
    put = signer.presign("PUT", f"{base}/bucket/upload.bin")
    r = requests.put(put, data=b"\x00" * 5000, timeout=30)
    assert r.status_code == 200 and json.loads(r.headers["x-answer"])["body_length"] == 5000
    expired = signer.presign("GET", f"{base}/bucket/k", expires_in=1, timestamp=time.time() - 10)
    r = requests.get(expired, timeout=30)
    assert (r.status_code, _error_code(r)) == (403, "AccessDenied")
    assert "expired" in r.text
    r = requests.get(url.replace("cat", "dog"), timeout=30)
    assert (r.status_code, _error_code(r)) == (403, "SignatureDoesNotMatch")


def test_boto3_client_and_presigned_urls(server):
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    base, _ = server
    client = boto3.client(
        "s3", region_name="us-east-1", endpoint_url=base,
        aws_access_key_id=CREDS.access_key_id, aws_secret_access_key=CREDS.secret_access_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      request_checksum_calculation="when_required",
                      retries={"max_attempts": 1}),
    )
    client.put_object(Bucket="bucket", Key="dir/a b+c.txt", Body=b"hello from boto3")
    got = client.get_object(Bucket="bucket", Key="dir/a b+c.txt")
    assert json.loads(got["Body"].read())["key"] == CREDS.access_key_id
    url = client.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": "k ü"},
                                        ExpiresIn=300)
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.json()["presigned"], r.text

    wrong = boto3.client(
        "s3", region_name="us-east-1", endpoint_url=base,
        aws_access_key_id=CREDS.access_key_id, aws_secret_access_key="wrong",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}),
    )
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as info:
        wrong.get_object(Bucket="bucket", Key="k")
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_hostile_requests_get_a_clean_4xx(server):
    base, _ = server
    host = base.split("//")[1]
    signer = Signer(CREDS, "us-east-1", "s3")
    signed = signer.sign("PUT", f"{base}/bucket/key", None, b"abc")
    cases = [
        ("GET", "/k", {"Authorization": "AWS4-HMAC-SHA256 " + "C" * 60_000}, b""),
        ("GET", "/k?" + "&".join(f"p{i}=%zz" for i in range(2000)), {}, b""),
        ("GET", "/k?X-Amz-Expires=-1&X-Amz-Signature=0&X-Amz-Credential=a", {}, b""),
        ("GET", "/%ff%fe", {"Authorization": "AWS4-HMAC-SHA256 Credential=x"}, b""),
    ]
    for method, target, headers, body in cases:
        r = requests.request(method, f"{base}{target}", headers=headers, data=body, timeout=30)
        assert 400 <= r.status_code < 500, (target[:40], r.status_code, r.text[:200])
    # A body longer than its declared length, on a raw socket.
    head = "".join(f"{n}: {v}\r\n" for n, v in signed.headers.items() if n != "Content-Length")
    with socket.create_connection(("127.0.0.1", int(host.split(":")[1])), timeout=10) as sock:
        sock.sendall(f"PUT /bucket/key HTTP/1.1\r\n{head}Content-Length: 3\r\n"
                     "Connection: close\r\n\r\nabcdef".encode())
        reply = sock.recv(65536).decode("latin-1")
    assert reply.startswith("HTTP/1.") and (" 200 " in reply or " 400 " in reply)


def test_body_limit_is_enforced():
    verifier = Verifier(KEYS.get)
    app = WSGIMiddleware(wsgi_app, verifier, max_body_size=100)
    signer = Signer(CREDS, "us-east-1", "s3")
    signed = signer.sign("PUT", "http://example.com/k", None, b"y" * 200)
    import io

    environ = {
        "REQUEST_METHOD": "PUT", "PATH_INFO": "/k", "QUERY_STRING": "", "SERVER_NAME": "x",
        "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b"y" * 200),
        "CONTENT_LENGTH": "200",
    }
    for name, value in signed.headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    statuses = []
    body = b"".join(app(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["413 Payload Too Large"] and b"EntityTooLarge" in body


async def _no_body():
    return {"type": "http.request", "body": b"", "more_body": False}


def _signed_scope(query: bytes) -> dict:
    """The ASGI scope uvicorn gives a GET of /p with ``query``, header-signed by CREDS."""
    url = "http://example.com/p" + ("?" + query.decode() if query else "")
    signed = Signer(CREDS, "us-east-1", "execute-api").sign("GET", url)
    return {"type": "http", "method": "GET", "scheme": "http", "path": "/p", "raw_path": b"/p",
            "query_string": query, "headers": [(b"host", b"example.com")] + [
                (n.lower().encode(), v.encode()) for n, v in signed.headers.items()
                if n != "Host"]}


def test_asgi_json_errors_and_passthrough():
    calls = []

    async def inner(scope, receive, send):
        calls.append(scope["type"])

    app = ASGIMiddleware(inner, Verifier(KEYS.get), error_format="json")
    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b"",
             "headers": [(b"host", b"example.com")]}
    asyncio.run(app(scope, _no_body, send))
    assert sent[0]["status"] == 403
    assert json.loads(sent[1]["body"])["__type"] == "MissingAuthenticationToken"
    asyncio.run(app({"type": "lifespan"}, _no_body, send))
    assert calls == ["lifespan"]
    # A WebSocket handshake is verified: an unsigned one is closed before it is accepted.
    sent.clear()

    async def connect():
        return {"type": "websocket.connect"}

    asyncio.run(app({"type": "websocket", "path": "/", "headers": [(b"host", b"h")]},
                    connect, send))
    assert calls == ["lifespan"] and sent == [{"type": "websocket.close", "code": 1008}]


def test_asgi_fast_path_follows_the_backend():
    """A middleware made under one backend and called under another verifies with the one in
    use: the old fast path refuses every request, and the general path takes up the new."""
    from fastsig import _backend

    seen = []

    async def inner(scope, receive, send):
        seen.append(scope["fastsig.verified"])

    async def send(message):
        raise AssertionError(message)

    scope = _signed_scope(b"q=1")
    names = sorted(_backend.available)
    for made_under in names:
        with _backend.using(made_under):
            app = ASGIMiddleware(inner, Verifier(KEYS.get))
        for used in names + names[::-1]:
            with _backend.using(used):
                for _ in range(2):
                    asyncio.run(app(dict(scope), _no_body, send))
                assert app._kernels is _backend.kernels
    assert len(seen) == 2 * 2 * len(names) ** 2
    assert {(v.access_key_id, v.service, v.presigned) for v in seen} == {
        ("AKIDMIDDLEWARE", "execute-api", False)}


def test_asgi_entry_reads_as_a_coroutine_function_and_acts_as_a_call():
    """Servers tell ASGI 3 by ``app.__call__`` being a coroutine function. With the compiled
    core, a call takes its C entry instead; both must treat every request alike."""
    import inspect
    import sys

    seen = []

    async def inner(scope, receive, send):
        verified = scope.get("fastsig.verified")
        seen.append(scope["type"] if verified is None else (verified.access_key_id, verified.presigned))

    async def send(message):
        seen.append((message["type"], message.get("status"), message.get("body")))

    app = ASGIMiddleware(inner, Verifier(KEYS.get))
    assert inspect.iscoroutinefunction(app.__call__)
    if sys.version_info < (3, 14):  # what servers of those Pythons ask
        assert asyncio.iscoroutinefunction(app.__call__)

    signer = Signer(CREDS, "us-east-1", "execute-api")
    header_signed = _signed_scope(b"q=1")
    presigned_query = signer.presign("GET", "http://example.com/p?q=1").split("?", 1)[1]
    presigned = {**header_signed, "headers": [(b"host", b"example.com")],
                 "query_string": presigned_query.encode()}
    tampered = {**header_signed, "query_string": b"q=2"}
    scopes = [header_signed, presigned, tampered, {"type": "lifespan"}]
    results = []
    for call in (app, app.__call__):
        seen.clear()
        for scope in scopes:
            asyncio.run(call(dict(scope), _no_body, send))
        results.append(list(seen))
    assert results[0] == results[1]
    assert results[0][:2] == [("AKIDMIDDLEWARE", False), ("AKIDMIDDLEWARE", True)]
    assert results[0][2][1] == 403 and results[0][-1] == "lifespan"


def test_asgi_subclass_with_its_own_call():
    """A subclass's own ``__call__`` is what getattr and calls find, and its super() call
    verifies as the middleware does."""
    seen = []

    class Counting(ASGIMiddleware):
        async def __call__(self, scope, receive, send):
            seen.append("counted")
            await super().__call__(scope, receive, send)

    async def inner(scope, receive, send):
        seen.append(scope["fastsig.verified"].access_key_id)

    async def send(message):
        raise AssertionError(message)

    app = Counting(inner, Verifier(KEYS.get))
    assert app.__call__.__func__ is Counting.__call__
    scope = _signed_scope(b"")
    asyncio.run(app(scope, _no_body, send))
    assert seen == ["counted", "AKIDMIDDLEWARE"]


class _Unreadable:
    """A wsgi.input that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("a bodiless request's input was read")

    readline = read


def test_wsgi_bodiless_requests_under_input_terminated_are_not_spooled(backend):
    # waitress and gunicorn set wsgi.input_terminated on every request and give a GET no
    # CONTENT_LENGTH: such a request has no body to read (issue 24).
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    url = Signer(creds, "us-east-1", "s3").presign("GET", "http://127.0.0.1:8000/b/k x")
    target = url.split("8000", 1)[1]
    seen = []

    def app(environ, start_response):
        seen.append(environ["fastsig.verified"].access_key_id)
        start_response("200 OK", [])
        return [b""]

    middleware = WSGIMiddleware(app, Verifier({creds.access_key_id: creds}.get))
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/b/k x", "RAW_URI": target,
               "QUERY_STRING": target.partition("?")[2], "HTTP_HOST": "127.0.0.1:8000",
               "HTTP_USER_AGENT": "curl/8", "wsgi.input_terminated": True,
               "wsgi.input": _Unreadable(), "wsgi.url_scheme": "http"}
    statuses = []
    list(middleware(environ, lambda status, headers, *exc: statuses.append(status)))
    assert statuses == ["200 OK"] and seen == ["AKIDEXAMPLE"]


def test_wsgi_headers_read_alike_on_both_twins():
    from fastsig import _backend

    environ = {"HTTP_HOST": "h", "HTTP_X_AMZ_DATE": "d", "CONTENT_TYPE": "t", "CONTENT_LENGTH": "",
               "REQUEST_METHOD": "GET", "HTTP_": "empty name", "wsgi.input": None}
    expected = [("HOST", "h"), ("X-AMZ-DATE", "d"), ("CONTENT-TYPE", "t"), ("", "empty name")]
    for kernels in _backend.available.values():
        assert kernels.wsgi_headers(environ) == expected
        assert kernels.wsgi_headers({}) == []


# -- WSGIMiddleware's one-call entry (the compiled _WSGIEntry and check_environ, and the pure
# twin): each request gets what the general path alone would give it, on both backends.

_WSGI_CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
_WSGI_BODY = b'{"TableName": "Music", "Key": {"Artist": {"S": "No One You Know"}}}'.ljust(100)


class _Input:
    """A wsgi.input that counts what was read from it."""

    def __init__(self, data):
        self._stream = io.BytesIO(data)
        self.read_bytes = 0

    def read(self, size=-1):
        data = self._stream.read(size)
        self.read_bytes += len(data)
        return data


def _environ(method, target, headers, body=b"", *, length="auto", terminated=True, host=None):
    """The environ waitress or gunicorn would give: RAW_URI, no CONTENT_LENGTH without a body
    unless asked, wsgi.input_terminated."""
    path, _, query = target.partition("?")
    environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path,
               "QUERY_STRING": query, "RAW_URI": target, "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_HOST": host or "127.0.0.1:8000", "HTTP_USER_AGENT": "test/1",
               "wsgi.url_scheme": "http", "wsgi.input": _Input(body)}
    if terminated:
        environ["wsgi.input_terminated"] = True
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        elif key != "HOST":
            environ["HTTP_" + key] = value
    if length == "auto":
        if body:
            environ["CONTENT_LENGTH"] = str(len(body))
    elif length is not None:
        environ["CONTENT_LENGTH"] = length
    return environ


def _signed_environ(service, method, target, body=b"", headers=None, **options):
    signer = Signer(_WSGI_CREDS, "us-east-1", service)
    signed = signer.sign(method, "http://127.0.0.1:8000" + target, headers, body or None)
    return _environ(method, target, dict(signed.headers), body, **options)


def _presigned_environ(method, target, **options):
    url = Signer(_WSGI_CREDS, "us-east-1", "s3").presign(method, "http://127.0.0.1:8000" + target)
    return _environ(method, url.split("8000", 1)[1], {}, **options)


def _run_wsgi(middleware_call, environ):
    """(status, response body, what the app saw: (verified, body it read, CONTENT_LENGTH))."""
    seen = []

    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        seen.append((environ["fastsig.verified"], body, environ.get("CONTENT_LENGTH")))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    statuses = []
    middleware = WSGIMiddleware(app, Verifier({_WSGI_CREDS.access_key_id: _WSGI_CREDS}.get),
                                memory_limit=4096)
    call = middleware if middleware_call == "entry" else middleware._general
    out = b"".join(call(environ, lambda status, headers, *exc: statuses.append(status)))
    return statuses[0], out, seen


def _both_paths(environ_of):
    """The entry's outcome, having checked that the general path alone gives the same."""
    entry = _run_wsgi("entry", environ_of())
    general = _run_wsgi("general", environ_of())
    assert entry == general
    return entry


def _ok(outcome, body=b""):
    status, _, seen = outcome
    assert status == "200 OK", outcome
    assert len(seen) == 1 and seen[0][0].access_key_id == "AKIDEXAMPLE"
    assert seen[0][1] == body
    return seen[0][0]


def _refused(outcome, code):
    status, out, seen = outcome
    assert not seen, "a refused request reached the app"
    assert _error_code(type("R", (), {"text": out.decode()})) == code, out
    return status


def test_wsgi_entry_bodiless_requests_need_no_content_length(backend):
    # Under wsgi.input_terminated with no CONTENT_LENGTH and no Transfer-Encoding there is no
    # body: nothing is read (the input would fail the test) and both kinds verify.
    for environ_of in (lambda: _signed_environ("execute-api", "GET", "/items?id=42"),
                       lambda: _presigned_environ("GET", "/b/k")):
        environ = environ_of()
        environ["wsgi.input"] = _Unreadable()
        statuses = []
        middleware = WSGIMiddleware(lambda e, s: s("200 OK", []) or [b""],
                                    Verifier({_WSGI_CREDS.access_key_id: _WSGI_CREDS}.get))
        list(middleware(environ, lambda status, headers, *exc: statuses.append(status)))
        assert statuses == ["200 OK"]
        assert environ["fastsig.verified"].access_key_id == "AKIDEXAMPLE"
        _ok(_both_paths(environ_of))


@pytest.mark.parametrize("service", ["execute-api", "s3"])
def test_wsgi_entry_body_read_by_the_app(backend, service):
    # execute-api: the body's hash is in the signature (checked once read); s3: declared in
    # x-amz-content-sha256 and checked before a byte is read.
    verified = _ok(_both_paths(lambda: _signed_environ(service, "POST", "/items?id=42",
                                                       _WSGI_BODY)), _WSGI_BODY)
    assert verified.service == service and not verified.presigned


def test_wsgi_entry_body_length_as_the_general_path_gives_it(backend):
    outcome = _both_paths(lambda: _signed_environ("execute-api", "POST", "/items", _WSGI_BODY,
                                                  length="0" + str(len(_WSGI_BODY))))
    _ok(outcome, _WSGI_BODY)
    assert outcome[2][0][2] == str(len(_WSGI_BODY))


def test_wsgi_entry_body_beyond_memory_limit_is_spooled(backend):
    body = bytes(range(256)) * 40  # over the 4096 bytes the test middleware holds in memory
    _ok(_both_paths(lambda: _signed_environ("execute-api", "PUT", "/blob", body)), body)


@pytest.mark.parametrize("service", ["execute-api", "s3"])
def test_wsgi_entry_tampered_body(backend, service):
    def environ_of():
        environ = _signed_environ(service, "POST", "/items", _WSGI_BODY)
        environ["wsgi.input"] = _Input(_WSGI_BODY.replace(b"Music", b"Movie"))
        return environ

    code = "SignatureDoesNotMatch" if service == "execute-api" else "XAmzContentSHA256Mismatch"
    _refused(_both_paths(environ_of), code)


def test_wsgi_entry_short_body(backend):
    def environ_of():
        environ = _signed_environ("execute-api", "POST", "/items", _WSGI_BODY)
        environ["wsgi.input"] = _Input(_WSGI_BODY[:50])
        return environ

    assert _refused(_both_paths(environ_of), "IncompleteBody").startswith("400")


def test_wsgi_entry_chunked_body(backend):
    # Transfer-Encoding: chunked, no CONTENT_LENGTH: the server ends the body for us.
    def environ_of():
        environ = _signed_environ("execute-api", "POST", "/items", _WSGI_BODY, length=None,
                                  headers={"Transfer-Encoding": "chunked"})
        return environ

    outcome = _both_paths(environ_of)
    _ok(outcome, _WSGI_BODY)  # the app reads by CONTENT_LENGTH, which the spool sets
    assert outcome[2][0][2] == str(len(_WSGI_BODY))


def test_wsgi_entry_aws_chunked_upload(backend):
    data = bytes(range(256)) * 64
    signer = Signer(_WSGI_CREDS, "us-east-1", "s3")

    def environ_of():
        sent = signer.sign_chunked("PUT", "http://127.0.0.1:8000/bucket/key", data,
                                   chunk_size=8192)
        return _environ("PUT", "/bucket/key", dict(sent.headers), b"".join(sent.body))

    status, _, seen = _both_paths(environ_of)
    assert status == "200 OK" and seen[0][1] == data


def test_wsgi_entry_bad_signature_and_unsigned(backend):
    def bad_signature():
        environ = _signed_environ("execute-api", "GET", "/items?id=42")
        auth = environ["HTTP_AUTHORIZATION"]
        environ["HTTP_AUTHORIZATION"] = auth[:-1] + ("0" if auth[-1] != "0" else "1")
        return environ

    def bad_presigned():
        environ = _presigned_environ("GET", "/b/k")
        environ["RAW_URI"] = environ["RAW_URI"].replace("/b/k", "/b/other")
        return environ

    _refused(_both_paths(bad_signature), "SignatureDoesNotMatch")
    _refused(_both_paths(bad_presigned), "SignatureDoesNotMatch")
    _refused(_both_paths(lambda: _environ("GET", "/items?id=42", {})),
             "MissingAuthenticationToken")
    unsigned_body = _both_paths(lambda: _environ("POST", "/items", {}, _WSGI_BODY))
    assert unsigned_body[0].startswith("403") and not unsigned_body[2]


def test_wsgi_entry_head_and_query_only_targets(backend):
    for environ_of in (lambda: _signed_environ("execute-api", "HEAD", "/items?id=42"),
                       lambda: _presigned_environ("HEAD", "/b/k"),
                       lambda: _signed_environ("s3", "GET", "/?list-type=2&prefix=a%2Fb"),
                       lambda: _presigned_environ("GET", "/?list-type=2")):
        verified = _ok(_both_paths(environ_of))
        assert verified.presigned == ("X-Amz-Signature" in environ_of()["RAW_URI"])


def test_wsgi_entry_without_a_raw_target_or_with_odd_ones(backend):
    # No RAW_URI (wsgiref): the target is rebuilt from PATH_INFO by the general path; a
    # non-ASCII one, or a Host the signers would not have kept as is, too.
    def no_raw():
        environ = _signed_environ("execute-api", "GET", "/items?id=42")
        del environ["RAW_URI"]
        return environ

    _ok(_both_paths(no_raw))
    _ok(_both_paths(lambda: _presigned_environ("GET", "/b/caf%C3%A9")))
    _ok(_both_paths(lambda: _presigned_environ("GET", "/b/k", host="127.0.0.1:8000")))


def test_wsgi_entry_is_the_same_on_both_backends():
    from fastsig import _backend

    cases = {
        "post": lambda: _signed_environ("execute-api", "POST", "/items?id=42", _WSGI_BODY),
        "presigned": lambda: _presigned_environ("GET", "/b/k"),
        "tampered": lambda: {**_signed_environ("s3", "PUT", "/b/k", _WSGI_BODY),
                             "wsgi.input": _Input(b"x" * len(_WSGI_BODY))},
    }
    outcomes = {}
    for name in sorted(_backend.available):
        with _backend.using(name):
            outcomes[name] = {case: _run_wsgi("entry", make()) for case, make in cases.items()}
    assert len({repr(o) for o in outcomes.values()}) == 1, outcomes


@pytest.mark.requires_compiled
def test_wsgi_entry_settles_usual_requests_in_one_call():
    """What the compiled check accepts by itself (the rest is the general path's): the
    requests the speed goals are about must not fall through."""
    from fastsig import _backend

    with _backend.using("cython"):
        middleware = WSGIMiddleware(lambda e, s: [b""],
                                    Verifier({_WSGI_CREDS.access_key_id: _WSGI_CREDS}.get))
        check = _backend.kernels.check_environ
        for environ in (_signed_environ("execute-api", "POST", "/items?id=42", _WSGI_BODY),
                        _signed_environ("s3", "PUT", "/b/k", _WSGI_BODY),
                        _signed_environ("execute-api", "GET", "/items?id=42"),
                        _signed_environ("s3", "HEAD", "/b/k"),
                        _presigned_environ("GET", "/b/k"),
                        _presigned_environ("HEAD", "/?list-type=2"),
                        # Unsigned headers as browsers and proxies send them (latin-1 in the
                        # environ, a control character): no matter to the signature.
                        {**_signed_environ("execute-api", "POST", "/items", _WSGI_BODY),
                         "HTTP_REFERER": "https://example.com/caf\xc3\xa9",
                         "HTTP_X_NOTE": "a\x01b"}):
            verified = check(middleware._header_verifier, middleware._presigned, environ,
                             middleware.memory_limit, middleware.max_body_size)
            assert verified is not None and verified.access_key_id == "AKIDEXAMPLE", environ
            body = environ["wsgi.input"].read()
            assert body == (_WSGI_BODY if environ["REQUEST_METHOD"] in ("POST", "PUT") else b"")


def test_wsgi_entry_takes_any_number_for_its_limits(backend):
    def app(environ, start_response):
        start_response("200 OK", [])
        return [environ["wsgi.input"].read()]

    environ = _signed_environ("execute-api", "POST", "/items", _WSGI_BODY)
    middleware = WSGIMiddleware(app, Verifier({_WSGI_CREDS.access_key_id: _WSGI_CREDS}.get),
                                memory_limit=1e6, max_body_size=float(1 << 20))
    statuses = []
    out = b"".join(middleware(environ, lambda status, headers, *exc: statuses.append(status)))
    assert statuses == ["200 OK"] and out == _WSGI_BODY
