"""``Verifier``: check inbound SigV4 requests and presigned URLs.

It rebuilds the canonical request with the very kernels that ``Signer`` signs with, so the
two cannot drift apart, and compares signatures in constant time. Failures raise a subclass of
``VerificationError`` whose ``code`` is what AWS would answer.
"""

from __future__ import annotations

import datetime
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

from . import _backend
from ._errors import (
    MalformedAuthorizationError,
    MalformedRequestError,
    SignatureMismatchError,
    SigningError,
    UnknownAccessKeyError,
)
from ._key_cache import signing_keys
from ._legacy_verify import LEGACY_ALGORITHMS
from ._verify_rules import (
    PendingVerification,
    _epoch_of,
    _scope_of,
    check_signature,
    headers_phase,
    precheck,
)
from .credentials import Credentials
from .signer import _PATH_POLICIES, S3_SERVICES
from .sigv4 import ALGORITHM, UNSIGNED_PAYLOAD

if TYPE_CHECKING:
    from ._chunked import ChunkedReader

__all__ = ["PendingVerification", "VerifiedRequest", "Verifier"]

Lookup = Callable[[str], Union[Credentials, str, None]]
Headers = Union[Mapping[str, str], List[Tuple[str, str]], None]


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
            return headers_phase(self, method, url, headers, streaming)
        except SigningError as exc:
            # The kernels refuse what cannot be canonicalized; to a verifier that is the
            # client's error. Their messages name the part, never a value.
            raise MalformedRequestError(str(exc)) from None

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
        credentials = precheck(self, access_key_id, region, service, epoch, expires, token,
                               sigv4a)
        check_signature(self, credentials, scope_date, region, service, signature,
                        string_to_sign, sigv4a, None, None)
        return VerifiedRequest(access_key_id, region, service, signed_headers, epoch,
                               None if expires is None else expires + epoch, token,
                               expires is not None, payload)

