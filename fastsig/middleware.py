"""WSGI and ASGI middleware that verify every request before the application sees it.

A verified request reaches the application with its ``VerifiedRequest`` in
``environ["fastsig.verified"]`` (WSGI) or ``scope["fastsig.verified"]`` (ASGI); a failed one is
answered with AWS's error body (XML by default, or JSON) and status, and never reaches it.

Bodies are hashed as they stream in. A body is held in memory up to ``memory_limit`` bytes and
spooled to a temporary file beyond that; ``max_body_size`` refuses larger bodies outright.
When the client declares the body's hash (``x-amz-content-sha256``), the signature is checked
before a byte of the body is read; with ``UNSIGNED-PAYLOAD`` the body is not read at all.
"""

from __future__ import annotations

import json
import re
import tempfile
from types import MethodType
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, cast
from urllib.parse import quote
from xml.sax.saxutils import escape

from . import _backend
from ._errors import IncompleteBodyError, PayloadHashMismatchError, VerificationError
from .sigv4 import UNSIGNED_PAYLOAD
from .verifier import Verifier, VerifiedRequest

__all__ = ["ASGIMiddleware", "WSGIMiddleware"]

ENVIRON_KEY = "fastsig.verified"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_CHUNK = 65536
_PATH_SAFE = "/-_.~!$&'()*+,;=:@"  # RFC 3986 pchar: what clients leave unencoded in a path
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


def _error_response(error: VerificationError, error_format: str) -> Tuple[int, List[Tuple[str, str]], bytes]:
    message = str(error)[:512]
    if error_format == "json":
        body = json.dumps({"__type": error.code, "message": message}).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", error.code)]
    else:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(error.code)}</Code><Message>{escape(message)}</Message></Error>"
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
    """Collects a body while hashing it: in memory up to a limit, on disk beyond it."""

    def __init__(self, memory_limit: int, max_body_size: Optional[int]) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=memory_limit)
        self.hash = _backend.kernels.Sha256()
        self.size = 0
        self.max_body_size = max_body_size

    def add(self, data: bytes) -> None:
        self.size += len(data)
        if self.max_body_size is not None and self.size > self.max_body_size:
            raise _TooLargeError()
        self.hash.update(data)
        self.file.write(data)

    def done(self) -> str:
        self.file.seek(0)
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
    ) -> None:
        if error_format not in ("xml", "json"):
            raise ValueError("error_format must be 'xml' or 'json'")
        self.app = app
        self.verifier = verifier
        self.error_format = error_format
        self.memory_limit = memory_limit
        self.max_body_size = max_body_size
        self._bind_fast_path()

    def _bind_fast_path(self) -> None:
        """Where the ASGI middleware takes the verifier's one-call check."""

    def _begin(self, method: str, target: str, headers: List[Tuple[str, str]],
               length: Optional[int], declared: Optional[str], has_body: bool) -> Any:
        """The VerifiedRequest of a request whose body need not be read, or the _Pending
        work of one whose body must be spooled first (and given to ``_finish``)."""
        plan = _Plan(declared, has_body)
        verified = None
        if plan.verify_first:
            verified = self.verifier.verify(
                method, target, headers, None,
                payload_hash=plan.declared if plan.read else None,
            )
            if not plan.read:
                return verified
        spool = _Spool(self.memory_limit, self.max_body_size)
        return _Pending(method, target, headers, length, plan, verified, spool)

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
        if pending.verified is not None:
            return pending.verified
        return self.verifier.verify(
            pending.method, pending.target, pending.headers, payload_hash=actual)


class _Pending:
    """A request verified as far as it can be before its body is read."""

    __slots__ = ("method", "target", "headers", "length", "plan", "verified", "spool")

    def __init__(self, method: str, target: str, headers: List[Tuple[str, str]],
                 length: Optional[int], plan: _Plan, verified: Optional[VerifiedRequest],
                 spool: _Spool) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.length = length
        self.plan = plan
        self.verified = verified
        self.spool = spool


class WSGIMiddleware(_Middleware):
    """Verifies each request of a WSGI application.

    >>> from fastsig import Credentials, Verifier
    >>> from fastsig.middleware import WSGIMiddleware
    >>> def app(environ, start_response):
    ...     start_response("200 OK", [("Content-Type", "text/plain")])
    ...     return [environ["fastsig.verified"].access_key_id.encode()]
    >>> keys = {"AKIDEXAMPLE": Credentials("AKIDEXAMPLE", "secret")}
    >>> app = WSGIMiddleware(app, Verifier(keys.get))
    """

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            self._verify(environ)
        except VerificationError as error:
            status, headers, body = _error_response(error, self.error_format)
            start_response(f"{status} {_STATUS_TEXT.get(status, 'Error')}", headers)
            return [body]
        return cast(Iterable[bytes], self.app(environ, start_response))

    def _verify(self, environ: Dict[str, Any]) -> None:
        headers = _wsgi_headers(environ)
        length = _content_length(environ.get("CONTENT_LENGTH") or None, self.max_body_size)
        chunked = length is None and environ.get("wsgi.input_terminated", False)
        verified = self._begin(environ.get("REQUEST_METHOD", "GET"), _wsgi_target(environ),
                               headers, length, _declared_hash(headers), bool(length) or chunked)
        if verified.__class__ is _Pending:
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


def _wsgi_target(environ: Dict[str, Any]) -> str:
    """The request target as the client sent it: servers that keep it (gunicorn's RAW_URI,
    REQUEST_URI of uWSGI and waitress) give it as is. Otherwise it is re-encoded from the
    decoded path: exact for S3's rules, which decode it anyway; for other services exact when
    the client encoded as most HTTP clients do (sub-delimiters such as ``+`` and ``=`` left
    as they are)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is None:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        raw = quote(path.encode("latin-1"), safe=_PATH_SAFE)
        query = environ.get("QUERY_STRING")
        if query:
            raw += "?" + query
    return _text(raw)


def _text(latin1: str) -> str:
    # WSGI gives bytes as latin-1 text; requests carry UTF-8.
    try:
        return latin1.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise IncompleteBodyError("the request target is not valid UTF-8", "InvalidURI") from None


def _wsgi_headers(environ: Dict[str, Any]) -> List[Tuple[str, str]]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-"), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-"), value))
    return headers


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


_compiled = _backend.available.get("cython")
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
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            pending = self._start(scope)
            if pending.__class__ is not _Pending:
                scope[ENVIRON_KEY] = pending
            else:
                scope[ENVIRON_KEY], receive = await self._read_body(pending, receive)
        except VerificationError as error:
            status, headers, body = _error_response(error, self.error_format)
            await send({
                "type": "http.response.start",
                "status": status,
                "headers": [(n.encode(), v.encode()) for n, v in headers],
            })
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    def _start(self, scope: Dict[str, Any]) -> Any:
        """The VerifiedRequest of a request whose body need not be read first, or the
        _Pending work of one whose body must be."""
        method = scope["method"]
        raw_path = scope.get("raw_path")
        if raw_path is None:
            raw_path = quote(scope["path"].encode("utf-8"), safe=_PATH_SAFE).encode()
        target = raw_path.decode("latin-1")
        query = scope.get("query_string", b"")
        if query:
            target += "?" + query.decode("latin-1")
        target = _text(target)
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

