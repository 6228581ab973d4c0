"""``Verifier``: check inbound SigV4 requests and presigned URLs.

It rebuilds the canonical request with the very kernels that ``Signer`` signs with, so the
two cannot drift apart, and compares signatures in constant time. Failures raise a subclass of
``VerificationError`` whose ``code`` is what AWS would answer.
"""

from __future__ import annotations

import datetime
import fnmatch
import hmac
import re
import time
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Tuple,
    Union,
    cast,
)
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
    SigningError,
    UnknownAccessKeyError,
    UnsignedHeaderError,
    UnsupportedSigningError,
)
from ._key_cache import signing_keys
from ._legacy_verify import LEGACY_ALGORITHMS, legacy_kind, verify_legacy
from ._sigv2 import FORM_TYPE
from ._sigv4a import REGION_SET, derive_sigv4a_key

if TYPE_CHECKING:
    from ._chunked import ChunkedReader
from ._timestamp import parse_amz_date
from .credentials import Credentials
from .signer import _PATH_POLICIES, MAX_EXPIRES, S3_SERVICES
from .sigv4 import ALGORITHM, EMPTY_SHA256, UNSIGNED_PAYLOAD, hash_payload

__all__ = ["VerifiedRequest", "Verifier"]

Lookup = Callable[[str], Union[Credentials, str, None]]
Headers = Union[Mapping[str, str], List[Tuple[str, str]], None]

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


class VerifiedRequest(NamedTuple):
    """What ``Verifier.verify`` returns for a request whose signature is good.

    ``timestamp`` and ``expires`` are epoch seconds (``expires`` only for presigned URLs);
    ``signed_at`` and ``expires_at`` are the same as UTC datetimes. ``repr`` hides the
    session token."""

    access_key_id: str
    region: str
    service: str
    signed_headers: Tuple[str, ...]
    timestamp: int
    expires: Optional[int]
    session_token: Optional[str]
    presigned: bool
    payload_hash: str

    @property
    def signed_at(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.timestamp, datetime.timezone.utc)

    @property
    def expires_at(self) -> Optional[datetime.datetime]:
        if self.expires is None:
            return None
        return datetime.datetime.fromtimestamp(self.expires, datetime.timezone.utc)

    def __repr__(self) -> str:
        token = ", session_token=<hidden>" if self.session_token is not None else ""
        return (
            f"VerifiedRequest(access_key_id={self.access_key_id!r}, region={self.region!r}, "
            f"service={self.service!r}, presigned={self.presigned}, "
            f"signed_headers={self.signed_headers!r}{token})"
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


class Verifier:
    """Verifies SigV4 requests, header-signed or presigned, against the keys ``lookup`` knows.

    ``lookup(access_key_id)`` returns the key's ``Credentials`` (or its secret key as a str),
    or None for an unknown key. When the credentials carry a session token, the request must
    carry the same one. ``region`` and ``service``, when given, must be those of the request's
    credential scope. ``max_skew``: how far X-Amz-Date may be from ``clock()`` (epoch
    seconds, default ``time.time``). ``unsigned_payload``: whether ``UNSIGNED-PAYLOAD`` is
    accepted; by default it is for the S3 family (which presigns with it) and refused
    elsewhere. ``double_encode`` and ``normalize_path`` are the signer's path options, by
    default chosen from the request's service as ``Signer`` chooses them.

    SigV4a (``AWS4-ECDSA-P256-SHA256``) requests verify with the public key derived from the
    credentials, or the lookup may return the public key itself (a ``cryptography``
    ``EllipticCurvePublicKey``). Their ``VerifiedRequest.region`` is the signed region set;
    ``region`` must then match one of its patterns.

    S3's rules for what it receives apply to the S3 family: a raw ``+`` in the path is a
    space (``%20`` in the canonical URI; a plus is sent as ``%2B``), and
    ``x-amz-content-sha256`` may be sent unsigned (its value still governs the payload
    check); every other ``x-amz-*`` header must be signed, for every service.
    ``debug_errors``: ``SignatureDoesNotMatch`` errors carry, in ``details``, the canonical
    request and string to sign the verifier computed (session tokens hidden), as S3's error
    bodies do; never the secret, the signing key or the expected signature.
    ``legacy``: the legacy signatures to accept as well, ``"sigv2"`` (query APIs) and
    ``"hmacv1"`` (S3's ``AWS key:signature``, and its presigned URLs); by default none, and
    they are refused with S3's ``InvalidRequest``. They sign neither region nor service:
    their ``VerifiedRequest`` carries the verifier's own (``"s3"`` for HmacV1), and the body
    is not signed (``payload_hash`` ``UNSIGNED-PAYLOAD``).

    >>> from fastsig import Credentials, Signer, Verifier
    >>> creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    >>> url = Signer(creds, "us-east-1", "s3").presign("GET", "https://b.s3.amazonaws.com/k")
    >>> Verifier({"AKIDEXAMPLE": creds}.get).verify("GET", url).access_key_id
    'AKIDEXAMPLE'
    """

    def __init__(
        self,
        lookup: Lookup,
        *,
        region: Optional[str] = None,
        service: Optional[str] = None,
        max_skew: float = 900,
        clock: Optional[Callable[[], float]] = None,
        unsigned_payload: Optional[bool] = None,
        double_encode: Optional[bool] = None,
        normalize_path: Optional[bool] = None,
        debug_errors: bool = False,
        legacy: Iterable[str] = (),
    ) -> None:
        if not callable(lookup):
            raise TypeError("lookup must be a callable: access_key_id -> Credentials or None")
        self._lookup = lookup
        self._legacy = frozenset([legacy] if isinstance(legacy, str) else legacy)
        if not self._legacy <= LEGACY_ALGORITHMS:
            raise ValueError("legacy takes 'sigv2' and 'hmacv1'")
        # Read-only: the compiled fast path holds its own copy of the settings.
        self._region = region
        self._service = service
        self._max_skew = max_skew
        self._clock = clock or time.time
        self._unsigned_payload = unsigned_payload
        # The kernels' path policies (by name: the backend may change) for S3 and the rest.
        self._s3_paths = _PATH_POLICIES[bool(double_encode), bool(normalize_path)]
        if self._s3_paths == "S3_PATHS":  # S3 reads a raw '+' in the path it receives as a space
            self._s3_paths = "S3_RECEIVED_PATHS"
        self.debug_errors = bool(debug_errors)
        self._service_paths = _PATH_POLICIES[
            double_encode is not False, normalize_path is not False]
        # Memos of derived data only: epoch of an X-Amz-Date, HMAC states of signing keys
        # (valid for one day, region and service) keyed by the secret's digest.
        self._epochs: Dict[str, int] = {}
        self._keys: Dict[Tuple[bytes, str, str, str], Any] = {}
        self._secrets: Dict[Tuple[str, str], Credentials] = {}
        self._fast: Any = None  # the kernels' fast paths, made for the backend in use

    region = property(lambda self: self._region, doc="The region requests must be scoped to.")
    service = property(lambda self: self._service, doc="The service requests must be scoped to.")
    max_skew = property(lambda self: self._max_skew, doc="Seconds X-Amz-Date may be off.")

    def __repr__(self) -> str:
        return f"Verifier(region={self.region!r}, service={self.service!r})"

    # -- the parts --------------------------------------------------------------------------

    def _credentials(self, access_key_id: str, is_s3: bool, sigv4a: bool = False) -> Any:
        """The Credentials of the key; for SigV4a, the lookup may give an ECDSA public key."""
        found = self._lookup(access_key_id)
        if found is None:
            raise UnknownAccessKeyError(
                "the access key id is not known",
                "InvalidAccessKeyId" if is_s3 else "InvalidClientTokenId",
            )
        if isinstance(found, Credentials):
            return found
        if isinstance(found, str):
            memo_key = (access_key_id, found)
            credentials = self._secrets.get(memo_key)
            if credentials is None:
                credentials = Credentials(access_key_id, found)
                if len(self._secrets) >= 1024:
                    self._secrets.clear()
                self._secrets[memo_key] = credentials
            return credentials
        if sigv4a and callable(getattr(found, "verify", None)) and hasattr(found, "curve"):
            return found
        raise TypeError("lookup must return Credentials, a secret key str, a SigV4a public key "
                        "or None")

    def _signing_key(self, credentials: Credentials, date: str, region: str, service: str) -> Any:
        kernels = _backend.kernels
        memo_key = (credentials._fingerprint, date, region, service)
        key = self._keys.get(memo_key)
        if key is None or key.__class__ is not kernels.SigningKey:
            raw = signing_keys.get(credentials, date, region, service, kernels.derive_signing_key)
            key = kernels.SigningKey(raw)
            if len(self._keys) >= 1024:
                self._keys.clear()
            self._keys[memo_key] = key
        return key

    def _epoch(self, amz_date: str) -> int:
        epoch = self._epochs.get(amz_date)
        if epoch is None:
            epoch = _epoch_of(amz_date)
            if len(self._epochs) >= 4096:
                self._epochs.clear()
            self._epochs[amz_date] = epoch
        return epoch

    def _unsigned_ok(self, is_s3: bool) -> bool:
        return is_s3 if self._unsigned_payload is None else self._unsigned_payload

    def _key_for(self, access_key_id: str, date: str, region: str, service: str) -> Any:
        """(signing key, session token) for the fast path, or None."""
        try:
            credentials = self._credentials(access_key_id, service in S3_SERVICES)
        except UnknownAccessKeyError:
            return None
        return self._signing_key(credentials, date, region, service), credentials.session_token

    def _fast_paths(self) -> Tuple[Any, Any]:
        """The kernels' (PresignedVerifier, HeaderVerifier), made for the backend in use."""
        kernels = _backend.kernels
        args = (
            S3_SERVICES,
            getattr(kernels, self._s3_paths),
            getattr(kernels, self._service_paths),
            self._region,
            self._service,
            self._max_skew,
            self._clock,
            self._lookup,
            self._key_for,
            VerifiedRequest,
            self._unsigned_payload,
        )
        fast = (kernels.PresignedVerifier(*args), kernels.HeaderVerifier(*args))
        self._fast = fast
        return fast

    def _scope_checker(self) -> Tuple[Any, Any, Any]:
        """(kernels, check, presigned) for the ASGI middleware: ``check(scope, presigned)``
        accepts an ASGI HTTP request that has no body to read, header-signed or presigned, in
        one call into the kernels; it returns None for anything else (other scopes too, and
        every request once its kernels are no longer the backend in use), which the general
        path then verifies."""
        fast = self._fast
        if fast is None or fast[0].__class__ is not _backend.kernels.PresignedVerifier:
            fast = self._fast_paths()
        return _backend.kernels, fast[1].check_scope, fast[0]

    # -- verify -----------------------------------------------------------------------------

    def verify(
        self,
        method: str,
        url: str,
        headers: Headers = None,
        body: Any = None,
        *,
        payload_hash: Optional[str] = None,
    ) -> VerifiedRequest:
        """Verify one request and return what it proved, or raise a ``VerificationError``.

        ``url`` is the request target as received: absolute (``https://host/path?query``) or
        origin-form (``/path?query``, the host then coming from the Host header), with its
        path and query exactly as sent (not decoded). ``headers``: a mapping or
        (name, value) pairs. ``body``: None (empty), bytes, str or a binary file object, hashed
        in chunks; or give ``payload_hash``, its hex SHA-256, when the caller hashed it."""
        # Requests in the usual form are accepted in one call into the kernels; anything
        # else, and every refusal, takes the general path, which also says what is wrong.
        fast = self._fast
        if fast is None or fast[0].__class__ is not _backend.kernels.PresignedVerifier:
            fast = self._fast_paths()
        if body is None or body.__class__ is bytes:
            if payload_hash is None:
                if body is not None:
                    # The hash stands for the body from here on; the body stays for a SigV2 form.
                    payload_hash = _backend.kernels.sha256_hex(body)
                elif headers is None:
                    verified = fast[0].check(method, url)
                    if verified is not None:
                        return cast(VerifiedRequest, verified)
                elif url.__class__ is str and "X-Amz-Signature=" in url:
                    # A presigned URL with the headers a server hands over, none of them signed.
                    verified = fast[0].check_headers(method, url, headers)
                    if verified is not None:
                        return cast(VerifiedRequest, verified)
            # Header-signed, or presigned with signed headers or a body.
            verified = fast[1].check(method, url, headers, payload_hash)
            if verified is not None:
                return cast(VerifiedRequest, verified)
        return self._prepare(method, url, headers).finish(body, payload_hash)

    def _verify(
        self, method: str, url: str, headers: Headers, body: Any, payload_hash: Optional[str],
        streaming: bool = False,
    ) -> VerifiedRequest:
        """The general path. ``streaming``: accept an aws-chunked payload, whose chunks the
        caller checks (``verify_chunked``)."""
        return self._prepare(method, url, headers, streaming).finish(body, payload_hash)

    def _defer(self, method: str, url: str, headers: Headers) -> Any:
        """The header phase of a request whose payload is its body's hash: the kernels'
        one-call check where it takes the request (an object whose ``finish(payload_hash)``
        is the VerifiedRequest or None), else ``_prepare``'s PendingVerification."""
        fast = self._fast
        if fast is None or fast[0].__class__ is not _backend.kernels.PresignedVerifier:
            fast = self._fast_paths()
        if headers is not None:
            deferred = fast[1].check(method, url, headers, None, True)
            if deferred is not None:
                return deferred
        return self._prepare(method, url, headers)

    def _prepare(self, method: str, url: str, headers: Headers,
                 streaming: bool = False) -> "PendingVerification":
        """The header phase: every check that does not need the body (signature present and
        well-formed, scope, signed-header rules, date and expiry, key known, session token),
        so that a server reads the body of a request that passed them only."""
        try:
            return self._headers_phase(method, url, headers, streaming)
        except SigningError as exc:
            # The kernels refuse what cannot be canonicalized; to a verifier that is the
            # client's error. Their messages name the part, never a value.
            raise MalformedRequestError(str(exc)) from None

    def _headers_phase(self, method: str, url: str, headers: Headers,
                       streaming: bool) -> "PendingVerification":
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
            return _LegacyPending(self, kind, method, url_host, path, query, found)
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
        epoch = self._epoch(amz_date)
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

        payload, compare = self._payload_rule(found, presigned, is_s3,
                                              "x-amz-content-sha256" in signed_set, streaming)
        policy = getattr(kernels, self._s3_paths if is_s3 else self._service_paths)
        creq_head = (
            f"{method}\n{policy.paths(path)[1]}\n{canonical_query}\n{block}\n{signed_list}\n"
        )
        scope = f"{scope_date}/{service}" if sigv4a else f"{scope_date}/{region}/{service}"
        credentials = self._precheck(access_key_id, region, service, epoch, expires, token,
                                     sigv4a)
        return PendingVerification(
            self, creq_head, f"{algorithm}\n{amz_date}\n{scope}/aws4_request\n", payload,
            compare, credentials, (access_key_id, scope_date, region, service, epoch, expires,
                                   token, signature, tuple(signed_names), sigv4a),
            token)

    def verify_chunked(self, method: str, url: str, headers: Headers, body: Any,
                       *, max_chunk_size: int = 16 << 20) -> "ChunkedReader":
        """Verify an aws-chunked upload (``x-amz-content-sha256`` of
        ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``, ``...-PAYLOAD-TRAILER`` or
        ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``): the request's own signature now, and each
        chunk, the trailer and its checksum as the returned reader is read. ``body`` is the
        framed body: a binary file, bytes or an iterable of bytes. The reader's ``verified`` is
        the ``VerifiedRequest``; iterate it (or ``read`` it) for the decoded data, which comes
        out only once its chunk's signature checks."""
        from ._chunked import STREAMING_UNSIGNED_TRAILER, ChunkChain, ChunkedReader, checksum_header

        verified = self._verify(method, url, headers, None, None, streaming=True)
        found: Dict[str, List[str]] = {}
        pairs: Any = headers.items() if hasattr(headers, "items") else headers  # type: ignore[union-attr]
        for name, value in pairs:
            found.setdefault(name.lower(), []).append(value.strip())
        decoded = found.get("x-amz-decoded-content-length", [])
        if len(decoded) != 1 or not decoded[0].isdigit():
            raise MalformedRequestError("an aws-chunked upload needs x-amz-decoded-content-length",
                                        "MissingContentLength")
        trailer = None
        if verified.payload_hash.endswith("-TRAILER"):
            announced = found.get("x-amz-trailer", [])
            trailer = announced[0].lower().replace("x-amz-checksum-", "", 1) if announced else ""
            if len(announced) != 1 or not announced[0].lower().startswith("x-amz-checksum-"):
                raise MalformedRequestError("a trailer upload needs one x-amz-trailer checksum")
            try:
                checksum_header(trailer)
            except SigningError:
                raise MalformedRequestError("x-amz-trailer names an unknown checksum") from None
        chain = None
        if verified.payload_hash != STREAMING_UNSIGNED_TRAILER:
            amz_date = found["x-amz-date"][0]
            credentials = self._credentials(verified.access_key_id,
                                            verified.service in S3_SERVICES)
            key = self._signing_key(credentials, amz_date[:8], verified.region, verified.service)
            chain = ChunkChain(key, amz_date,
                               f"{amz_date[:8]}/{verified.region}/{verified.service}/aws4_request",
                               found["authorization"][0].rpartition("Signature=")[2])
        reader = ChunkedReader(body, chain=chain, decoded_length=int(decoded[0]),
                               trailer=trailer, max_chunk_size=max_chunk_size)
        reader.verified = verified
        return reader

    def verify_post(self, form: Mapping[str, str], *, bucket: str,
                    content_length: int) -> VerifiedRequest:
        """Verify a browser upload to ``bucket``: the form fields as submitted (``policy``,
        ``x-amz-*``, ``key``... but the file) and the file's size. Checks the policy's
        signature, its expiration and every one of its conditions, and that no field goes
        unnamed by a condition, as S3 does; raises ``AccessDenied`` for a violated policy.

        >>> from fastsig import Credentials, Signer, Verifier
        >>> creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        >>> post = Signer(creds, "us-east-1", "s3").presign_post(
        ...     "bucket", "uploads/${filename}", conditions=[["content-length-range", 1, 1000]])
        >>> Verifier({"AKIDEXAMPLE": creds}.get).verify_post(
        ...     dict(post.fields, key="uploads/cat.jpg"), bucket="bucket", content_length=500).service
        's3'
        """
        from ._s3 import check_post

        fields = {name.lower(): value for name, value in form.items()}
        for name in ("policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
                     "x-amz-signature"):
            if not isinstance(fields.get(name), str):
                raise MalformedAuthorizationError(f"the form lacks {name}")
        if fields["x-amz-algorithm"] != ALGORITHM:
            raise MalformedAuthorizationError("x-amz-algorithm must be AWS4-HMAC-SHA256")
        access_key_id, scope_date, region, service = _scope_of(fields["x-amz-credential"])
        epoch = self._epoch(fields["x-amz-date"])
        if scope_date != fields["x-amz-date"][:8]:
            raise SignatureMismatchError("the credential scope's date is not x-amz-date's date")
        expires_at = check_post(fields["policy"], fields, bucket, content_length, self._clock())
        # The policy's expiration, not the signing time's skew, bounds its use.
        return self._accept(access_key_id, scope_date, region, service, epoch,
                            max(0, expires_at - epoch), fields.get("x-amz-security-token"),
                            fields["x-amz-signature"], fields["policy"], (), UNSIGNED_PAYLOAD)

    def _accept(
        self,
        access_key_id: str,
        scope_date: str,
        region: str,
        service: str,
        epoch: int,
        expires: Optional[int],
        token: Optional[str],
        signature: str,
        string_to_sign: str,
        signed_headers: Tuple[str, ...],
        payload: str,
        sigv4a: bool = False,
    ) -> VerifiedRequest:
        """The checks a request ends with, once its string to sign is known: scope, time,
        access key, session token, signature. ``expires`` (seconds) only for presigned URLs.
        For SigV4a, ``region`` is the region set and ``signature`` a hex DER ECDSA one."""
        credentials = self._precheck(access_key_id, region, service, epoch, expires, token,
                                     sigv4a)
        self._check_signature(credentials, scope_date, region, service, signature,
                              string_to_sign, sigv4a, None, None)
        return VerifiedRequest(access_key_id, region, service, signed_headers, epoch,
                               None if expires is None else expires + epoch, token,
                               expires is not None, payload)

    def _precheck(self, access_key_id: str, region: str, service: str, epoch: int,
                  expires: Optional[int], token: Optional[str], sigv4a: bool) -> Any:
        """Scope, time, access key and session token: the Credentials (or, for SigV4a, the
        public key the lookup gave)."""
        if self._region is not None and not (
            _in_region_set(self._region, region) if sigv4a else region == self._region
        ):
            raise SignatureMismatchError(f"credential should be scoped to region {self._region}")
        if self._service is not None and service != self._service:
            raise SignatureMismatchError(f"credential should be scoped to service {self._service}")
        now = self._clock()
        if expires is not None:
            if now > expires + epoch:
                raise RequestExpiredError("Request has expired")
            if epoch - now > self._max_skew:
                raise RequestTimeTooSkewedError("X-Amz-Date is in the future: not valid yet")
        elif abs(now - epoch) > self._max_skew:
            raise RequestTimeTooSkewedError(
                "the difference between the request time and the current time is too large"
            )
        is_s3 = service in S3_SERVICES
        credentials = self._credentials(access_key_id, is_s3, sigv4a)
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

    def _check_signature(self, credentials: Any, scope_date: str, region: str, service: str,
                         signature: str, string_to_sign: str, sigv4a: bool,
                         canonical_request: Optional[str], token: Optional[str]) -> None:
        """Raises SignatureMismatchError unless ``signature`` signs ``string_to_sign``; with
        ``debug_errors``, the error's details are what S3 shows (``token`` hidden)."""
        if sigv4a:
            public_key = (derive_sigv4a_key(credentials).public_key()
                          if isinstance(credentials, Credentials) else credentials)
            good = _ecdsa_verifies(public_key, signature, string_to_sign)
        else:
            expected = self._signing_key(credentials, scope_date, region, service).sign(
                string_to_sign)
            good = bool(_SIGNATURE.fullmatch(signature)) and hmac.compare_digest(expected, signature)
        if good:
            return
        error = SignatureMismatchError(
            "The request signature we calculated does not match the signature you provided")
        if self.debug_errors:
            error.details = _debug_details(canonical_request, string_to_sign, token)
        raise error

    def _payload_rule(
        self,
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
            if not self._unsigned_ok(is_s3):
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

    @staticmethod
    def _body_hash(body: Any, payload_hash: Optional[str]) -> str:
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
            payload = Verifier._body_hash(body, payload_hash)
        creq = self._creq_head + payload
        sts = self._sts_head + _backend.kernels.sha256_hex(creq.encode("utf-8"))
        self._verifier._check_signature(self._credentials, scope_date, region, service,
                                        signature, sts, sigv4a, creq, self._token)
        if (self.body_needed and self.payload is not None
                and Verifier._body_hash(body, payload_hash) != payload):
            raise PayloadHashMismatchError(
                "The provided 'x-amz-content-sha256' header does not match what was computed."
            )
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
