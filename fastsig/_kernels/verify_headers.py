"""Verification of header-signed requests (Authorization), and the ASGI scope check.

The pure-Python twin of ``_kernels/verify_headers.pxi``: like ``verify.PresignedVerifier``,
it leaves every request to the verifier's general path, where the pure backend's rules are
written once."""

from __future__ import annotations

from typing import Any, Optional

from .verify import PresignedVerifier


class HeaderVerifier(PresignedVerifier):
    """Accepts a header-signed request, or a presigned URL sent with the headers it signs or
    a body, in one call, or returns None: the compiled twin does the verifier's work in C for
    requests in the usual form; this one always returns None."""

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
        return None
