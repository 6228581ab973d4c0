"""Verification shared by both kinds of signed request, and presigned URLs' check.

The pure-Python twin of ``_kernels/verify.pxi``: the same names, byte-identical results
and the same exceptions."""

from __future__ import annotations

import hmac
import re
from typing import Any, Optional

from fastsig._errors import SigningError
from fastsig._timestamp import parse_amz_date

from .hashing import ALGORITHM, EMPTY_SHA256, UNSIGNED_PAYLOAD, _sha256
from .query import split_auth_query
from .request import _check_method, split_url
from .uri import PathPolicy

_EXPIRES = re.compile(r"[0-9]{1,6}")
_SCOPE_PART = r"[A-Za-z0-9._\-]+"
_SCOPE = re.compile(rf"([^/]+)/([0-9]{{8}})/({_SCOPE_PART})/({_SCOPE_PART})/aws4_request")


class PresignedVerifier:
    """Accepts a bare presigned URL in one call: a well-formed AWS4-HMAC-SHA256 query that
    signs only the host, no headers, no body, inside its validity window and the settings'
    region and service, with a signature that checks out under ``key_for(access key id, date,
    region, service)`` (which returns (SigningKey, session token or None), or None).
    ``lookup`` is the verifier's: while it returns the very same object for a key, the
    signing key found for it before may be reused.

    ``check`` returns a ``result_type`` (a tuple type: the verifier's ``VerifiedRequest``)
    made of the request's fields, asking ``clock()`` for the time; or None for anything else: the
    verifier's general path then judges the request and says what is wrong with it. So this
    class never rejects, it only accepts faster, and its twins may differ only in how often
    they return None."""

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
        self._unsigned_payload = unsigned_payload
        self._clock = clock
        self._result_type = result_type
        self._lookup = lookup  # the compiled twin memoizes keys while lookup's answer stays
        self._s3_services = s3_services
        self._s3_paths = s3_paths
        self._service_paths = service_paths
        self._region = region
        self._service = service
        self._max_skew = max_skew
        self._key_for = key_for

    def check_headers(self, method: str, url: str, headers: Any) -> Optional[tuple]:
        """``check`` of a presigned URL sent with headers: in pure Python the verifier's
        general path is as fast as this could be, so this twin defers to it."""
        return None

    def check(self, method: str, url: str) -> Optional[tuple]:
        try:
            method = _check_method(method)
            _, host, path, query = split_url(url)
            cq, auth = split_auth_query(query)
        except SigningError:
            return None
        if None in auth.values() or len(auth) - ("X-Amz-Security-Token" in auth) != 6:
            return None
        amz_date = auth["X-Amz-Date"]
        expires = auth["X-Amz-Expires"]
        epoch = parse_amz_date(amz_date)
        now = self._clock()
        scope = _SCOPE.fullmatch(auth["X-Amz-Credential"])
        if (
            auth["X-Amz-Algorithm"] != ALGORITHM
            or auth["X-Amz-SignedHeaders"] != "host"
            or not _EXPIRES.fullmatch(expires)
            or not 1 <= int(expires) <= 604800
            or epoch is None
            or now > epoch + int(expires)
            or epoch - now > self._max_skew
            or scope is None
            or scope.group(2) != amz_date[:8]
        ):
            return None
        access_key_id, scope_date, region, service = scope.groups()
        if (self._region is not None and region != self._region) or (
            self._service is not None and service != self._service
        ):
            return None
        is_s3 = service in self._s3_services
        if is_s3 and self._unsigned_payload is False:
            return None
        try:
            canonical_uri = (self._s3_paths if is_s3 else self._service_paths).paths(path)[1]
        except SigningError:
            return None
        found = self._key_for(access_key_id, scope_date, region, service)
        if found is None:
            return None
        key, expected_token = found
        token = auth.get("X-Amz-Security-Token")
        if expected_token is not None and (
            token is None
            or not hmac.compare_digest(token.encode("utf-8"), expected_token.encode("utf-8"))
        ):
            return None
        payload = UNSIGNED_PAYLOAD if is_s3 else EMPTY_SHA256
        creq = f"{method}\n{canonical_uri}\n{cq}\nhost:{host}\n\nhost\n{payload}"
        sts = (
            f"{ALGORITHM}\n{amz_date}\n{scope_date}/{region}/{service}/aws4_request\n"
            + _sha256(creq.encode("utf-8")).hexdigest()
        )
        signature = auth["X-Amz-Signature"]
        try:
            if not hmac.compare_digest(key.sign(sts), signature):
                return None
        except TypeError:  # a non-ASCII signature
            return None
        return tuple.__new__(self._result_type, (access_key_id, region, service, ("host",), epoch,
                                                 epoch + int(expires), token, True, payload))
