"""Verification shared by both kinds of signed request, and presigned URLs' check.

The pure-Python twin of ``_kernels/verify.pxi``: the same names and the same answers, with
one difference its contract allows (see ``PresignedVerifier``): this twin never accepts on
its own. The rules of verification are written once in Python, in the verifier's general
path (``fastsig/verifier.py``), which the pure backend runs for every request; a second
copy here would only be a second place for them to drift apart."""

from __future__ import annotations

from typing import Any, Optional

from .uri import PathPolicy


class PresignedVerifier:
    """Accepts a bare presigned URL in one call: a well-formed AWS4-HMAC-SHA256 query that
    signs only the host, no headers, no body, inside its validity window and the settings'
    region and service, with a signature that checks out under ``key_for(access key id, date,
    region, service)`` (which returns (SigningKey, session token or None), or None).
    ``lookup`` is the verifier's: while it returns the very same object for a key, the
    signing key found for it before may be reused.

    ``check`` returns a ``result_type`` (a tuple type: the verifier's ``VerifiedRequest``)
    made of the request's fields, asking ``clock()`` for the time; or None for anything else:
    the verifier's general path then judges the request and says what is wrong with it. So
    this class never rejects, it only accepts faster, and its twins may differ only in how
    often they return None: this one always does, the general path being as fast as anything
    written in Python here could be."""

    def __init__(
        self,
        s3_services: frozenset,
        s3_paths: PathPolicy,
        service_paths: PathPolicy,
        region: Optional[str],
        service: Optional[str],
        max_skew: float,
        clock: Any,
        lookup: Any,
        key_for: Any,
        result_type: type,
        unsigned_payload: Optional[bool] = None,
    ) -> None:
        self._settings = (s3_services, s3_paths, service_paths, region, service, max_skew,
                          clock, lookup, key_for, result_type, unsigned_payload)

    def check_headers(self, method: str, url: str, headers: Any) -> Optional[tuple]:
        """``check`` of a presigned URL sent with the headers a server hands over."""
        return None

    def check(self, method: str, url: str) -> Optional[tuple]:
        return None
