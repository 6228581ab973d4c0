"""The low-level SigV4 layer, one function per step of the specification.

For people who build their own requests or verifiers. ``fastsig.Signer`` is the friendly front
door and uses the same kernels, so both always agree.

>>> from fastsig import sigv4
>>> creq = sigv4.canonical_request(
...     "GET", sigv4.canonical_uri("/"), sigv4.canonical_query("Param1=value1"),
...     *sigv4.canonical_headers({"Host": "example.amazonaws.com",
...                               "X-Amz-Date": "20150830T123600Z"}),
...     sigv4.EMPTY_SHA256)
>>> sts = sigv4.string_to_sign("20150830T123600Z",
...     sigv4.credential_scope("20150830", "us-east-1", "service"), creq)
>>> key = sigv4.derive_signing_key(
...     "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "service")
>>> sigv4.signature(key, sts)
'a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb'
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Tuple, Union

from . import _backend
from ._errors import PayloadError

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "UNSIGNED_PAYLOAD",
    "canonical_headers",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "credential_scope",
    "derive_signing_key",
    "hash_payload",
    "hmac_sha256",
    "sha256_hex",
    "signature",
    "string_to_sign",
    "uri_encode",
]

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]]]


def uri_encode(text: str, keep_slash: bool = False) -> str:
    """Percent-encode ``text``: RFC 3986 unreserved characters stay, every other byte of the
    UTF-8 form becomes ``%XX`` (uppercase). ``keep_slash`` keeps ``/`` (for paths)."""
    return _backend.kernels.uri_encode(text, keep_slash)


def canonical_uri(path: str, *, double_encode: bool = True, normalize: bool = True) -> str:
    """The CanonicalURI of a request path. The defaults are those of every service but S3;
    for S3 pass ``double_encode=False, normalize=False``."""
    return _backend.kernels.PathPolicy(double_encode, normalize).paths(path)[1]


def canonical_query(query: str) -> str:
    """The CanonicalQueryString of a raw query string (without the ``?``)."""
    return _backend.kernels.canonical_query(query)


def canonical_headers(headers: Headers, *, excluded: Iterable[str] = ()) -> Tuple[str, str]:
    """``(CanonicalHeaders, SignedHeaders)`` of ``headers``, which must include Host.
    Names in ``excluded`` (lowercase) are not signed."""
    return _backend.kernels.canonical_headers(headers, excluded)


def canonical_request(
    method: str,
    canonical_uri: str,
    canonical_query: str,
    canonical_headers: str,
    signed_headers: str,
    payload_hash: str,
) -> str:
    """Join the six parts of a canonical request. ``canonical_headers`` ends with a newline,
    so a blank line separates it from ``signed_headers``."""
    return "\n".join(
        (method, canonical_uri, canonical_query, canonical_headers, signed_headers, payload_hash)
    )


def credential_scope(date: str, region: str, service: str) -> str:
    """``YYYYMMDD/region/service/aws4_request``."""
    return f"{date}/{region}/{service}/aws4_request"


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    """``AWS4-HMAC-SHA256 \\n X-Amz-Date \\n scope \\n hex(SHA256(canonical request))``."""
    digest = _backend.kernels.sha256_hex(canonical_request.encode("utf-8"))
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def derive_signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """The signing key: kDate = HMAC("AWS4" + secret, date), kRegion = HMAC(kDate, region),
    kService = HMAC(kRegion, service), kSigning = HMAC(kService, "aws4_request")."""
    return _backend.kernels.derive_signing_key(secret_access_key, date, region, service)


def signature(signing_key: bytes, string_to_sign: str) -> str:
    """Hex HMAC-SHA256 of the string to sign under the signing key."""
    return _backend.kernels.SigningKey(signing_key).sign(string_to_sign)


def sha256_hex(data: Any) -> str:
    """Lowercase hex SHA-256 of bytes-like data."""
    return _backend.kernels.sha256_hex(data)


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 of ``message`` under ``key``."""
    return _backend.kernels.hmac_sha256(key, message)


def hash_payload(body: Any) -> str:
    """Hex SHA-256 of a request body: ``None`` (empty), bytes-like, ``str`` (UTF-8), or a
    binary file object, hashed in chunks from its current position, which is restored."""
    kernels = _backend.kernels
    if body is None:
        return EMPTY_SHA256
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            return kernels.sha256_hex(body)
        except (BufferError, TypeError, ValueError) as exc:
            raise PayloadError(f"body buffer cannot be hashed ({type(exc).__name__})") from exc
    if isinstance(body, str):
        try:
            return kernels.sha256_hex(body.encode("utf-8"))
        except UnicodeEncodeError:
            raise PayloadError("body str is not valid Unicode (lone surrogate)") from None
    if not callable(getattr(body, "read", None)):
        raise PayloadError(
            f"body must be bytes, str or a binary file object, not {type(body).__name__}"
        )
    try:
        position = body.tell()
    except (AttributeError, OSError, ValueError):
        raise PayloadError(
            "body stream cannot be rewound after hashing; pass payload_hash "
            "(or UNSIGNED-PAYLOAD) instead"
        ) from None
    hasher = kernels.Sha256()
    try:
        hasher.update_file(body)
    except (OSError, ValueError, TypeError) as exc:
        raise PayloadError(f"body could not be read ({type(exc).__name__})") from exc
    finally:
        try:
            body.seek(position)
        except (AttributeError, OSError, ValueError):
            pass
    return hasher.hexdigest()
