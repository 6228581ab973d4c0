"""The WSGI middleware's entry check: the pure twin of ``_kernels/wsgi.pxi``."""

from __future__ import annotations

import hashlib
import io
from typing import Any, Dict, Optional

from fastsig._errors import InvalidURLError

from .headers import wsgi_headers
from .request import _origin
from .verify_headers import _PLAIN_HOST, _in_use

__all__ = ["check_environ"]

_DIGITS = frozenset("0123456789")


def _body_length(value: Any) -> int:
    """CONTENT_LENGTH as a count: 0 for none or empty, -1 for what the general path judges."""
    if value is None or value == "":
        return 0
    if value.__class__ is not str or len(value) > 15 or not _DIGITS.issuperset(value):
        return -1
    return int(value)


def _read_exactly(stream: Any, length: int) -> bytes:
    data = bytes(stream.read(length))
    parts = [data]
    got = len(data)
    while got < length:
        more = stream.read(length - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def check_environ(verifier: Any, presigned: Any, environ: Dict[str, Any], memory_limit: float,
                  max_body_size: Optional[float]) -> Optional[tuple]:
    """A WSGI request accepted in one call, or None for WSGIMiddleware's general path (which
    also builds every error): with no body, header-signed by ``verifier`` or a presigned URL
    by ``presigned``; header-signed with a body within ``memory_limit``, which is read,
    hashed and left in ``wsgi.input`` as a BytesIO (also when None is returned, for the
    general path to read again). A raw target (RAW_URI, REQUEST_URI) in ASCII is needed."""
    if environ.__class__ is not dict or not _in_use():
        return None
    host = declared = None
    header_signed = chunked = False
    for key, value in environ.items():
        if key.__class__ is not str or not key.isascii():
            return None
        if key == "HTTP_AUTHORIZATION":
            header_signed = True
        elif key.startswith("HTTP_X_AMZ_"):
            header_signed = True
            if key == "HTTP_X_AMZ_CONTENT_SHA256":
                declared = value
        elif key == "HTTP_HOST":
            host = value
        elif key == "HTTP_TRANSFER_ENCODING":
            chunked = True
    length = _body_length(environ.get("CONTENT_LENGTH"))
    # A bodiless request under wsgi.input_terminated (waitress, gunicorn: every GET) has no
    # Transfer-Encoding: it is not a chunked body. One that has it goes the general way.
    if length < 0 or chunked:
        return None
    method = environ.get("REQUEST_METHOD", "GET")
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if (method.__class__ is not str or target.__class__ is not str or not target.isascii()
            or not target.startswith("/")):
        return None
    if header_signed:
        headers = wsgi_headers(environ)
        if length == 0:
            return verifier.check(method, target, headers, None)
        if length > memory_limit or (max_body_size is not None and length > max_body_size):
            return None
        if declared is None:
            pending = verifier.check(method, target, headers, None, True)
        elif declared == "UNSIGNED-PAYLOAD":
            return verifier.check(method, target, headers, None)
        elif declared.__class__ is str and len(declared) == 64:
            pending = verifier.check(method, target, headers, declared)
        else:
            return None
        if pending is None:
            return None
        data = _read_exactly(environ["wsgi.input"], length)
        environ["wsgi.input"] = io.BytesIO(data)
        if len(data) != length:
            return None
        actual = hashlib.sha256(data).hexdigest()
        if declared is None:
            verified = pending.finish(actual)
        else:
            verified = pending if actual == declared else None
        if verified is not None:
            environ["CONTENT_LENGTH"] = str(length)
        return verified
    if length:
        return None
    scheme = environ.get("wsgi.url_scheme", "http")
    if (host.__class__ is not str or not host.isascii() or scheme.__class__ is not str
            or not scheme.isascii() or not _PLAIN_HOST.fullmatch(host.encode("ascii"))):
        return None
    path, _, query = target.partition("?")
    if "#" in path or "#" in query:
        return None
    try:
        # The URL's host is the Host header as sent only when the signers' rules leave it so.
        if _origin(scheme, host)[1] != host:
            return None
        return presigned.check(method, f"{scheme}://{host}{target}")
    except (UnicodeError, InvalidURLError):
        return None
