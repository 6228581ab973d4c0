"""Verifying the legacy signatures, SigV2 and HmacV1, for a ``Verifier`` that allows them
(``Verifier(..., legacy=("sigv2", "hmacv1"))``); a verifier that does not refuses them as S3
does: ``InvalidRequest``, "The authorization mechanism you have provided is not supported".

The strings to sign are the signers' own (``fastsig._sigv2``, ``fastsig._hmacv1``), built from
the request as received: the path and the query exactly as sent.
"""

from __future__ import annotations

import email.utils
import hmac
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple
from urllib.parse import unquote

from . import _hmacv1, _sigv2
from ._errors import (
    InvalidSecurityTokenError,
    MalformedAuthorizationError,
    MalformedRequestError,
    RequestExpiredError,
    RequestTimeTooSkewedError,
    SignatureMismatchError,
    SigningError,
    UnknownAccessKeyError,
    VerificationError,
)
from ._timestamp import parse_iso8601
from .sigv4 import UNSIGNED_PAYLOAD

if TYPE_CHECKING:
    from .verifier import Verifier, VerifiedRequest

__all__ = ["LEGACY_ALGORITHMS", "legacy_kind", "verify_legacy"]

LEGACY_ALGORITHMS = frozenset({"sigv2", "hmacv1"})
Found = Dict[str, List[Tuple[str, str]]]


def _query_names(query: str) -> List[str]:
    return [part.partition("=")[0] for part in query.split("&") if part]


def _form_body(found: Found, body: Any) -> Optional[str]:
    """A form body as text, when the request has one in memory."""
    types = found.get("content-type")
    if not types or not types[0][1].lower().startswith(_sigv2.FORM_TYPE):
        return None
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return None
    return body if isinstance(body, str) else None


def legacy_kind(found: Found, query: str, body: Any) -> Optional[str]:
    """'hmacv1', 'sigv2' or None (a SigV4 request, or an unsigned one)."""
    authorization = found.get("authorization")
    if authorization:
        return "hmacv1" if authorization[0][1].startswith("AWS ") else None
    names = _query_names(query)
    if "X-Amz-Signature" in names or "X-Amz-Algorithm" in names:
        return None
    if "SignatureVersion" in names:
        return "sigv2"
    if "Signature" in names and "AWSAccessKeyId" in names:
        return "hmacv1"
    form = _form_body(found, body)
    if form is not None and "SignatureVersion" in _query_names(form):
        return "sigv2"
    return None


def _credentials(verifier: "Verifier", access_key_id: str, is_s3: bool) -> Any:
    if not access_key_id:
        raise MalformedAuthorizationError("the request names no access key")
    return verifier._credentials(access_key_id, is_s3)


def _check_token(credentials: Any, token: Optional[str], is_s3: bool) -> None:
    expected = credentials.session_token
    if expected is not None and (
        token is None
        or not hmac.compare_digest(token.encode("utf-8", "surrogatepass"), expected.encode())
    ):
        raise InvalidSecurityTokenError(
            "the security token included in the request is invalid",
            "InvalidToken" if is_s3 else "InvalidClientTokenId",
        )


def _check_signature(expected: str, given: str) -> None:
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass")):
        raise SignatureMismatchError(
            "The request signature we calculated does not match the signature you provided")


def _single(found: Found, lname: str) -> Optional[str]:
    values = found.get(lname)
    if not values:
        return None
    if len(values) > 1:
        raise MalformedAuthorizationError(f"more than one {lname} header")
    return values[0][1].strip()


def _raw_pairs(query: str) -> List[Tuple[str, Optional[str]]]:
    pairs: List[Tuple[str, Optional[str]]] = []
    for part in query.split("&"):
        if part:
            key, eq, value = part.partition("=")
            pairs.append((key, value if eq else None))
    return pairs


def _verify_hmacv1(verifier: "Verifier", method: str, host: str, path: str, query: str,
                   found: Found) -> "VerifiedRequest":
    from .verifier import VerifiedRequest

    if verifier._service is not None and verifier._service != "s3":
        raise SignatureMismatchError(f"HmacV1 signs S3 requests, not {verifier._service}")
    pairs = _raw_pairs(query)
    values: Dict[str, List[str]] = {n: [v for _, v in items] for n, items in found.items()}
    now = verifier._clock()
    authorization = found.get("authorization")
    if authorization:
        if len(authorization) > 1:
            raise MalformedAuthorizationError("more than one Authorization header")
        access_key_id, colon, signature = authorization[0][1][4:].strip().rpartition(":")
        if not colon:
            raise MalformedAuthorizationError("the Authorization header must be AWS key:signature")
        expires = None
        amz_date = _single(found, "x-amz-date")
        date_text = amz_date if amz_date is not None else _single(found, "date")
        if not date_text:
            raise VerificationError(
                "AWS authentication requires a valid Date or x-amz-date header")
        try:
            epoch = int(email.utils.parsedate_to_datetime(date_text).timestamp())
        except (TypeError, ValueError, IndexError):
            raise VerificationError(
                "AWS authentication requires a valid Date or x-amz-date header") from None
        if abs(now - epoch) > verifier._max_skew:
            raise RequestTimeTooSkewedError(
                "the difference between the request time and the current time is too large")
        date_line = "" if amz_date is not None else values["date"][0].strip()
        token = _single(found, "x-amz-security-token")
    else:
        params: Dict[str, str] = {}
        for key, value in pairs:
            if key in ("AWSAccessKeyId", "Signature", "Expires", "x-amz-security-token"):
                if key in params:
                    raise MalformedAuthorizationError(f"the presigned URL repeats {key}")
                params[key] = unquote(value or "")
            elif key.lower().startswith("x-amz-") or key.lower() in ("content-md5", "content-type"):
                # The signed headers travel in the query of a presigned URL.
                values[key.lower()] = [unquote(value or "")]
        access_key_id = params.get("AWSAccessKeyId", "")
        signature = params.get("Signature", "")
        date_line = params.get("Expires", "")
        if not date_line.isdigit() or len(date_line) > 12:
            raise MalformedAuthorizationError("Expires must be epoch seconds")
        expires = epoch = int(date_line)
        if now > expires:
            raise RequestExpiredError("Request has expired")
        token = params.get("x-amz-security-token")
        values["x-amz-security-token"] = [token] if token is not None else []
        if token is None:
            del values["x-amz-security-token"]
    credentials = _credentials(verifier, access_key_id, True)
    _check_token(credentials, token, True)
    text = _hmacv1.string_to_sign(method, date_line, values, _hmacv1.resource(host, path, pairs))
    _check_signature(_hmacv1.signature(credentials.secret_access_key, text), signature)
    signed = tuple(sorted(n for n in values if n.startswith("x-amz-")
                          or n in ("content-md5", "content-type", "date")))
    return VerifiedRequest(access_key_id, verifier._region or "", "s3", signed, epoch, expires,
                           token, expires is not None, UNSIGNED_PAYLOAD)


def _verify_sigv2(verifier: "Verifier", method: str, host: str, path: str, query: str,
                  found: Found, body: Any) -> "VerifiedRequest":
    from .verifier import VerifiedRequest

    form = None if query else _form_body(found, body)
    try:
        pairs = _sigv2.form_params(form) if form is not None else _sigv2._query_params(query)
    except (SigningError, ValueError):
        raise MalformedRequestError("the SigV2 parameters are not valid UTF-8") from None
    params: Dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise MalformedAuthorizationError(f"the request repeats the parameter {key}")
        params[key] = value
    for name in ("AWSAccessKeyId", "SignatureMethod", "Signature"):
        if name not in params:
            raise MalformedAuthorizationError(f"the request lacks {name}")
    if params.get("SignatureVersion") != "2":
        raise MalformedAuthorizationError("SignatureVersion must be 2")
    method_name = params["SignatureMethod"]
    if method_name not in ("HmacSHA256", "HmacSHA1"):
        raise MalformedAuthorizationError("SignatureMethod must be HmacSHA256 or HmacSHA1")
    if ("Timestamp" in params) == ("Expires" in params):
        raise MalformedAuthorizationError("the request needs one of Timestamp and Expires")
    when = parse_iso8601(params.get("Timestamp") or params["Expires"])
    if when is None:
        raise MalformedAuthorizationError("Timestamp and Expires are ISO 8601 times")
    epoch = int(when.timestamp())
    now = verifier._clock()
    expires = None
    if "Expires" in params:
        expires = epoch
        if now > expires:
            raise RequestExpiredError("Request has expired")
    elif abs(now - epoch) > verifier._max_skew:
        raise RequestTimeTooSkewedError(
            "the difference between the request time and the current time is too large")
    service = verifier._service or ""
    credentials = _credentials(verifier, params["AWSAccessKeyId"], False)
    token = params.get("SecurityToken")
    _check_token(credentials, token, False)
    text = _sigv2.string_to_sign(method, host, path, params)
    _check_signature(_sigv2.signature(credentials.secret_access_key, text, method_name),
                     params["Signature"])
    return VerifiedRequest(params["AWSAccessKeyId"], verifier._region or "", service, (), epoch,
                           expires, token, expires is not None, UNSIGNED_PAYLOAD)


def verify_legacy(verifier: "Verifier", kind: str, method: str, host: Optional[str], path: str,
                  query: str, found: Found, body: Any) -> "VerifiedRequest":
    """Verify a request ``legacy_kind`` found to be SigV2 or HmacV1, or refuse it when the
    verifier does not allow that kind."""
    if kind not in verifier._legacy:
        raise MalformedRequestError(
            "The authorization mechanism you have provided is not supported. "
            "Please use AWS4-HMAC-SHA256.")
    hosts = found.get("host")
    if hosts:
        host = hosts[0][1].strip().lower()
    if not host:
        raise MalformedAuthorizationError("the request has no Host")
    path = path or "/"
    try:
        if kind == "hmacv1":
            return _verify_hmacv1(verifier, method, host, path, query, found)
        return _verify_sigv2(verifier, method, host, path, query, found, body)
    except UnknownAccessKeyError:
        raise
    except (SigningError, UnicodeError):
        raise MalformedRequestError("the request cannot be canonicalized") from None
