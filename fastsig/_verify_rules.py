"""The rules of SigV4 verification, written once in Python: the general path.

The pure backend verifies every request with them (its kernels' one-call checks defer to
them); the compiled backend accepts requests in its kernels, in C, and comes here for what
they hand back: a request they refuse, whose error these rules name as AWS would, and the
kinds they leave alone (SigV4a, aws-chunked uploads, legacy signatures, file bodies).
``Verifier`` (fastsig/verifier.py) holds the settings, the key lookups and the dispatch.
"""

from __future__ import annotations

import fnmatch
import hmac
import re
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple
from urllib.parse import quote, unquote

from . import _backend
from ._errors import (
    MalformedAuthorizationError,
    MalformedRequestError,
    MissingAuthenticationError,
    InvalidSecurityTokenError,
    PayloadHashMismatchError,
    RequestExpiredError,
    RequestTimeTooSkewedError,
    SignatureMismatchError,
    UnsignedHeaderError,
    UnsupportedSigningError,
)
from ._legacy_verify import legacy_kind, verify_legacy
from ._sigv2 import FORM_TYPE
from ._sigv4a import REGION_SET, derive_sigv4a_key
from ._timestamp import parse_amz_date
from .credentials import Credentials
from .signer import MAX_EXPIRES, S3_SERVICES
from .sigv4 import ALGORITHM, EMPTY_SHA256, UNSIGNED_PAYLOAD, hash_payload

if TYPE_CHECKING:
    from .verifier import Headers, VerifiedRequest, Verifier

_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_HEX_DIGEST = _SIGNATURE
_SCOPE_DATE = re.compile(r"[0-9]{8}")
_SCOPE_PART = re.compile(r"[A-Za-z0-9._\-]+")
_EXPIRES = re.compile(r"[0-9]{1,6}")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")
_SIGV4A = "AWS4-ECDSA-P256-SHA256"
_FORM_SIGNED = re.compile(r"(?:^|&)(?:X-Amz-Signature|X-Amz-Algorithm|Signature)=")
_STREAMING = frozenset({"STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                        "STREAMING-UNSIGNED-PAYLOAD-TRAILER"})
_DER_HEX = re.compile(r"(?:[0-9a-f]{2}){8,80}")  # a DER ECDSA P-256 signature is 8..72 bytes
_PRESIGN_REQUIRED = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)


def _parse_authorization(value: str) -> Tuple[str, str, str, str]:
    """(algorithm, credential, signed headers, signature) of an Authorization header value."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm not in (ALGORITHM, _SIGV4A):
        raise MalformedAuthorizationError(
            "Authorization header must start with AWS4-HMAC-SHA256 or AWS4-ECDSA-P256-SHA256"
        )
    fields: Dict[str, str] = {}
    for part in rest.split(","):
        name, eq, field = part.strip().partition("=")
        if not eq or name not in ("Credential", "SignedHeaders", "Signature"):
            raise MalformedAuthorizationError(
                "Authorization header must have exactly Credential=, SignedHeaders= and "
                "Signature= fields, separated by commas"
            )
        if name in fields:
            raise MalformedAuthorizationError(f"Authorization header repeats {name}=")
        fields[name] = field
    if len(fields) != 3:
        missing = sorted({"Credential", "SignedHeaders", "Signature"} - set(fields))
        raise MalformedAuthorizationError(f"Authorization header lacks {', '.join(missing)}=")
    return algorithm, fields["Credential"], fields["SignedHeaders"], fields["Signature"]


def _scope_of(credential: str, region_set: Optional[str] = None) -> Tuple[str, str, str, str]:
    """(access key ID, date, region, service) of ``<key>/<date>/<region>/<service>/aws4_request``;
    with a SigV4a ``region_set``, of the region-less ``<key>/<date>/<service>/aws4_request``."""
    parts = credential.split("/")
    if region_set is not None and len(parts) == 4:
        parts.insert(2, region_set)
    if (
        len(parts) != 5
        or parts[4] != "aws4_request"
        or not parts[0]
        or not _SCOPE_DATE.fullmatch(parts[1])
        or not (region_set is not None or _SCOPE_PART.fullmatch(parts[2]))
        or not _SCOPE_PART.fullmatch(parts[3])
    ):
        raise MalformedAuthorizationError(
            "Credential must be <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request"
            + (" (SigV4a: without the region)" if region_set is not None else "")
        )
    return parts[0], parts[1], parts[2], parts[3]


def _region_set(found: Dict[str, List[Tuple[str, str]]], canonical_query: str,
                presigned: bool) -> str:
    """The X-Amz-Region-Set of a SigV4a request: a signed header, or a parameter of the
    (signed) canonical query."""
    if presigned:
        values = [unquote(pair[len("X-Amz-Region-Set="):]) for pair in canonical_query.split("&")
                  if pair.startswith("X-Amz-Region-Set=")]
    else:
        values = [value.strip() for _, value in found.get("x-amz-region-set", ())]
    if len(values) != 1 or not REGION_SET.fullmatch(values[0]):
        raise MalformedAuthorizationError(
            "a SigV4a request needs one X-Amz-Region-Set: regions or patterns, comma-separated")
    return values[0]


def _in_region_set(region: str, region_set: str) -> bool:
    return any(fnmatch.fnmatchcase(region, pattern) for pattern in region_set.split(","))


def _ecdsa_verifies(public_key: Any, signature: str, string_to_sign: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    if not _DER_HEX.fullmatch(signature):
        return False
    try:
        public_key.verify(bytes.fromhex(signature), string_to_sign.encode("utf-8"),
                          ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _epoch_of(amz_date: str) -> int:
    epoch = parse_amz_date(amz_date)
    if epoch is None:
        raise MalformedAuthorizationError("X-Amz-Date must be of the form YYYYMMDDTHHMMSSZ")
    return epoch


# -- the header phase ----------------------------------------------------------------------

def headers_phase(verifier: Verifier, method: str, url: str, headers: Headers,
                  streaming: bool) -> PendingVerification:
    """``Verifier._prepare``'s work: every check of a SigV4 request that needs no body."""
    kernels = _backend.kernels
    if not isinstance(method, str) or not _TOKEN.fullmatch(method):
        raise MalformedRequestError("method must be an HTTP token such as GET")
    method = method.upper()
    if not isinstance(url, str):
        raise MalformedRequestError("url must be a str")
    if url.startswith("/"):
        # Origin form: the scheme and host are placeholders; the Host header is required.
        _, _, path, query = kernels.split_url("http://host.invalid" + url)
        url_host: Optional[str] = None
    else:
        _, url_host, path, query = kernels.split_url(url)

    # Headers by lowercase name, each with its (name, value) pairs.
    found: Dict[str, List[Tuple[str, str]]] = {}
    if headers:
        items = headers.items() if hasattr(headers, "items") else headers
        for item in items:
            try:
                name, value = item
                if name.__class__ is bytes and value.__class__ is bytes:
                    # As ASGI gives them: bytes pairs read as the str pairs they spell.
                    name, value = name.decode("latin-1"), value.decode("latin-1")
                lname = name.lower()
            except (TypeError, ValueError, AttributeError):
                raise MalformedRequestError(
                    "headers must be (name, value) pairs of str, or of bytes") from None
            if lname in found:
                found[lname].append((name, value))
            else:
                found[lname] = [(name, value)]

    kind = legacy_kind(found, query, None)
    if kind is None and _FORM_SIGNED.search(query) is None and "authorization" not in found:
        types = found.get("content-type")
        if types and types[0][1].lower().startswith(FORM_TYPE):
            kind = "form"  # a SigV2 form POST, perhaps: its body says
    if kind is not None:
        return _LegacyPending(verifier, kind, method, url_host, path, query, found)
    canonical_query, auth = kernels.split_auth_query(query)
    authorization = found.get("authorization")
    if auth:
        if authorization:
            raise MalformedAuthorizationError(
                "a request may be signed in the Authorization header or in the query, "
                "not both"
            )
        presigned = True
        repeated = sorted(name for name, value in auth.items() if value is None)
        if repeated:  # named in one order, whichever kernel split the query
            raise MalformedAuthorizationError(f"presigned URL repeats {', '.join(repeated)}")
        algorithm = auth.get("X-Amz-Algorithm")
        for name in _PRESIGN_REQUIRED:
            if name not in auth:
                raise MalformedAuthorizationError(f"presigned URL lacks {name}")
        if algorithm not in (ALGORITHM, _SIGV4A):
            raise MalformedAuthorizationError(
                "X-Amz-Algorithm must be AWS4-HMAC-SHA256 or AWS4-ECDSA-P256-SHA256")
        credential = auth["X-Amz-Credential"]
        signed_list = auth["X-Amz-SignedHeaders"]
        signature = auth["X-Amz-Signature"]
        amz_date = auth["X-Amz-Date"]
        expires_text = auth["X-Amz-Expires"]
        token = auth.get("X-Amz-Security-Token")
    elif authorization:
        presigned = False
        if len(authorization) > 1:
            raise MalformedAuthorizationError("more than one Authorization header")
        algorithm, credential, signed_list, signature = _parse_authorization(
            authorization[0][1])
        dates = found.get("x-amz-date")
        if not dates:
            raise MalformedAuthorizationError("header-signed request lacks X-Amz-Date")
        if len(dates) > 1:
            raise MalformedAuthorizationError("more than one X-Amz-Date header")
        amz_date = dates[0][1].strip()
        tokens = found.get("x-amz-security-token")
        if tokens and len(tokens) > 1:
            raise MalformedAuthorizationError("more than one X-Amz-Security-Token header")
        token = tokens[0][1].strip() if tokens else None
        expires_text = None
    else:
        raise MissingAuthenticationError(
            "request is not signed: no Authorization header and no X-Amz-Signature"
        )

    # Credential scope: <key>/<date>/<region>/<service>/aws4_request; SigV4a has no
    # region in it, and the signed X-Amz-Region-Set instead.
    sigv4a = algorithm == _SIGV4A
    access_key_id, scope_date, region, service = _scope_of(
        credential, _region_set(found, canonical_query, presigned) if sigv4a else None)
    is_s3 = service in S3_SERVICES
    epoch = verifier._epoch(amz_date)
    if scope_date != amz_date[:8]:
        raise SignatureMismatchError("the credential scope's date is not X-Amz-Date's date")
    expires = None
    if presigned:
        text = expires_text or ""
        if not _EXPIRES.fullmatch(text) or not 1 <= int(text) <= MAX_EXPIRES:
            raise MalformedAuthorizationError(
                f"X-Amz-Expires must be a whole number of seconds in 1..{MAX_EXPIRES}"
            )
        expires = int(text)

    # Signed headers: sorted, unique lowercase names including host, and every x-amz-*
    # header of the request among them.
    signed_names = signed_list.split(";")
    if (
        not all(map(_HEADER_NAME.fullmatch, signed_names))
        or any(a >= b for a, b in zip(signed_names, signed_names[1:]))
    ):
        raise MalformedAuthorizationError(
            "SignedHeaders must be lowercase header names, sorted, separated by ';'"
        )
    if "host" not in signed_names:
        raise MalformedAuthorizationError("the host header must be signed")
    signed_set = set(signed_names)
    for lname in found:
        # S3 refuses an unsigned x-amz-* header (AccessDenied, HeadersNotSigned) but for
        # a header-signed request's x-amz-content-sha256, which AWS takes unsigned:
        # aws-requests-auth never signs it (zengularity/benji#309: AWS accepts what
        # Yandex refuses; demarche-numerique/ds_proxy#164). Presigned URLs stay strict.
        if (lname.startswith("x-amz-") and lname not in signed_set
                and (presigned or lname != "x-amz-content-sha256")):
            raise UnsignedHeaderError(
                "There were headers present in the request which were not signed: " + lname,
                details=(("HeadersNotSigned", lname),))
    signed_pairs: List[Tuple[str, str]] = []
    for lname in signed_names:
        pairs = found.get(lname)
        if pairs:
            signed_pairs += pairs
        elif lname == "host" and url_host is not None:
            signed_pairs.append(("host", url_host))
        else:
            raise SignatureMismatchError(f"signed header {lname} is not in the request")
    block, names = kernels.canonical_headers(signed_pairs)
    if names != signed_list:  # a signed header whose value is unusable
        raise MalformedRequestError("a signed header could not be canonicalized")

    payload, compare = payload_rule(verifier, found, presigned, is_s3,
                                    "x-amz-content-sha256" in signed_set, streaming)
    policy = getattr(kernels, verifier._s3_paths if is_s3 else verifier._service_paths)
    creq_head = (
        f"{method}\n{policy.paths(path)[1]}\n{canonical_query}\n{block}\n{signed_list}\n"
    )
    scope = f"{scope_date}/{service}" if sigv4a else f"{scope_date}/{region}/{service}"
    credentials = precheck(verifier, access_key_id, region, service, epoch, expires, token,
                           sigv4a)
    return PendingVerification(
        verifier, creq_head, f"{algorithm}\n{amz_date}\n{scope}/aws4_request\n", payload,
        compare, credentials, (access_key_id, scope_date, region, service, epoch, expires,
                               token, signature, tuple(signed_names), sigv4a),
        token)


def precheck(verifier: Verifier, access_key_id: str, region: str, service: str, epoch: int,
             expires: Optional[int], token: Optional[str], sigv4a: bool) -> Any:
    """Scope, time, access key and session token: the Credentials (or, for SigV4a, the
    public key the lookup gave)."""
    if verifier._region is not None and not (
        _in_region_set(verifier._region, region) if sigv4a else region == verifier._region
    ):
        raise SignatureMismatchError(f"credential should be scoped to region {verifier._region}")
    if verifier._service is not None and service != verifier._service:
        raise SignatureMismatchError(f"credential should be scoped to service {verifier._service}")
    now = verifier._clock()
    if expires is not None:
        if now > expires + epoch:
            raise RequestExpiredError("Request has expired")
        if epoch - now > verifier._max_skew:
            raise RequestTimeTooSkewedError("X-Amz-Date is in the future: not valid yet")
    elif abs(now - epoch) > verifier._max_skew:
        raise RequestTimeTooSkewedError(
            "the difference between the request time and the current time is too large"
        )
    is_s3 = service in S3_SERVICES
    credentials = verifier._credentials(access_key_id, is_s3, sigv4a)
    if sigv4a and not isinstance(credentials, Credentials):  # the lookup gave a public key
        credentials, public_key = None, credentials
    expected_token = credentials.session_token if credentials is not None else None
    if expected_token is not None and (
        token is None
        or not hmac.compare_digest(token.encode("utf-8", "surrogatepass"),
                                   expected_token.encode())
    ):
        raise InvalidSecurityTokenError(
            "the security token included in the request is invalid",
            "InvalidToken" if is_s3 else "InvalidClientTokenId",
        )
    return public_key if credentials is None else credentials

def check_signature(verifier: Verifier, credentials: Any, scope_date: str, region: str,
                    service: str, signature: str, string_to_sign: str, sigv4a: bool,
                    canonical_request: Optional[str], token: Optional[str]) -> None:
    """Raises SignatureMismatchError unless ``signature`` signs ``string_to_sign``; with
    ``debug_errors``, the error's details are what S3 shows (``token`` hidden)."""
    if sigv4a:
        public_key = (derive_sigv4a_key(credentials).public_key()
                      if isinstance(credentials, Credentials) else credentials)
        good = _ecdsa_verifies(public_key, signature, string_to_sign)
    else:
        expected = verifier._signing_key(credentials, scope_date, region, service).sign(
            string_to_sign)
        good = bool(_SIGNATURE.fullmatch(signature)) and hmac.compare_digest(expected, signature)
    if good:
        return
    error = SignatureMismatchError(
        "The request signature we calculated does not match the signature you provided")
    if verifier.debug_errors:
        error.details = _debug_details(canonical_request, string_to_sign, token)
    raise error

def payload_rule(
    verifier: Verifier,
    found: Dict[str, List[Tuple[str, str]]],
    presigned: bool,
    is_s3: bool,
    content_header_signed: bool,
    streaming: bool = False,
) -> Tuple[Optional[str], bool]:
    """(the payload hash the signature covers, None when it is the body's own hash;
    whether the body must hash to it), from the headers alone."""
    declared = found.get("x-amz-content-sha256")
    if declared is not None:
        if len(declared) > 1:
            raise MalformedAuthorizationError("more than one x-amz-content-sha256 header")
        value = declared[0][1].strip()
    elif presigned and is_s3:
        value = UNSIGNED_PAYLOAD
    elif is_s3:
        raise MalformedAuthorizationError(
            "Missing required header for this request: x-amz-content-sha256"
        )
    else:
        return None, False
    if presigned and declared is not None and not content_header_signed:
        if not is_s3:
            return None, False
        value = UNSIGNED_PAYLOAD
    if value == UNSIGNED_PAYLOAD:
        if not verifier._unsigned_ok(is_s3):
            raise MalformedRequestError("UNSIGNED-PAYLOAD is not accepted here")
        return value, False
    if value.startswith("STREAMING-"):
        if streaming and value in _STREAMING and not presigned:
            return value, False
        raise UnsupportedSigningError(
            "an aws-chunked payload is checked chunk by chunk: use Verifier.verify_chunked"
            if value in _STREAMING else "x-amz-content-sha256 names an unknown streaming payload")
    if not _HEX_DIGEST.fullmatch(value):
        raise MalformedAuthorizationError(
            "x-amz-content-sha256 must be a lowercase hex SHA-256 or UNSIGNED-PAYLOAD"
        )
    return value, True

def body_hash(body: Any, payload_hash: Optional[str]) -> str:
    if payload_hash is not None:
        if not isinstance(payload_hash, str) or not _HEX_DIGEST.fullmatch(payload_hash):
            raise TypeError("payload_hash must be a lowercase hex SHA-256")
        return payload_hash
    if body is None:
        return EMPTY_SHA256
    if body.__class__ is bytes:
        return _backend.kernels.sha256_hex(body)
    return hash_payload(body)


def _debug_details(canonical_request: Optional[str], string_to_sign: str,
                   token: Optional[str]) -> Tuple[Tuple[str, str], ...]:
    """S3's SignatureDoesNotMatch elements: the canonical request and string to sign and
    their bytes in hex, with the session token (a secret) replaced."""
    details = []
    if canonical_request is not None:
        if token:  # as a header value, and percent-encoded in a presigned query
            canonical_request = canonical_request.replace(token, "<hidden>").replace(
                quote(token, safe="-_.~"), "<hidden>")
        details.append(("CanonicalRequest", canonical_request))
        details.append(("CanonicalRequestBytes", canonical_request.encode().hex(" ")))
    details.append(("StringToSign", string_to_sign))
    details.append(("StringToSignBytes", string_to_sign.encode().hex(" ")))
    return tuple(details)


class PendingVerification:
    """A request that passed every check but its signature and payload: what the header
    phase (``Verifier._prepare``) returns. ``body_needed``: whether ``finish`` needs the
    body (its hash is the payload the signature covers, or must match the declared one)."""

    __slots__ = ("_verifier", "_creq_head", "_sts_head", "payload", "body_needed",
                 "_credentials", "_fields", "_token")

    def __init__(self, verifier: Verifier, creq_head: str, sts_head: str,
                 payload: Optional[str], compare: bool, credentials: Any,
                 fields: Tuple[Any, ...], token: Optional[str]) -> None:
        self._verifier = verifier
        self._creq_head = creq_head
        self._sts_head = sts_head
        self.payload = payload  # None: the body's own hash
        self.body_needed = payload is None or compare
        self._credentials = credentials
        self._fields = fields
        self._token = token

    def __repr__(self) -> str:
        return f"PendingVerification(payload={self.payload!r})"

    def finish(self, body: Any = None, payload_hash: Optional[str] = None) -> VerifiedRequest:
        """The payload phase: the signature, then the body against a declared hash.
        ``body`` or ``payload_hash`` as ``Verifier.verify`` takes them."""
        (access_key_id, scope_date, region, service, epoch, expires, token, signature,
         signed_headers, sigv4a) = self._fields
        payload = self.payload
        if payload is None:
            payload = body_hash(body, payload_hash)
        creq = self._creq_head + payload
        sts = self._sts_head + _backend.kernels.sha256_hex(creq.encode("utf-8"))
        check_signature(self._verifier, self._credentials, scope_date, region, service,
                        signature, sts, sigv4a, creq, self._token)
        if (self.body_needed and self.payload is not None
                and body_hash(body, payload_hash) != payload):
            raise PayloadHashMismatchError(
                "The provided 'x-amz-content-sha256' header does not match what was computed."
            )
        from .verifier import VerifiedRequest  # which imports this module: not at import time

        return VerifiedRequest(access_key_id, region, service, signed_headers, epoch,
                               None if expires is None else expires + epoch, token,
                               expires is not None, payload)


class _LegacyPending(PendingVerification):
    """The header phase of a SigV2 or HmacV1 request (or of a form POST that may carry a
    SigV2 signature in its body): verified whole once the body is there."""

    __slots__ = ("_kind", "_request")

    def __init__(self, verifier: Verifier, kind: str, *request: Any) -> None:
        self._verifier = verifier
        self._kind = kind
        self._request = request
        self.payload = UNSIGNED_PAYLOAD
        self.body_needed = kind == "form"

    def finish(self, body: Any = None, payload_hash: Optional[str] = None) -> VerifiedRequest:
        method, url_host, path, query, found = self._request
        kind: Optional[str] = self._kind
        if kind == "form":
            kind = legacy_kind(found, query, body)
        if kind is None:
            raise MissingAuthenticationError(
                "request is not signed: no Authorization header and no X-Amz-Signature")
        return verify_legacy(self._verifier, kind, method, url_host, path, query, found, body)
