"""Gateway-grade verification (issue 25) behind real servers on 127.0.0.1: uvicorn (ASGI),
waitress, gunicorn and wsgiref (WSGI). S3's rules for what it receives (a raw '+' in the path,
an unsigned x-amz-content-sha256), aws-chunked uploads streamed to the app, WebSocket
handshakes, refusals that read no body, and debug_errors."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import wsgiref.simple_server
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from fastsig import Credentials, Signer, Verifier
from fastsig._errors import VerificationError
from fastsig.middleware import ASGIMiddleware, WSGIMiddleware

from . import gateway_apps
from .gateway_apps import CREDS, KEYS, TEMP, SEEN
from .servers import serve_asgi

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parent.parent
WSGI_KINDS = ["waitress", "gunicorn", "wsgiref"]
KINDS = ["uvicorn"] + WSGI_KINDS


# -- servers -------------------------------------------------------------------------------

class _Quiet(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _waitress(app: Any) -> Iterator[str]:
    import waitress

    srv = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.effective_port}"
    finally:
        srv.task_dispatcher.shutdown()
        for channel in list(srv._map.values()):
            channel.close()
        thread.join(10)


@contextlib.contextmanager
def _wsgiref(app: Any) -> Iterator[str]:
    srv = wsgiref.simple_server.make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(10)


@contextlib.contextmanager
def _gunicorn(backend: str, tls: Optional[Tuple[str, str]] = None) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if backend == "python":
        env["FASTSIG_NO_EXTENSIONS"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1",
         "--log-level", "warning", "--timeout", "120", "tests.gateway_apps:wsgi_entry"]
        + (["--certfile", tls[0], "--keyfile", tls[1]] if tls else []),
        cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "gunicorn exited"
            assert time.monotonic() < deadline, "gunicorn did not start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(20)


@pytest.fixture
def gateway(request: Any, backend: str) -> Iterator[Tuple[str, str]]:
    """(base URL, kind): the echo app behind the middleware, served by ``kind``."""
    kind = request.param
    if kind == "uvicorn":
        context = serve_asgi(gateway_apps.asgi_entry, "on")
    elif kind == "waitress":
        context = _waitress(gateway_apps.wsgi_entry)
    elif kind == "wsgiref":
        context = _wsgiref(gateway_apps.wsgi_entry)
    else:
        context = _gunicorn(backend)
    SEEN.clear()
    gateway_apps.READ[0] = 0
    with context as base:
        yield base, kind


def gateways(*kinds: str) -> Any:
    return pytest.mark.parametrize("gateway", kinds, indirect=True)


# -- a client that sends exactly what it is given ---------------------------------------------

class Response:
    def __init__(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> Optional[str]:
        text = self.body.decode("utf-8", "replace")
        if "<Code>" not in text:
            return None
        return text.split("<Code>")[1].split("</Code>")[0]


def _read_response(sock: socket.socket) -> Response:
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        if not more:
            break
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        more = sock.recv(65536)
        if not more:
            break
        body += more
    return Response(status, headers, body)


def send(base: str, method: str, target: str, headers: Dict[str, str], body: Any = b"",
         length: Optional[int] = None) -> Response:
    """One request on its own connection, the target and headers as given. ``body``: bytes
    or an iterable of bytes (``length`` then says the Content-Length). Stops sending as soon
    as the server answers, as a client does when refused early."""
    host, port = base.split("//")[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=60)
    try:
        pieces = [body] if isinstance(body, bytes) else body
        if length is None:
            length = len(body)
        lines = [f"{method} {target} HTTP/1.1"]
        if not any(name.lower() == "host" for name in headers):
            lines.append(f"Host: {host}:{port}")
        lines += [f"{name}: {value}" for name, value in headers.items()
                  if name.lower() != "content-length"]
        lines += [f"Content-Length: {length}", "Connection: close", "", ""]
        sock.sendall("\r\n".join(lines).encode("utf-8"))
        if length > 1 << 20:
            # A large body waits a moment for an early answer, as curl waits on Expect:
            # 100-continue: a server that closes with unread bytes resets the connection,
            # which can cost the client the answer (Linux drops unsent data on such a close).
            # A middleware that reads first answers nothing, and gets the whole body.
            select.select([sock], [], [], 1.0)
        for piece in pieces:
            if select.select([sock], [], [], 0)[0]:
                break  # answered already
            try:
                sock.sendall(piece)
            except OSError:
                break
        return _read_response(sock)
    finally:
        sock.close()


def signed(signer: Signer, method: str, base: str, target: str,
           headers: Optional[Dict[str, str]] = None, body: bytes = b"") -> Dict[str, str]:
    """The headers fastsig's signer gives for ``target`` (signed as written)."""
    request = signer.sign(method, base + target, headers, body)
    return {k: v for k, v in request.headers.items() if k.lower() != "host"}


S3 = Signer(CREDS, "us-east-1", "s3")
API = Signer(CREDS, "us-east-1", "execute-api")


# -- 1. an unsigned x-amz-content-sha256 -------------------------------------------------------

@pytest.mark.parametrize("service", ["s3", "es"])
def test_unsigned_content_sha256_from_aws_requests_auth(backend, service):
    """aws-requests-auth, a real client, sends x-amz-content-sha256 but never signs it: AWS
    accepts that, and the header's value still governs the payload check."""
    aws_auth = pytest.importorskip("aws_requests_auth.aws_auth")
    requests = pytest.importorskip("requests")
    auth = aws_auth.AWSRequestsAuth(
        aws_access_key=CREDS.access_key_id, aws_secret_access_key=CREDS.secret_access_key,
        aws_host="search.example.com", aws_region="us-east-1", aws_service=service)
    prepared = requests.Request("POST", "https://search.example.com/idx/_search",
                                data=b'{"query": {}}', auth=auth).prepare()
    headers = dict(prepared.headers)
    assert "x-amz-content-sha256" in {k.lower() for k in headers}
    assert "x-amz-content-sha256" not in headers["Authorization"]
    verifier = Verifier(KEYS.get)
    assert verifier.verify("POST", prepared.url, headers, prepared.body).service == service
    # Twice: the compiled fast path's memo, then its check, accept it too.
    assert verifier.verify("POST", prepared.url, headers, prepared.body).service == service
    with pytest.raises(VerificationError) as info:
        verifier.verify("POST", prepared.url, headers, b'{"query": 1}')
    assert info.value.code == "XAmzContentSHA256Mismatch"
    name = next(k for k in headers if k.lower() == "x-amz-content-sha256")
    with pytest.raises(VerificationError) as info:
        verifier.verify("POST", prepared.url, dict(headers, **{name: "0" * 64}), b"")
    assert info.value.code == "SignatureDoesNotMatch"


def test_other_unsigned_x_amz_headers_are_refused_with_headers_not_signed(backend):
    request = S3.sign("GET", "https://b.s3.amazonaws.com/k")
    headers = dict(request.headers, **{"x-amz-meta-extra": "1"})
    with pytest.raises(VerificationError) as info:
        Verifier(KEYS.get).verify("GET", request.url, headers)
    assert info.value.code == "AccessDenied"
    assert ("HeadersNotSigned", "x-amz-meta-extra") in info.value.details


# -- 2. a raw '+' in an S3 path ---------------------------------------------------------------

def _sign_as(signer: Signer, method: str, url_signed: str) -> Dict[str, str]:
    request = signer.sign(method, url_signed)
    return dict(request.headers)


def test_raw_plus_in_an_s3_path_is_a_space(backend):
    verifier = Verifier(KEYS.get)
    base = "https://b.s3.amazonaws.com"
    as_s3_reads_it = _sign_as(S3, "GET", base + "/a%20b")  # canonical /a%20b
    as_a_plus = _sign_as(S3, "GET", base + "/a%2Bb")  # canonical /a%2Bb
    assert verifier.verify("GET", base + "/a+b", as_s3_reads_it).service == "s3"
    with pytest.raises(VerificationError) as info:
        verifier.verify("GET", base + "/a+b", as_a_plus)
    assert info.value.code == "SignatureDoesNotMatch"
    # %2B is a plus, as the SDKs send it.
    assert verifier.verify("GET", base + "/a%2Bb", as_a_plus).service == "s3"
    # Presigned URLs: the same rule.
    url = S3.presign("GET", base + "/a%20b")
    assert verifier.verify("GET", url.replace("/a%20b", "/a+b")).presigned
    url = S3.presign("GET", base + "/a%2Bb")
    with pytest.raises(VerificationError):
        verifier.verify("GET", url.replace("/a%2Bb", "/a+b"))


def test_other_services_keep_rfc3986_plus(backend):
    verifier = Verifier(KEYS.get)
    base = "https://api.example.com"
    headers = _sign_as(API, "GET", base + "/a+b")
    assert verifier.verify("GET", base + "/a+b", headers).service == "execute-api"
    with pytest.raises(VerificationError):
        verifier.verify("GET", base + "/a+b", _sign_as(API, "GET", base + "/a%20b"))


@gateways(*KINDS)
def test_plus_rules_through_the_middlewares(gateway):
    base, kind = gateway
    headers = signed(S3, "GET", base, "/bucket/a%20b")
    response = send(base, "GET", "/bucket/a+b", headers)
    if kind == "wsgiref":
        # Only the decoded PATH_INFO: a raw '+' and %2B look alike, and read as a plus.
        assert response.status == 403 and response.code == "SignatureDoesNotMatch"
        response = send(base, "GET", "/bucket/a+b", signed(S3, "GET", base, "/bucket/a%2Bb"))
        assert response.status == 200, response.body
    else:
        assert response.status == 200, response.body
        response = send(base, "GET", "/bucket/a+b", signed(S3, "GET", base, "/bucket/a%2Bb"))
        assert response.status == 403 and response.code == "SignatureDoesNotMatch"
    response = send(base, "GET", "/bucket/a%2Bb", signed(S3, "GET", base, "/bucket/a%2Bb"))
    assert response.status == 200, response.body
    # Another service: a raw '+' is a plus, signed as %2B, whatever the server hands over.
    response = send(base, "GET", "/v1/a+b", signed(API, "GET", base, "/v1/a+b"))
    assert response.status == 200, response.body


# -- 5. refusals read no body -----------------------------------------------------------------

HUNDRED_MB = 100 << 20


def _hundred_mb() -> Iterator[bytes]:
    block = b"x" * (1 << 20)
    for _ in range(100):
        yield block


def _read_count(base: str) -> int:
    return int(send(base, "GET", "/__read", {}).body)


@gateways("uvicorn", "waitress", "gunicorn")
@pytest.mark.parametrize("case", ["unsigned", "unknown-key"])
def test_a_refused_100mb_put_is_not_read(gateway, case):
    base, kind = gateway
    if case == "unsigned":
        headers = {"Content-Type": "application/octet-stream"}
        expected = "MissingAuthenticationToken"
    else:
        stranger = Signer(Credentials("AKIDSTRANGER", "not/known"), "us-east-1", "execute-api")
        headers = signed(stranger, "PUT", base, "/upload")  # no declared payload hash
        expected = "InvalidClientTokenId"
    response = send(base, "PUT", "/upload", headers, _hundred_mb(), length=HUNDRED_MB)
    assert response.status == 403 and response.code == expected, response.body
    assert _read_count(base) == 0


# -- 3. aws-chunked uploads -------------------------------------------------------------------

CHUNKED_CASES = [
    ("signed", None), ("signed", "crc32"), ("unsigned", "crc32"), ("unsigned", "crc32c"),
    ("unsigned", "crc64nvme"), ("unsigned", "sha1"), ("unsigned", "sha256"),
]


def _upload(base: str, data: bytes, mode: str, checksum: Optional[str],
            creds: Credentials = CREDS) -> Tuple[Dict[str, str], bytes]:
    upload = Signer(creds, "us-east-1", "s3").sign_chunked(
        "PUT", base + "/bucket/big%20object", data, chunk_size=65536, checksum=checksum,
        signed_chunks=mode == "signed")
    headers = {k: v for k, v in upload.headers.items() if k.lower() != "host"}
    return headers, b"".join(bytes(piece) for piece in upload.body)


@gateways(*KINDS)
@pytest.mark.parametrize("mode,checksum", CHUNKED_CASES)
def test_chunked_upload_reaches_the_app_decoded(gateway, mode, checksum):
    base, kind = gateway
    data = os.urandom(200_000)
    headers, framed = _upload(base, data, mode, checksum)
    response = send(base, "PUT", "/bucket/big%20object", headers, framed)
    assert response.status == 200, response.body
    answer = response.json
    assert answer["sha256"] == hashlib.sha256(data).hexdigest()
    assert answer["length"] == len(data) and answer["payload"].startswith("STREAMING-")
    assert answer["encoding"] is None  # aws-chunked is the transfer's, not the object's


def _tamper(framed: bytes, where: str) -> bytes:
    if where == "data":
        at = framed.index(b"\r\n") + 100  # in the first chunk's data
        return framed[:at] + bytes([framed[at] ^ 1]) + framed[at + 1:]
    # The trailer's checksum value: the last base64 before the final CRLFs.
    head, _, value = framed.rstrip(b"\r\n").rpartition(b":")
    if b"x-amz-trailer-signature" in head.rsplit(b"\r\n", 1)[-1]:
        raise AssertionError("tamper the unsigned trailer's value only")
    flipped = bytes([value[0] ^ 2]) + value[1:]
    return head + b":" + flipped + b"\r\n\r\n"


@gateways(*KINDS)
@pytest.mark.parametrize("mode,checksum,where,code", [
    ("signed", None, "data", "SignatureDoesNotMatch"),
    ("signed", "crc32", "data", "SignatureDoesNotMatch"),
    ("unsigned", "crc32", "data", "BadDigest"),
    ("unsigned", "crc64nvme", "trailer", "BadDigest"),
    ("unsigned", "sha256", "data", "BadDigest"),
])
def test_tampered_chunked_upload_is_refused_and_never_complete(gateway, mode, checksum, where,
                                                               code):
    base, kind = gateway
    data = os.urandom(200_000)
    headers, framed = _upload(base, data, mode, checksum)
    response = send(base, "PUT", "/bucket/big%20object", headers, _tamper(framed, where))
    assert response.status in (400, 403), response.body
    assert response.code == code
    if kind != "gunicorn":  # SEEN lives in the server's process
        assert not any(seen["complete"] and seen["length"] == len(data) for seen in SEEN)


def test_wsgi_app_never_gets_the_last_bytes_before_the_trailer_checks(backend):
    """An app reading CONTENT_LENGTH bytes piecewise gets all but the last chunk's data,
    then the error, for a bad trailer."""
    got: List[bytes] = []

    def app(environ: dict, start_response: Any) -> List[bytes]:
        stream = environ["wsgi.input"]
        length = int(environ["CONTENT_LENGTH"])
        while length:
            piece = stream.read(min(length, 30_000))
            got.append(piece)
            length -= len(piece)
        start_response("200 OK", [])
        return [b"ok"]

    data = os.urandom(200_000)
    headers, framed = _upload("http://h", data, "unsigned", "crc32")
    bad = _tamper(framed, "trailer")
    import io

    environ = {"REQUEST_METHOD": "PUT", "PATH_INFO": "/bucket/big object",
               "RAW_URI": "/bucket/big%20object", "wsgi.input": io.BytesIO(bad),
               "CONTENT_LENGTH": str(len(bad)), "HTTP_HOST": "h"}
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            environ["HTTP_" + key] = value
    statuses: List[str] = []
    body = WSGIMiddleware(app, Verifier(KEYS.get))(
        environ, lambda status, headers, exc_info=None: statuses.append(status))
    assert statuses == ["400 Bad Request"] and b"BadDigest" in b"".join(body)
    assert sum(map(len, got)) <= len(data) - (len(data) % 65536 or 65536)


# -- 4. WebSocket handshakes --------------------------------------------------------------------

def _ws_connect(url: str) -> Any:
    from websockets.sync.client import connect

    return connect(url, open_timeout=10)


@gateways("uvicorn")
def test_websocket_handshake_signed_in_the_query(gateway):
    pytest.importorskip("websockets")
    from websockets.exceptions import InvalidStatus

    base, _ = gateway
    signer = Signer(TEMP, "us-east-1", "execute-api")
    url = signer.presign("GET", base + "/chat?room=1", expires_in=300)
    SEEN.clear()
    with _ws_connect(url.replace("http://", "ws://")) as ws:
        assert ws.recv(timeout=10) == f"hello {TEMP.access_key_id}"
    for bad in (base + "/chat?room=1", url.replace("room=1", "room=2")):
        with pytest.raises(InvalidStatus) as info:
            _ws_connect(bad.replace("http://", "ws://"))
        response = info.value.response
        assert response.status_code == 403
        assert b"<Code>" in response.body and TEMP.secret_access_key.encode() not in response.body


# -- 6. debug_errors --------------------------------------------------------------------------

def test_debug_errors_show_what_s3_shows_and_no_secret(backend):
    request = Signer(TEMP, "us-east-1", "s3").sign("GET", "https://b.s3.amazonaws.com/k?x=1")
    headers = dict(request.headers)
    tampered = request.url.replace("x=1", "x=2")
    with pytest.raises(VerificationError) as info:
        Verifier(KEYS.get).verify("GET", tampered, headers)
    assert info.value.details == ()  # off by default
    with pytest.raises(VerificationError) as info:
        Verifier(KEYS.get, debug_errors=True).verify("GET", tampered, headers)
    details = dict(info.value.details)
    assert set(details) == {"CanonicalRequest", "CanonicalRequestBytes", "StringToSign",
                            "StringToSignBytes"}
    assert details["CanonicalRequest"].startswith("GET\n/k\nx=2\n")
    assert details["StringToSignBytes"].startswith("41 57 53 34")  # AWS4
    everything = repr(details) + repr(info.value) + str(info.value)
    assert TEMP.secret_access_key not in everything
    assert TEMP.session_token not in everything
    assert headers["Authorization"].rsplit("=", 1)[1] not in everything.replace(
        headers["Authorization"], "")


def test_debug_errors_in_the_middleware_body(backend):
    sent: List[dict] = []

    async def inner(scope: dict, receive: Any, send: Any) -> None:
        raise AssertionError("never reached")

    async def capture(message: dict) -> None:
        sent.append(message)

    async def nothing() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    request = Signer(TEMP, "us-east-1", "s3").sign("GET", "https://b.s3.amazonaws.com/k")
    headers = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    scope = {"type": "http", "method": "GET", "path": "/other", "raw_path": b"/other",
             "query_string": b"", "headers": headers}
    for flag, shown in ((None, False), (True, True)):
        sent.clear()
        app = ASGIMiddleware(inner, Verifier(KEYS.get, debug_errors=True), debug_errors=flag)
        if flag is None:
            app = ASGIMiddleware(inner, Verifier(KEYS.get))
        asyncio.run(app(dict(scope), nothing, capture))
        body = sent[1]["body"]
        assert b"<Code>SignatureDoesNotMatch</Code>" in body
        assert (b"<CanonicalRequest>GET\n/other\n" in body) is shown
        assert TEMP.secret_access_key.encode() not in body
        assert TEMP.session_token.encode() not in body


def test_body_hash_payloads_pass_the_header_phase_before_the_body(backend):
    """A request whose signature covers its body's hash (no x-amz-content-sha256): the
    header phase first (in the kernels' one call where compiled), then the body."""
    verifier = Verifier(KEYS.get)
    request = Signer(CREDS, "us-east-1", "dynamodb").sign(
        "POST", "https://dynamodb.us-east-1.amazonaws.com/", {"X-Amz-Target": "x.GetItem"},
        b'{"a": 1}')
    headers = dict(request.headers)
    pending = verifier._defer("POST", "/", headers)
    if backend == "cython":
        assert pending.__class__.__name__ == "_Deferred"
    good = hashlib.sha256(b'{"a": 1}').hexdigest()
    bad = hashlib.sha256(b'{"a": 2}').hexdigest()
    if pending.__class__.__name__ == "_Deferred":
        assert pending.finish(good).service == "dynamodb"
        assert pending.finish(bad) is None
    else:
        assert pending.finish(None, good).service == "dynamodb"
    for body, status in ((b'{"a": 1}', "200 OK"), (b'{"a": 2}', "403 Forbidden")):
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "RAW_URI": "/",
                   "CONTENT_LENGTH": str(len(body)), "wsgi.input": __import__("io").BytesIO(body)}
        for name, value in headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        statuses: List[str] = []
        WSGIMiddleware(gateway_apps.echo_wsgi, verifier)(
            environ, lambda s, h, e=None: statuses.append(s))
        assert statuses == [status]
    with pytest.raises(VerificationError) as info:
        verifier._defer("POST", "/", dict(headers, Authorization=headers["Authorization"].replace(
            CREDS.access_key_id, "AKIDUNKNOWN")))
    assert info.value.code == "InvalidClientTokenId"


# -- boto3's default upload: aws-chunked with a CRC trailer, over HTTPS only ----------------------

@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: Any) -> Tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, made by cryptography: (cert, key) paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import datetime
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@contextlib.contextmanager
def _uvicorn_tls(cert: str, key: str) -> Iterator[str]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(gateway_apps.asgi_entry, log_level="warning",
                                           lifespan="on", ssl_certfile=cert, ssl_keyfile=key))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.mark.parametrize("server", ["uvicorn", "gunicorn"])
@pytest.mark.parametrize("tampered", [False, True])
def test_boto3_default_put_object_over_tls(backend, tls_files, tampered, server):
    """boto3's default PutObject over HTTPS: STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC
    trailer, through ASGI (uvicorn) and WSGI (gunicorn) with TLS. The app gets the exact
    bytes; a wrong trailing checksum never completes."""
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    cert, key = tls_files
    data = os.urandom(300_000)
    context = _uvicorn_tls(cert, key) if server == "uvicorn" else _gunicorn(backend, tls_files)
    with context as base:
        client = boto3.client(
            "s3", endpoint_url=base, region_name="us-east-1", verify=cert,
            aws_access_key_id=CREDS.access_key_id, aws_secret_access_key=CREDS.secret_access_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
        if tampered:
            def corrupt(request: Any, **kwargs: Any) -> None:
                body = request.body  # the framed body, its trailer last
                framed = body.read() if hasattr(body, "read") else b"".join(body)
                head, _, value = framed.rstrip(b"\r\n").rpartition(b":")
                request.body = head + b":" + bytes([value[0] ^ 2]) + value[1:] + b"\r\n\r\n"
            client.meta.events.register_last("before-send.s3.PutObject", corrupt)
        SEEN.clear()
        if tampered:
            from botocore.exceptions import ClientError

            with pytest.raises(ClientError) as info:
                client.put_object(Bucket="bucket", Key="dir/a b+c=~%.bin", Body=data)
            assert info.value.response["Error"]["Code"] == "BadDigest"
            assert not any(seen["complete"] and seen["length"] == len(data) for seen in SEEN)
        elif server == "gunicorn":  # its app runs in the server's process: it says
            answer = client.put_object(Bucket="bucket", Key="dir/a b+c=~%.bin", Body=data)
            headers = answer["ResponseMetadata"]["HTTPHeaders"]
            assert headers["x-sha256"] == hashlib.sha256(data).hexdigest()
        else:
            client.put_object(Bucket="bucket", Key="dir/a b+c=~%.bin", Body=data)
            answers = [seen for seen in SEEN if "sha256" in seen]
            assert answers[-1]["sha256"] == hashlib.sha256(data).hexdigest()
            assert answers[-1]["payload"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
