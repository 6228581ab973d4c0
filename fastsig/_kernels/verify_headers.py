"""Verification of header-signed requests (Authorization), and the ASGI scope check.

The pure-Python twin of ``_kernels/verify_headers.pxi``: the same names, byte-identical results
and the same exceptions."""

from __future__ import annotations

import re
from typing import Any, Optional, cast

from fastsig._errors import InvalidURLError

from .request import _origin
from .verify import PresignedVerifier

# A Host header that splices into a URL unchanged: lowercase (a URL's host loses its
# capitals, the header as signed keeps them), and nothing that would end the authority.
_PLAIN_HOST = re.compile(rb"[-.:\[\]0-9a-z]+")


def _in_use() -> bool:
    """Whether this twin is the backend in use: tests switch backends in one process."""
    from fastsig import _backend  # which imports this module: not at import time

    return _backend.kernels is _backend.available["python"]


class HeaderVerifier(PresignedVerifier):
    """Accepts a header-signed request in one call, or returns None: the compiled twin does
    the verifier's work in C for requests in the usual form. In pure Python the verifier's
    general path is as fast as anything here could be, so this twin always defers to it."""

    def check(  # type: ignore[override]  # the compiled twin's signature, as the stub says
        self, method: str, url: str, headers: Any, payload_hash: Optional[str],
        defer: bool = False,
    ) -> Optional[Any]:
        """With ``defer``, a request whose payload is its body's hash (no
        x-amz-content-sha256, not S3) comes back, having passed every check but its
        signature, as an object whose ``finish(payload_hash)`` is the result or None."""
        return None

    def check_scope(self, scope: Any, presigned: PresignedVerifier) -> Optional[tuple]:
        """An ASGI HTTP request with no body to read, accepted in one call: a header-signed
        one by ``check`` (its target in origin form, its headers as the server gives them),
        a presigned URL without x-amz-* headers by ``presigned``; or None."""
        if scope.__class__ is not dict or scope.get("type") != "http" or not _in_use():
            return None
        raw_path = scope.get("raw_path")
        query = scope.get("query_string", b"")
        headers = scope.get("headers")
        if raw_path.__class__ is not bytes or query.__class__ is not bytes:
            return None
        if not raw_path.startswith(b"/"):
            return None  # an odd target ("*", absolute form): the general path judges it
        if headers.__class__ is not list:
            return None
        host = None
        header_signed = False
        for item in headers:
            if item.__class__ is not tuple or len(item) != 2 or item[0].__class__ is not bytes:
                return None
            name = item[0].lower()
            if name == b"authorization" or name.startswith(b"x-amz-"):
                header_signed = True
            elif name == b"host":
                if host is not None:
                    return None  # two: the general path refuses them
                host = item[1]
            elif name == b"content-length":
                if item[1] != b"0":
                    return None  # a body to read, or a length the general path must judge
            elif name == b"transfer-encoding":
                return None
        target = raw_path + b"?" + query if query else raw_path
        try:
            if header_signed:
                return self.check(cast(str, scope.get("method")), target.decode("utf-8"), headers,
                                  None)
            scheme = scope.get("scheme", "http")
            if host.__class__ is not bytes or not _PLAIN_HOST.fullmatch(host):
                return None
            if scheme.__class__ is not str:
                return None
            # The URL's host is the Host header as sent only when the signers' rules leave it
            # so (no default, empty or zero-padded port): the general path signs it as sent.
            host_header = host.decode("ascii")
            if _origin(scheme, host_header)[1] != host_header:
                return None
            url = scheme.encode("utf-8") + b"://" + host + target
            return presigned.check(cast(str, scope.get("method")), url.decode("utf-8"))
        except (UnicodeError, InvalidURLError):
            return None
