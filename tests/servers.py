"""Small real servers on 127.0.0.1: for the credential providers, instance metadata (IMDSv2
with its token flow), a container-credentials endpoint and STS, each answering from a queue of
scripted faults first, then normally, and counting what it was asked; for the HTTP client
integrations, a server that checks signatures and answers from a script; and uvicorn for
ASGI apps."""

from __future__ import annotations

import collections
import contextlib
import datetime
import email.utils
import json
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Deque, Dict, Iterator, List, NamedTuple, Optional, Tuple, Union

ROLE = "fastsig-test-role"
Fault = Union[int, str]  # an HTTP status, "hang" (sleep past any timeout) or "bad-json"


def credentials_document(key_id: str, expires_in: float, token: Optional[str] = "session-token"):
    expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expires_in)
    return {
        "Code": "Success",
        "Type": "AWS-HMAC",
        "AccessKeyId": key_id,
        "SecretAccessKey": f"secret-of-{key_id}",
        "Token": token,
        "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "LastUpdated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class _Server:
    """Runs a handler on 127.0.0.1 in a thread; ``url`` is its base."""

    def __init__(self) -> None:
        self.requests: List[Tuple[str, str]] = []
        self.faults: Dict[str, Deque[Fault]] = collections.defaultdict(collections.deque)
        self.issued = 0  # credential documents served
        self.delay = 0.0  # seconds to wait before serving credentials
        # Called with the number of documents served so far; returns the document.
        self.document: Callable[[int], dict] = lambda n: credentials_document(f"ASIA{n:016d}", 3600)
        self._lock = threading.Lock()
        self._hang = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                server._dispatch(self, "GET")

            def do_PUT(self):
                server._dispatch(self, "PUT")

            def do_POST(self):
                server._dispatch(self, "POST")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> "_Server":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._hang.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def fault(self, path: str, *faults: Fault) -> None:
        self.faults[path].extend(faults)

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r == (method, path))

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        path = handler.path
        with self._lock:
            self.requests.append((method, path))
            fault = self.faults[path].popleft() if self.faults[path] else None
        if fault == "hang":
            self._hang.wait(30)
            return
        if isinstance(fault, int):
            return self._reply(handler, fault, b"scripted fault")
        status, body = self.handle(handler, method, path)
        if fault == "bad-json":
            body = b'{"AccessKeyId": "ASIA", "SecretAccessKey": '
        self._reply(handler, status, body)

    def _serve_credentials(self) -> bytes:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.issued += 1
            n = self.issued
        return json.dumps(self.document(n)).encode()

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def handle(self, handler, method, path) -> Tuple[int, bytes]:
        raise NotImplementedError


class MetadataServer(_Server):
    """The EC2 instance metadata service: PUT /latest/api/token (needs the TTL header) gives a
    token; GETs need a valid token unless ``allow_v1``; ``v2`` False makes the token route 404
    like an IMDS that predates version 2."""

    def __init__(self, *, allow_v1: bool = True, v2: bool = True) -> None:
        super().__init__()
        self.allow_v1 = allow_v1
        self.v2 = v2
        self.tokens: set = set()
        self.region = "ap-southeast-2"

    def handle(self, handler, method, path):
        if path == "/latest/api/token":
            if method != "PUT" or not self.v2:
                return 404 if not self.v2 else 405, b""
            if not handler.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "").isdigit():
                return 400, b"missing TTL"
            token = secrets.token_urlsafe(24)
            self.tokens.add(token)
            return 200, token.encode()
        if method != "GET":
            return 405, b""
        token = handler.headers.get("X-aws-ec2-metadata-token")
        if token is not None and token not in self.tokens:
            return 401, b""
        if token is None and not self.allow_v1:
            return 401, b""
        if path == "/latest/meta-data/placement/region":
            return 200, self.region.encode()
        base = "/latest/meta-data/iam/security-credentials/"
        if path == base:
            return 200, ROLE.encode()
        if path == base + ROLE:
            return 200, self._serve_credentials()
        return 404, b""


class ContainerServer(_Server):
    """The ECS/EKS credentials endpoint at ``/v2/credentials/ID``: needs ``Authorization``
    equal to ``token`` when one is set."""

    PATH = "/v2/credentials/1234"

    def __init__(self, token: Optional[str] = None) -> None:
        super().__init__()
        self.token = token

    def handle(self, handler, method, path):
        if self.token is not None and handler.headers.get("Authorization") != self.token:
            return 401, b'{"message": "bad token"}'
        if path != self.PATH:
            return 404, b""
        return 200, self._serve_credentials()


class PortalServer(_Server):
    """IAM Identity Center's portal: ``GET /federation/credentials?role_name=..&account_id=..``
    with ``x-amz-sso_bearer_token`` equal to ``token`` answers ``roleCredentials`` that
    expire ``expires_in`` seconds later (``expiration`` in epoch milliseconds)."""

    def __init__(self, token: str, expires_in: float = 3600) -> None:
        super().__init__()
        self.token = token
        self.expires_in = expires_in
        self.asked: List[Dict[str, str]] = []
        # SSO-OIDC CreateToken (POST /token): the refresh token and client it accepts.
        self.refresh_token = "refresh-1"
        self.client = ("client-id", "client-secret")
        self.renewals = 0

    def _create_token(self, handler):
        request = json.loads(handler.rfile.read(int(handler.headers.get("Content-Length") or 0)))
        if (request.get("grantType"), request.get("refreshToken")) != (
                "refresh_token", self.refresh_token) or (
                request.get("clientId"), request.get("clientSecret")) != self.client:
            return 400, b'{"error": "invalid_grant"}'
        with self._lock:
            self.renewals += 1
            self.token = f"renewed-token-{self.renewals}"
            self.refresh_token = f"refresh-{self.renewals + 1}"
        return 200, json.dumps({"accessToken": self.token, "expiresIn": 28800,
                                "tokenType": "Bearer",
                                "refreshToken": self.refresh_token}).encode()

    def handle(self, handler, method, path):
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(path)
        if method == "POST" and parts.path == "/token":
            return self._create_token(handler)
        if method != "GET" or parts.path != "/federation/credentials":
            return 404, b""
        if handler.headers.get("x-amz-sso_bearer_token") != self.token:
            return 401, b'{"message": "Session token not found or invalid"}'
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        with self._lock:
            self.asked.append(query)
            self.issued += 1
            n = self.issued
        expiration = int((time.time() + self.expires_in) * 1000)
        return 200, json.dumps({"roleCredentials": {
            "accessKeyId": f"ASIASSO{n:09d}", "secretAccessKey": f"sso-secret-{n}",
            "sessionToken": f"sso-token-{n}", "expiration": expiration}}).encode()


class StsServer(_Server):
    """Answers like STS: a 400 Throttling error for each scripted fault, then the real
    answer, a 400 AccessDenied if ``deny``."""

    deny = False

    def handle(self, handler, method, path):
        if self.deny:
            return 400, (b"<ErrorResponse><Error><Code>AccessDenied</Code>"
                         b"<Message>not allowed</Message></Error></ErrorResponse>")
        return 200, (b'<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/'
                     b'2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials>'
                     b"<AccessKeyId>ASIASTS</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
                     b"<SessionToken>t</SessionToken><Expiration>2999-01-01T00:00:00Z</Expiration>"
                     b"</Credentials></AssumeRoleWithWebIdentityResult>"
                     b"</AssumeRoleWithWebIdentityResponse>")

    def _dispatch(self, handler, method):
        length = int(handler.headers.get("Content-Length") or 0)
        handler.rfile.read(length)
        with self._lock:
            self.requests.append((method, handler.path))
            throttle = bool(self.faults[handler.path]) and self.faults[handler.path].popleft()
        if throttle:
            return self._reply(handler, 400, b"<ErrorResponse><Error><Code>Throttling</Code>"
                                             b"</Error></ErrorResponse>")
        self._reply(handler, *self.handle(handler, method, handler.path))


class Reply(NamedTuple):
    status: int = 200
    headers: Tuple[Tuple[str, str], ...] = ()
    body: bytes = b""


class Received(NamedTuple):
    method: str
    target: str
    headers: Dict[str, str]
    body: bytes
    verified: Optional[str]  # None when the signature verified, else the error code


class SigningServer:
    """Any method on any path: checks the SigV4 signature with ``verifier`` (when given),
    records what came (``received``), and answers from the replies scripted for the path, then
    200 ``{"ok": true}``. With ``refuse``, a request that fails verification gets a 403 with the
    verifier's error code instead. Every answer carries a ``Date`` from ``clock``. For the HTTP
    client integrations' retries, redirects and clock corrections."""

    def __init__(self, verifier=None, *, refuse: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.verifier = verifier
        self.refuse = refuse
        self.clock = clock
        self.received: List[Received] = []
        self.replies: Dict[str, Deque[Reply]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def __getattr__(self, name):
                if name.startswith("do_"):
                    return self.answer
                raise AttributeError(name)

            def answer(self):
                server._answer(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> "SigningServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, path: str, *replies: Reply) -> None:
        self.replies[path].extend(replies)

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = dict(handler.headers.items())
        verified = None
        if self.verifier is not None:
            from fastsig import VerificationError

            try:
                self.verifier.verify(handler.command, handler.path, list(handler.headers.items()), body)
            except VerificationError as error:
                verified = error.code
        path = handler.path.split("?")[0]
        with self._lock:
            self.received.append(Received(handler.command, handler.path, headers, body, verified))
            queued = self.replies[path]
            if verified is not None and self.refuse:
                reply = Reply(403, (), f"<Error><Code>{verified}</Code></Error>".encode())
            else:
                reply = queued.popleft() if queued else Reply(200, (), b'{"ok": true}')
        handler.send_response_only(reply.status)
        handler.send_header("Date", email.utils.formatdate(self.clock(), usegmt=True))
        for name, value in reply.headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body)


@contextlib.contextmanager
def serve_asgi(app, lifespan: str = "auto") -> Iterator[str]:
    """Runs ``app`` under uvicorn on 127.0.0.1; yields the base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class RawServer:
    """A TCP server on 127.0.0.1 that reads a request's head and answers ``answer`` as raw
    bytes, then closes: for endpoints that do not speak HTTP (no status line)."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.connections = 0
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._socket.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2)
                head = b""
                with contextlib.suppress(OSError):
                    while b"\r\n\r\n" not in head:
                        data = connection.recv(65536)
                        if not data:
                            break
                        head += data
                self.connections += 1
                with contextlib.suppress(OSError):
                    connection.sendall(self.answer)

    def __enter__(self) -> "RawServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._socket.close()
