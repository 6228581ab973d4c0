"""WSGI and ASGI middleware that verify every request before the application sees it.

A verified request reaches the application with its ``VerifiedRequest`` in
``environ["fastsig.verified"]`` (WSGI) or ``scope["fastsig.verified"]`` (ASGI); a failed one is
answered with AWS's error body (XML by default, or JSON) and status, and never reaches it.

No byte of a body is read before every check that does not need it has passed (signature
present and well-formed, key known, date within the skew, scope, signed-header rules). Bodies
are hashed as they stream in. A body is held in memory up to ``memory_limit`` bytes and
spooled to a temporary file beyond that; ``max_body_size`` refuses larger bodies outright.
When the client declares the body's hash (``x-amz-content-sha256``), the signature is checked
before a byte of the body is read; with ``UNSIGNED-PAYLOAD`` the body is not read at all.

aws-chunked uploads (``STREAMING-*`` payloads, as boto3 sends over HTTPS) reach the
application decoded as they stream, never spooled: each piece once its chunk's signature has
checked, the last one only once the trailer's checksum has too. A bad chunk or checksum
raises from ``wsgi.input.read()`` (WSGI) or turns into ``http.disconnect`` (ASGI), and the
client gets AWS's error when no response has started.

WebSocket handshakes through ``ASGIMiddleware`` are verified as HTTP requests (SigV4 usually in
the query string); a refused one never reaches the application.
"""

from __future__ import annotations

import io
import json
import re
import sys
import tempfile
from types import MethodType
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, cast
from urllib.parse import quote
from xml.sax.saxutils import escape

from . import _backend
from ._chunked import ChunkedReader
from ._errors import IncompleteBodyError, PayloadHashMismatchError, VerificationError
from .sigv4 import UNSIGNED_PAYLOAD
from .verifier import PendingVerification, Verifier, VerifiedRequest

__all__ = ["ASGIMiddleware", "WSGIMiddleware"]

ENVIRON_KEY = "fastsig.verified"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_CHUNK = 65536
_PATH_SAFE = "/-_.~!$&'()*+,;=:@"  # RFC 3986 pchar: what clients leave unencoded in a path
_CREDENTIAL_SERVICE = re.compile(r"Credential=[^/,&]*(?:/|%2F)[0-9]{8}(?:/|%2F)[^/,&%]*"
                                 r"(?:/|%2F)([A-Za-z0-9._-]+)", re.IGNORECASE)
_STATUS_TEXT = {
    400: "Bad Request",
    403: "Forbidden",
    411: "Length Required",
    413: "Payload Too Large",
    501: "Not Implemented",
}


class _TooLargeError(VerificationError):
    code = "EntityTooLarge"
    status = 413

    def __init__(self) -> None:
        super().__init__("Your proposed upload exceeds the maximum allowed size")


def _error_response(error: VerificationError, error_format: str,
                    debug: bool = False) -> Tuple[int, List[Tuple[str, str]], bytes]:
    message = str(error)[:512]
    # S3's extra elements: HeadersNotSigned always; SignatureDoesNotMatch's canonical request
    # and string to sign only when debugging is on (the verifier leaves out every secret).
    details = [(name, text) for name, text in error.details
               if debug or name == "HeadersNotSigned"]
    if error_format == "json":
        fields = {"__type": error.code, "message": message}
        fields.update(details)
        body = json.dumps(fields).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", error.code)]
    else:
        extra = "".join(f"<{name}>{escape(text)}</{name}>" for name, text in details)
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(error.code)}</Code><Message>{escape(message)}</Message>"
            f"{extra}</Error>"
        ).encode()
        headers = [("Content-Type", "application/xml")]
    headers.append(("Content-Length", str(len(body))))
    return error.status, headers, body


def _declared_hash(headers: List[Tuple[str, str]]) -> Optional[str]:
    for name, value in headers:
        if name.lower() == "x-amz-content-sha256":
            return value.strip()
    return None


def _content_length(value: Optional[str], max_body_size: Optional[int]) -> Optional[int]:
    if value is None:
        return None
    if not value.strip().isdigit():
        raise IncompleteBodyError("Content-Length is not a number", "InvalidRequest")
    length = int(value)
    if max_body_size is not None and length > max_body_size:
        raise _TooLargeError()
    return length


class _Spool:
    """Collects a body while hashing it: in memory up to a limit, on disk beyond it. ``file``
    holds it, from the start, once ``done``."""

    __slots__ = ("file", "hash", "size", "max_body_size", "_memory_limit", "_parts", "_disk")

    def __init__(self, memory_limit: int, max_body_size: Optional[int]) -> None:
        self.file: Any = None
        self.hash = _backend.kernels.Sha256()
        self.size = 0
        self.max_body_size = max_body_size
        self._memory_limit = memory_limit
        self._parts: List[bytes] = []
        # A temporary file only once the body outgrows memory: most bodies are small, and a
        # file made (and left for the collector to close) for each costs more than verifying.
        self._disk: Any = None

    def add(self, data: bytes) -> None:
        self.size += len(data)
        if self.max_body_size is not None and self.size > self.max_body_size:
            raise _TooLargeError()
        self.hash.update(data)
        if self._disk is None and self.size > self._memory_limit:
            self._disk = tempfile.TemporaryFile()
            self._disk.writelines(self._parts)
            self._parts = []
        if self._disk is not None:
            self._disk.write(data)
        else:
            self._parts.append(data)

    def done(self) -> str:
        if self._disk is not None:
            self._disk.seek(0)
            self.file = self._disk
        else:
            self.file = io.BytesIO(b"".join(self._parts))
            self._parts = []
        return self.hash.hexdigest()


class _Plan:
    """How one request's body is handled: ``verify_first`` checks the signature against the
    declared hash before reading; ``read`` says the body must be spooled and hashed."""

    __slots__ = ("verify_first", "read", "declared")

    def __init__(self, declared: Optional[str], has_body: bool) -> None:
        self.declared = declared
        if not has_body:
            self.verify_first, self.read = True, False
        elif declared == UNSIGNED_PAYLOAD:
            self.verify_first, self.read = True, False
        elif declared is not None and _HEX_DIGEST.fullmatch(declared):
            self.verify_first, self.read = True, True
        else:
            self.verify_first, self.read = False, True


class _Middleware:
    """The settings both middlewares take."""

    def __init__(
        self,
        app: Callable[..., Any],
        verifier: Verifier,
        *,
        error_format: str = "xml",
        memory_limit: int = 1 << 20,
        max_body_size: Optional[int] = 5 << 30,
        max_chunk_size: int = 16 << 20,
        debug_errors: Optional[bool] = None,
    ) -> None:
        if error_format not in ("xml", "json"):
            raise ValueError("error_format must be 'xml' or 'json'")
        self.app = app
        self.verifier = verifier
        self.error_format = error_format
        self.memory_limit = memory_limit
        self.max_body_size = max_body_size
        self.max_chunk_size = max_chunk_size
        # Whether SignatureDoesNotMatch bodies show the canonical request and string to sign
        # (by default as the verifier's debug_errors says: the verifier computes them).
        if debug_errors and not verifier.debug_errors:
            raise ValueError("debug_errors=True needs a Verifier made with debug_errors=True")
        self.debug_errors = verifier.debug_errors if debug_errors is None else bool(debug_errors)
        self._bind_fast_path()

    def _error(self, error: VerificationError) -> Tuple[int, List[Tuple[str, str]], bytes]:
        return _error_response(error, self.error_format, self.debug_errors)

    def _bind_fast_path(self) -> None:
        """Where the ASGI middleware takes the verifier's one-call check."""

    def _begin(self, method: str, target: str, headers: List[Tuple[str, str]],
               length: Optional[int], declared: Optional[str], has_body: bool) -> Any:
        """The VerifiedRequest of a request whose body need not be read, the _Pending
        work of one whose body must be spooled first (and given to ``_finish``), or the
        ChunkedReader of an aws-chunked upload."""
        if declared is not None and declared.startswith("STREAMING-"):
            return self._chunked(method, target, headers)
        plan = _Plan(declared, has_body)
        verified: Any
        if not plan.verify_first:
            # Every check that needs no body first: a refused request is never read.
            verified = self.verifier._defer(method, target, headers)
        else:
            verified = self.verifier.verify(
                method, target, headers, None,
                payload_hash=plan.declared if plan.read else None,
            )
            if not plan.read:
                return verified
        spool = _Spool(self.memory_limit, self.max_body_size)
        return _Pending(method, target, headers, length, plan, verified, spool)

    def _chunked(self, method: str, target: str, headers: List[Tuple[str, str]]) -> ChunkedReader:
        for name, value in headers:
            if (name.lower() == "x-amz-decoded-content-length" and value.strip().isdigit()
                    and self.max_body_size is not None and int(value) > self.max_body_size):
                raise _TooLargeError()
        return self.verifier.verify_chunked(method, target, headers, None,
                                            max_chunk_size=self.max_chunk_size)

    def _finish(self, pending: "_Pending") -> VerifiedRequest:
        """The VerifiedRequest once the body is in ``pending.spool``."""
        spool = pending.spool
        if pending.length is not None and spool.size != pending.length:
            raise IncompleteBodyError("The request body does not have the size of Content-Length")
        actual = spool.done()
        if pending.plan.verify_first and pending.plan.declared != actual:
            raise PayloadHashMismatchError(
                "The provided 'x-amz-content-sha256' header does not match what was computed."
            )
        if isinstance(pending.verified, PendingVerification):
            return pending.verified.finish(None, actual)
        if pending.plan.verify_first:
            return cast(VerifiedRequest, pending.verified)
        # The kernels' deferred check; where it says no, the general path says why.
        verified = pending.verified.finish(actual)
        if verified is None:
            return self.verifier.verify(pending.method, pending.target, pending.headers,
                                        payload_hash=actual)
        return cast(VerifiedRequest, verified)


_compiled = _backend.available.get("cython")


class _Pending:
    """A request verified as far as it can be before its body is read."""

    __slots__ = ("method", "target", "headers", "length", "plan", "verified", "spool")

    def __init__(self, method: str, target: str, headers: List[Tuple[str, str]],
                 length: Optional[int], plan: _Plan, verified: Any, spool: _Spool) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.length = length
        self.plan = plan
        self.verified = verified
        self.spool = spool


class _CallEntry:
    """Where each request enters WSGIMiddleware: its base class when the compiled core is not
    built (with it, ``_speedups._WSGIEntry`` does the same in C)."""

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # Most requests are settled by one call into the kernels (a header-signed body within
        # memory_limit read and hashed there); the rest, and every refusal, take the general path.
        verified = self._check_environ(  # type: ignore[attr-defined]
            self._header_verifier, self._presigned, environ,  # type: ignore[attr-defined]
            self.memory_limit, self.max_body_size)  # type: ignore[attr-defined]
        if verified is None:
            return self._general(environ, start_response)  # type: ignore[attr-defined,no-any-return]
        environ[ENVIRON_KEY] = verified
        return self.app(environ, start_response)  # type: ignore[attr-defined,no-any-return]


_WSGIBase: Any = _CallEntry if _compiled is None else _compiled._WSGIEntry


class WSGIMiddleware(_WSGIBase, _Middleware):
    """Verifies each request of a WSGI application.

    >>> from fastsig import Credentials, Verifier
    >>> from fastsig.middleware import WSGIMiddleware
    >>> def app(environ, start_response):
    ...     start_response("200 OK", [("Content-Type", "text/plain")])
    ...     return [environ["fastsig.verified"].access_key_id.encode()]
    >>> keys = {"AKIDEXAMPLE": Credentials("AKIDEXAMPLE", "secret")}
    >>> app = WSGIMiddleware(app, Verifier(keys.get))
    """

    def _bind_fast_path(self) -> None:
        # The kernels' one-call check for the backend in use. After a switch of backend it
        # accepts nothing, and the general path binds the new backend's.
        self._kernels, check_scope, self._presigned = self.verifier._scope_checker()
        self._header_verifier = check_scope.__self__
        self._check_environ = self._kernels.check_environ

    def _general(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self._kernels is not _backend.kernels:
            self._bind_fast_path()
        try:
            self._verify(environ)
        except VerificationError as error:
            return self._refuse(error, start_response)
        stream = environ.get("wsgi.input")
        if stream.__class__ is not _DecodedInput:
            return cast(Iterable[bytes], self.app(environ, start_response))
        try:
            return cast(Iterable[bytes], self.app(environ, start_response))
        except VerificationError as error:
            if error is not stream.error:
                raise
            # An app that let the bad chunk's error out: answer it, replacing any response
            # the app had begun (PEP 3333's exc_info), which the server refuses once sent.
            return self._refuse(error, start_response, sys.exc_info())

    def _refuse(self, error: VerificationError, start_response: Callable[..., Any],
                exc_info: Any = None) -> List[bytes]:
        status, headers, body = self._error(error)
        if exc_info is None:
            start_response(f"{status} {_STATUS_TEXT.get(status, 'Error')}", headers)
        else:
            start_response(f"{status} {_STATUS_TEXT.get(status, 'Error')}", headers, exc_info)
        return [body]

    def _verify(self, environ: Dict[str, Any]) -> None:
        headers = _backend.kernels.wsgi_headers(environ)
        length = _content_length(environ.get("CONTENT_LENGTH") or None, self.max_body_size)
        # A body without Content-Length is a chunked one that the server ends for us; waitress
        # and gunicorn set wsgi.input_terminated on every request, a bodiless GET's too.
        chunked = (length is None and environ.get("wsgi.input_terminated", False)
                   and "HTTP_TRANSFER_ENCODING" in environ)
        verified = self._begin(environ.get("REQUEST_METHOD", "GET"), _wsgi_target(environ),
                               headers, length, _declared_hash(headers), bool(length) or chunked)
        if verified.__class__ is ChunkedReader:
            reader = verified
            reader._read = _limited(environ["wsgi.input"], length)
            environ["wsgi.input"] = _DecodedInput(reader)
            environ["CONTENT_LENGTH"] = str(reader.decoded_length)
            encoding = _without_aws_chunked(environ.pop("HTTP_CONTENT_ENCODING", ""))
            if encoding:
                environ["HTTP_CONTENT_ENCODING"] = encoding
            verified = reader.verified
        elif verified.__class__ is _Pending:
            pending = verified
            stream = environ["wsgi.input"]
            remaining = length
            while remaining is None or remaining > 0:
                data = stream.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
                if not data:
                    if remaining:
                        raise IncompleteBodyError("The request body is shorter than Content-Length")
                    break
                pending.spool.add(data)
                if remaining is not None:
                    remaining -= len(data)
            verified = self._finish(pending)
            environ["wsgi.input"] = pending.spool.file
            environ["CONTENT_LENGTH"] = str(pending.spool.size)
        environ[ENVIRON_KEY] = verified


def _without_aws_chunked(encoding: str) -> str:
    """Content-Encoding as S3 keeps it: without aws-chunked, which the app never sees."""
    return ", ".join(part.strip() for part in encoding.split(",")
                     if part.strip() and part.strip().lower() != "aws-chunked")


def _limited(stream: Any, length: Optional[int]) -> Callable[[int], bytes]:
    """``read(n)`` of the framed body: never past Content-Length, where a server such as
    wsgiref would wait for bytes that never come."""
    if length is None:
        return stream.read  # type: ignore[no-any-return]
    remaining = length

    def read(size: int) -> bytes:
        nonlocal remaining
        if remaining <= 0:
            return b""
        data = stream.read(min(size, remaining))
        remaining -= len(data)
        return data  # type: ignore[no-any-return]

    return read


def _held_back(steps: Iterable[Optional[bytes]]) -> Iterable[Any]:
    """The reader's steps with each decoded piece one step late, as (piece, last): the last
    one comes out only once the steps have ended, that is once the trailer, its checksum and
    the end of the body have checked. None (more input needed) passes through."""
    held = None
    for piece in steps:
        if piece is None:
            yield None
        elif piece:
            if held is not None:
                yield held, False
            held = piece
    yield (held or b""), True


class _DecodedInput:
    """``wsgi.input`` of an aws-chunked upload: the decoded body, each piece once its chunk
    checks, the last held back until the trailer has checked. A bad chunk raises its
    VerificationError from ``read``, and again from every later read."""

    def __init__(self, reader: ChunkedReader) -> None:
        self._pieces = iter(_held_back(reader))
        self._buffer = b""
        self._done = False
        self.error: Optional[VerificationError] = None

    def _more(self) -> bool:
        if self.error is not None:
            raise self.error
        if self._done:
            return False
        try:
            piece, self._done = next(self._pieces)
        except VerificationError as error:
            self.error = error
            raise
        self._buffer += piece
        return True

    def read(self, size: Optional[int] = -1) -> bytes:
        if size is None or size < 0:
            while self._more():
                pass
            data, self._buffer = self._buffer, b""
            return data
        while len(self._buffer) < size and self._more():
            pass
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def readline(self, size: Optional[int] = -1) -> bytes:
        while b"\n" not in self._buffer and (size is None or size < 0 or len(self._buffer) < size):
            if not self._more():
                break
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        if size is not None and 0 <= size < end:
            end = size
        data, self._buffer = self._buffer[:end], self._buffer[end:]
        return data

    def readlines(self, hint: Any = None) -> List[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


def _wsgi_target(environ: Dict[str, Any]) -> str:
    """The request target as the client sent it: servers that keep it (gunicorn's RAW_URI,
    REQUEST_URI of uWSGI and waitress) give it as is. Otherwise it is re-encoded from the
    decoded path: exact for S3's rules, which decode it anyway; for other services exact when
    the client encoded as most HTTP clients do (sub-delimiters such as ``+`` and ``=`` left
    as they are). A decoded path cannot tell a raw ``+`` (a space to S3) from ``%2B`` (a
    plus): it is read as a plus, which is what the SDKs send."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is None:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING")
        raw = quote(path.encode("latin-1"),
                    safe=_path_safe(path, environ.get("HTTP_AUTHORIZATION"), query))
        if query:
            raw += "?" + query
    return _text(raw)


def _path_safe(path: str, authorization: Optional[str], query: Optional[str]) -> str:
    """What stays unencoded when a decoded path is encoded again: for S3 (its credential
    scope says) a plus becomes %2B, a plus to S3; elsewhere it stays, as clients send it."""
    if "+" not in path:
        return _PATH_SAFE
    from .signer import S3_SERVICES

    found = _CREDENTIAL_SERVICE.search(authorization or query or "")
    if found is not None and found.group(1) in S3_SERVICES:
        return _PATH_SAFE.replace("+", "")
    return _PATH_SAFE


def _text(latin1: str) -> str:
    # WSGI gives bytes as latin-1 text; requests carry UTF-8.
    try:
        return latin1.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise IncompleteBodyError("the request target is not valid UTF-8", "InvalidURI") from None


class _CoroutineEntry:
    """Where each request enters ASGIMiddleware, as a coroutine function: its base class when
    the compiled core is not built (with it, ``_speedups._ASGIEntry`` does the same in C)."""

    async def __call__(
        self, scope: Dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        # Most requests have no body to read and are settled by one call into the kernels;
        # the rest, and every refusal, take the general path, a coroutine of its own.
        verified = self._check_scope(scope, self._presigned)  # type: ignore[attr-defined]
        if verified is None:
            await self._general(scope, receive, send)  # type: ignore[attr-defined]
            return
        scope[ENVIRON_KEY] = verified  # in place, as Starlette's auth middleware does
        await self.app(scope, receive, send)  # type: ignore[attr-defined]


_Entry: Any = _CoroutineEntry if _compiled is None else _compiled._ASGIEntry


class ASGIMiddleware(_Entry, _Middleware):
    """Verifies each HTTP request of an ASGI application; other scopes pass through."""

    def _bind_fast_path(self) -> None:
        # The verifier's one-call check for the backend in use. After a switch of backend it
        # refuses every request, and the general path binds the new backend's.
        self._kernels, self._check_scope, self._presigned = self.verifier._scope_checker()
        if type(self).__call__ is _Entry.__call__ and _Entry is not _CoroutineEntry:
            # Servers tell ASGI 3 from ASGI 2 by whether ``app.__call__`` is a coroutine
            # function, and the compiled entry's is not: the instance's own attribute, which
            # getattr finds first, is the coroutine version. A call, ``app(...)``, never
            # looks there; it takes the type's. (A subclass's own __call__ is left alone.)
            self.__call__ = MethodType(_CoroutineEntry.__call__, self)

    async def _general(
        self, scope: Dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if self._kernels is not _backend.kernels:
            self._bind_fast_path()
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            pending = self._start(scope)
            if pending.__class__ is ChunkedReader:
                scope[ENVIRON_KEY] = pending.verified
                await self._stream_chunked(pending, scope, receive, send)
                return
            if pending.__class__ is not _Pending:
                scope[ENVIRON_KEY] = pending
            else:
                scope[ENVIRON_KEY], receive = await self._read_body(pending, receive)
        except VerificationError as error:
            await self._refuse(error, send)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, error: VerificationError, send: Callable[..., Any],
                      prefix: str = "http") -> None:
        status, headers, body = self._error(error)
        await send({
            "type": f"{prefix}.response.start",
            "status": status,
            "headers": [(n.encode(), v.encode()) for n, v in headers],
        })
        await send({"type": f"{prefix}.response.body", "body": body})

    async def _websocket(self, scope: Dict[str, Any], receive: Callable[..., Any],
                         send: Callable[..., Any]) -> None:
        """A handshake is verified as the GET it is. A refusal is AWS's error response where
        the server offers the websocket.http.response extension, else a close before the
        connection is accepted (the server then answers 403 with no body)."""
        try:
            target = _scope_target(scope)
            headers = [(n.decode("latin-1"), v.decode("latin-1"))
                       for n, v in scope.get("headers", ())]
            scope[ENVIRON_KEY] = self.verifier.verify("GET", target, headers)
        except VerificationError as error:
            if "websocket.http.response" in (scope.get("extensions") or {}):
                await self._refuse(error, send, "websocket.http")
            else:
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)

    async def _stream_chunked(self, reader: ChunkedReader, scope: Dict[str, Any],
                              receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        """Runs the app on the decoded body of an aws-chunked upload, handed out as it checks;
        the final message (more_body False) only once the trailer has checked. A bad chunk
        is an http.disconnect to the app, and AWS's error to the client if no response has
        started (the app's own messages are dropped from then on)."""
        pieces = iter(_held_back(reader.steps()))
        failed: List[VerificationError] = []
        started = finished = False

        async def decoded() -> Dict[str, Any]:
            nonlocal finished
            if finished:
                return await receive()  # type: ignore[no-any-return]
            if failed:
                return {"type": "http.disconnect"}
            try:
                while True:
                    step = next(pieces)
                    if step is not None:
                        break
                    message = await receive()
                    if message["type"] != "http.request":
                        raise IncompleteBodyError("the client went away before the body was complete")
                    if message.get("body"):
                        reader.feed(message["body"])
                    if not message.get("more_body", False):
                        reader.feed(b"")
            except VerificationError as error:
                failed.append(error)
                return {"type": "http.disconnect"}
            piece, finished = step
            return {"type": "http.request", "body": piece, "more_body": not finished}

        async def guarded_send(message: Dict[str, Any]) -> None:
            nonlocal started
            if failed:
                return
            started = True
            await send(message)

        headers = []
        for name, value in scope["headers"]:
            lname = name.lower()
            if lname == b"content-length":
                value = str(reader.decoded_length).encode()
            elif lname == b"content-encoding":
                value = _without_aws_chunked(value.decode("latin-1")).encode("latin-1")
                if not value:
                    continue
            headers.append((name, value))
        scope = dict(scope, headers=headers)
        try:
            await self.app(scope, decoded, guarded_send)
        except Exception:
            if not failed:
                raise  # the app's own failure; one after a refused chunk is its disconnect
        if failed and not started:
            await self._refuse(failed[0], send)

    def _start(self, scope: Dict[str, Any]) -> Any:
        """The VerifiedRequest of a request whose body need not be read first, the
        _Pending work of one whose body must be, or the ChunkedReader of an upload."""
        method = scope["method"]
        target = _scope_target(scope)
        headers = []
        length_header = None
        declared = None
        chunked = False
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1")
            value = raw_value.decode("latin-1")
            headers.append((name, value))
            lname = name.lower()  # servers send lowercase names; be sure
            if lname == "content-length":
                length_header = value
            elif lname == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif lname == "x-amz-content-sha256" and declared is None:
                declared = value.strip()
        length = _content_length(length_header, self.max_body_size)
        return self._begin(method, target, headers, length, declared,
                           bool(length) or (length is None and chunked))

    async def _read_body(
        self, pending: _Pending, receive: Callable[..., Any]
    ) -> Tuple[VerifiedRequest, Callable[..., Any]]:
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                raise IncompleteBodyError("the client went away before the body was complete")
            pending.spool.add(message.get("body", b""))
            more = message.get("more_body", False)
        return self._finish(pending), _replay(pending.spool.file, receive)


def _scope_target(scope: Dict[str, Any]) -> str:
    """The origin-form target of an ASGI scope as the client sent it (``raw_path``); from the
    decoded ``path`` when the server gives no raw one (a ``+`` then read as a plus)."""
    raw_path = scope.get("raw_path")
    query = scope.get("query_string", b"")
    if raw_path is None:
        path = scope.get("path") or "/"
        authorization = next((v.decode("latin-1") for n, v in scope.get("headers", ())
                              if n.lower() == b"authorization"), None)
        raw_path = quote(path.encode("utf-8"),
                         safe=_path_safe(path, authorization, query.decode("latin-1"))).encode()
    target = raw_path.decode("latin-1")
    if query:
        target += "?" + query.decode("latin-1")
    return _text(target)


def _replay(file: Any, receive: Callable[..., Any]) -> Callable[..., Any]:
    """A ``receive`` that hands out the spooled body, then defers to the server's."""
    finished = False

    async def replay() -> Dict[str, Any]:
        nonlocal finished
        if finished:
            message: Dict[str, Any] = await receive()
            return message
        data = file.read(_CHUNK)
        more = len(data) == _CHUNK
        if not more:
            finished = True
            file.close()
        return {"type": "http.request", "body": data, "more_body": more}

    return replay

