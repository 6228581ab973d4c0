"""``Signer``: SigV4 header signing and presigned URLs, the friendly front door."""

from __future__ import annotations

import datetime
import importlib
import re
import time
import warnings
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from . import _backend, _speedups_py
from ._speedups_py import SignedRequest
from ._errors import (
    ConfigurationError,
    CredentialsError,
    ExpiringCredentialsWarning,
    InvalidRequestError,
    PayloadError,
)
from ._key_cache import signing_keys
from ._timestamp import Timestamp, amz_date, to_epoch_seconds
from .credentials import Credentials, default_provider, default_region
from .sigv4 import ALGORITHM, EMPTY_SHA256, UNSIGNED_PAYLOAD, hash_payload

if TYPE_CHECKING:
    from ._chunked import ChunkedUpload
    from ._eventstream import SignedEvent
    from ._speedups import SigningContext
    from ._s3 import PresignedPost

__all__ = ["DEFAULT_EXCLUDED_HEADERS", "SignedRequest", "Signer", "S3_SERVICES"]

Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]

S3_SERVICES = frozenset({"s3", "s3-object-lambda", "s3express"})
"""Services that get S3's rules by default: the path is encoded once and not normalized,
``X-Amz-Content-SHA256`` is sent, and presigned URLs carry ``UNSIGNED-PAYLOAD``."""

DEFAULT_EXCLUDED_HEADERS = frozenset(
    {
        # Rewritten by proxies, load balancers or HTTP clients on the way to the service.
        "connection",
        "expect",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "via",
        "x-amzn-trace-id",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-forwarded-proto",
    }
)
"""Headers that are sent but never signed, because something between the client and the
service may add, change or drop them."""

# The kernels' named path policies, by (double_encode, normalize_path).
_PATH_POLICIES = {
    (False, False): "S3_PATHS",
    (True, True): "SERVICE_PATHS",
    (True, False): "DOUBLE_ENCODED_PATHS",
    (False, True): "NORMALIZED_S3_STYLE_PATHS",
}
_now = time.time
_ALGORITHMS = ("sigv4", "sigv4a", "sigv2", "hmacv1")
MAX_EXPIRES = 604800  # seven days: the longest a SigV4 presigned URL may live
_SCOPE_PART = re.compile(r"[A-Za-z0-9._\-]+")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_PAYLOAD_LITERAL = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)+")  # UNSIGNED-PAYLOAD, STREAMING-...
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _check_scope_part(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _SCOPE_PART.fullmatch(value):
        raise ConfigurationError(f"{what} must be a non-empty name such as us-east-1, got {value!r}")
    return value


def _check_payload_hash(value: Any) -> str:
    if isinstance(value, str) and (_HEX_DIGEST.fullmatch(value) or _PAYLOAD_LITERAL.fullmatch(value)):
        return value
    raise PayloadError(
        "payload_hash must be a lowercase hex SHA-256 or a literal such as UNSIGNED-PAYLOAD"
    )


def _check_expires(expires_in: Any) -> int:
    if isinstance(expires_in, datetime.timedelta):
        seconds = expires_in.total_seconds()
        expires_in = int(seconds) if seconds == int(seconds) else None
    if isinstance(expires_in, bool) or not isinstance(expires_in, int):
        raise InvalidRequestError("expires_in must be whole seconds (an int or a timedelta)")
    if not 1 <= expires_in <= MAX_EXPIRES:
        raise InvalidRequestError(f"expires_in must be 1..{MAX_EXPIRES} seconds, got {expires_in}")
    return expires_in


def _body_length(body: Any) -> Optional[int]:
    """The bytes a body holds from where it stands: bytes-like, or a seekable file (its
    position kept); None for a stream whose size cannot be told in advance."""
    if isinstance(body, (bytes, bytearray)):
        return len(body)
    if isinstance(body, memoryview):
        return body.nbytes
    try:
        if not body.seekable():
            return None
        position = body.tell()
        end = body.seek(0, 2)
        body.seek(position)
    except (AttributeError, OSError, ValueError):
        return None
    return int(end - position)


class Signer:
    """Signs requests for one region and service with AWS Signature Version 4.

    >>> from fastsig import Credentials, Signer
    >>> signer = Signer(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
    ...                 "us-east-1", "s3")
    >>> url = signer.presign("GET", "https://bucket.s3.amazonaws.com/a key.txt",
    ...                      timestamp="20150830T123600Z")
    >>> url.split("?")[0]
    'https://bucket.s3.amazonaws.com/a%20key.txt'

    ``credentials`` is a ``Credentials``, a provider (anything with ``resolve()`` returning
    ``Credentials``, asked before each signature, such as those of ``fastsig.credentials``),
    or None for ``fastsig.default_provider()``, the AWS CLI's chain. ``region`` None means
    ``fastsig.credentials.default_region()``. The options, keyword-only:

    - ``double_encode``: encode the path once more for the canonical request. Default: True,
      except for the S3 family, which signs the path in its single canonical encoding.
    - ``normalize_path``: remove ``.``/``..`` segments and collapse ``//`` in the canonical
      URI. Default: True, except for the S3 family, whose keys may contain them.
    - ``unsigned_payload``: sign ``UNSIGNED-PAYLOAD`` instead of hashing the body.
    - ``omit_session_token``: send the session token without signing it (AWS IoT wants this).
    - ``excluded_headers``: lowercase names sent but never signed
      (default ``DEFAULT_EXCLUDED_HEADERS``).
    - ``content_sha256_header``: send and sign ``X-Amz-Content-SHA256`` with header signing.
      Default: True for the S3 family, which requires it.
    - ``algorithm``: ``"sigv4"`` (HMAC-SHA256), or ``"sigv4a"`` (ECDSA P-256, for multi-region
      endpoints such as S3 Multi-Region Access Points; needs the ``cryptography`` package).
    - ``region_set``: the regions a SigV4a signature is good for, as names or patterns
      (default ``("*",)``, any region); sent as ``X-Amz-Region-Set``. ``region`` is not part of
      a SigV4a signature.

    The legacy algorithms, for services and S3-compatible stores that still require them
    (``sign`` and ``presign`` only; ``region`` is not part of their signatures):
    ``"sigv2"`` (Signature Version 2 of query APIs: the query's or form body's parameters)
    and ``"hmacv1"`` (S3's ``Authorization: AWS key:signature``, presigned with ``Expires``).
    """

    def __init__(
        self,
        credentials: Any,
        region: Optional[str],
        service: str,
        *,
        double_encode: Optional[bool] = None,
        normalize_path: Optional[bool] = None,
        unsigned_payload: bool = False,
        omit_session_token: bool = False,
        excluded_headers: Iterable[str] = DEFAULT_EXCLUDED_HEADERS,
        content_sha256_header: Optional[bool] = None,
        algorithm: str = "sigv4",
        region_set: Optional[Iterable[str]] = None,
    ) -> None:
        if region_set is not None and not isinstance(region_set, str):
            region_set = tuple(region_set)  # read once: kept for a pickled copy
        if algorithm not in _ALGORITHMS:
            raise ConfigurationError(
                f"algorithm must be one of {', '.join(map(repr, _ALGORITHMS))}, got {algorithm!r}")
        if region_set is not None and algorithm != "sigv4a":
            raise ConfigurationError("region_set is for algorithm='sigv4a'")
        if credentials is None:
            credentials = default_provider()
        if region is None:
            region = default_region()
            if region is None:
                raise ConfigurationError("no region given, and none in AWS_REGION, "
                                         "AWS_DEFAULT_REGION or the profile")
        if isinstance(credentials, Credentials):
            self._credentials: Optional[Credentials] = credentials
            self._provider = None
        elif callable(getattr(credentials, "resolve", None)):
            self._credentials = None
            self._provider = credentials
        else:
            raise CredentialsError("credentials must be fastsig.Credentials or a provider")
        self.region = _check_scope_part(region, "region")
        self.service = _check_scope_part(service, "service")
        is_s3 = service in S3_SERVICES
        self.double_encode = (not is_s3) if double_encode is None else bool(double_encode)
        self.normalize_path = (not is_s3) if normalize_path is None else bool(normalize_path)
        self.unsigned_payload = bool(unsigned_payload)
        self.omit_session_token = bool(omit_session_token)
        if isinstance(excluded_headers, str):
            raise ConfigurationError("excluded_headers must be a collection of header names")
        excluded = set()
        for name in excluded_headers:
            if not isinstance(name, str) or not _TOKEN.fullmatch(name):
                raise ConfigurationError(f"excluded header {name!r} is not an HTTP token")
            excluded.add(name.lower())
        self.excluded_headers = frozenset(excluded)
        self.content_sha256_header = is_s3 if content_sha256_header is None else bool(content_sha256_header)
        # Presigned URLs cannot carry a body hash the client would send, so S3 signs none.
        self._presign_payload = (
            UNSIGNED_PAYLOAD if (is_s3 or self.unsigned_payload) else EMPTY_SHA256
        )
        self.algorithm = algorithm
        self._kernels = _backend.kernels
        # A given timestamp costs what "now" does: the kernels read the usual forms in C.
        self._epoch_seconds = self._kernels.epoch_seconds
        # The legacy algorithms' module (fastsig._sigv2 or fastsig._hmacv1), or None.
        self._legacy: Any = None
        if algorithm in ("sigv2", "hmacv1"):
            self._legacy = importlib.import_module(f"fastsig._{algorithm}")
        if algorithm == "sigv4a":
            from ._sigv4a import region_set_value

            self.region_set = region_set_value(("*",) if region_set is None else region_set)
            # ECDSA dominates a SigV4a signature: its context is the pure one on any backend.
            self._path_policy = getattr(_speedups_py, _PATH_POLICIES[self.double_encode,
                                                                     self.normalize_path])
        else:
            self._path_policy = getattr(
                self._kernels, _PATH_POLICIES[self.double_encode, self.normalize_path])
        # (second start, second end, credentials, signing context) of the last request.
        self._cached: Optional[Tuple[int, int, Credentials, Any]] = None
        # With fixed credentials that never expire, a request in the cached second needs no
        # other check: sign and presign then go straight to the cached context. ``_fast`` is
        # (start, end, context) of that second, as floats to compare with time.time() cheaply.
        self._fast_ok = self._credentials is not None and self._credentials.expiration is None
        self._fast: Optional[Tuple[float, float, "SigningContext"]] = None
        self._event_key: Optional[Tuple[Credentials, str, Any]] = None  # sign_event's key
        # What a pickled Signer is rebuilt from on a worker: everything but the credentials.
        self._options: Dict[str, Any] = {
            "double_encode": double_encode, "normalize_path": normalize_path,
            "unsigned_payload": unsigned_payload, "omit_session_token": omit_session_token,
            "excluded_headers": self.excluded_headers,
            "content_sha256_header": content_sha256_header, "algorithm": algorithm,
            "region_set": region_set}
        self._ships_credentials = False

    def __repr__(self) -> str:
        who = self._credentials.access_key_id if self._credentials else type(self._provider).__name__
        return f"Signer({who!r}, region={self.region!r}, service={self.service!r})"

    def _resolve(self) -> Credentials:
        credentials = self._credentials
        if credentials is None:
            credentials = self._provider.resolve()  # type: ignore[union-attr]
            if not isinstance(credentials, Credentials):
                raise CredentialsError("the credentials provider did not return Credentials")
        return credentials

    def __reduce__(self) -> Tuple[Any, ...]:
        """Pickled for a worker (Dask, Spark, Ray, multiprocessing): without credentials, so
        the worker resolves its own from the default chain (environment, profile, container
        or instance role) when it first signs. ``portable(include_credentials=True)`` makes a
        Signer that carries its credentials instead."""
        credentials = self._credentials if self._ships_credentials else None
        return (_unpickle_signer, (credentials, self.region, self.service, self._options,
                                   self._ships_credentials))

    def portable(self, *, include_credentials: bool = False) -> "Signer":
        """A copy of this Signer to send to workers. By default it is what pickling sends
        anyway (no credentials: each worker uses its own chain). With
        ``include_credentials=True`` the credentials resolved now travel with it, secret key
        and session token included, in every pickle of it: opt in only where the task graph
        is as private as the keys (temporary credentials stop working when they expire).

        >>> import pickle
        >>> from fastsig import Credentials, Signer
        >>> signer = Signer(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ...                 "us-east-1", "s3")
        >>> b"wJalrXUtnFEMI" in pickle.dumps(signer)
        False
        >>> b"wJalrXUtnFEMI" in pickle.dumps(signer.portable(include_credentials=True))
        True
        """
        source: Any = self._credentials if self._credentials is not None else self._provider
        if include_credentials and self._credentials is None:
            source = self._provider.resolve()  # type: ignore[union-attr]
            if not isinstance(source, Credentials):
                raise CredentialsError("the credentials provider did not return Credentials")
        return _unpickle_signer(source, self.region, self.service, self._options,
                                include_credentials)

    def _context(
        self, timestamp: Optional[Timestamp]
    ) -> Tuple[int, int, Credentials, "SigningContext"]:
        """(epoch seconds, the next second, credentials, signing context) for this request;
        the context is reused while the second and the credentials stay the same."""
        if self._legacy is not None:
            raise ConfigurationError(
                f"algorithm={self.algorithm!r} signs with sign() and presign() only")
        credentials = self._resolve()
        cached = self._cached
        if timestamp is None:
            now = time.time()
            # Float bounds: the common case costs two comparisons, no int conversion.
            if cached is not None and cached[0] <= now < cached[1] and cached[2] is credentials:
                return cached
            epoch = int(now)
        else:
            epoch = self._kernels.epoch_seconds(timestamp)
            if cached is not None and cached[0] == epoch and cached[2] is credentials:
                return cached
        date_time = amz_date(epoch)
        kernels = self._kernels
        if self.algorithm == "sigv4a":
            from ._sigv4a import SigV4aContext, derive_sigv4a_key

            make_context: Any = SigV4aContext
            key = derive_sigv4a_key(credentials)
            scope_region = self.region_set
        else:
            make_context = kernels.SigningContext
            key = signing_keys.get(
                credentials, date_time[:8], self.region, self.service, kernels.derive_signing_key
            )
            scope_region = self.region
        context = make_context(
            key,
            credentials.access_key_id,
            date_time,
            scope_region,
            self.service,
            credentials.session_token,
            self._path_policy,
            self.omit_session_token,
            self.content_sha256_header,
            self.excluded_headers,
        )
        cached = (epoch, epoch + 1, credentials, context)
        self._cached = cached
        if self._fast_ok:
            self._fast = (float(epoch), float(epoch + 1), context)
        return cached

    def sign(
        self,
        method: str,
        url: str,
        headers: Headers = None,
        body: Any = None,
        *,
        timestamp: Optional[Timestamp] = None,
        payload_hash: Optional[str] = None,
    ) -> SignedRequest:
        """Sign a request in the Authorization header.

        ``url`` is the request target as it will be sent; send the returned
        ``SignedRequest.url`` with ``SignedRequest.headers`` and the same body. ``body`` is
        ``None``, bytes-like, ``str`` (UTF-8) or a binary file object (hashed in chunks, its
        position restored). ``payload_hash`` replaces the body's hash (a hex digest or a
        literal such as ``UNSIGNED-PAYLOAD``); without either, a caller's
        ``X-Amz-Content-SHA256`` header is used, else the hash of an empty body.

        >>> from fastsig import Credentials, Signer
        >>> signer = Signer(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ...                 "us-east-1", "service")
        >>> signed = signer.sign("GET", "https://example.amazonaws.com/",
        ...                      timestamp="20150830T123600Z")
        >>> signed.signature
        '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'
        """
        fast = self._fast
        if fast is not None and payload_hash is None and (
                body is None or body.__class__ is bytes) and not self.unsigned_payload:
            # The common call: the kernel hashes a bytes body itself. A timestamp given is
            # read by the context, which answers None when it is not its second.
            if timestamp is None:
                if fast[0] <= _now() < fast[1]:
                    return fast[2].sign(method, url, headers, None, body)
            else:
                signed_now = fast[2].sign_at(timestamp, method, url, headers, None, body)
                if signed_now is not None:
                    return signed_now
        if fast is not None and fast[0] <= (
                _now() if timestamp is None else self._epoch_seconds(timestamp)) < fast[1]:
            context = fast[2]
        else:
            if self._legacy is not None:
                if payload_hash is not None:  # checked, but the legacy forms sign no payload
                    _check_payload_hash(payload_hash)
                epoch = int(_now()) if timestamp is None else to_epoch_seconds(timestamp)
                signed: SignedRequest = self._legacy.sign(
                    self._resolve(), epoch, method, url, headers, body)
                return signed
            context = self._context(timestamp)[3]
        if payload_hash is not None:
            payload_hash = _check_payload_hash(payload_hash)
        elif self.unsigned_payload:
            payload_hash = UNSIGNED_PAYLOAD
        elif body is not None and body.__class__ is not bytes:
            payload_hash = hash_payload(body)
        else:  # the kernel hashes bytes itself
            return context.sign(method, url, headers, None, body)
        return context.sign(method, url, headers, payload_hash)

    def _presign_setup(
        self, expires_in: Any, timestamp: Optional[Timestamp], payload_hash: Optional[str]
    ) -> Tuple["SigningContext", int, str]:
        if expires_in.__class__ is not int or not 0 < expires_in <= MAX_EXPIRES:
            expires_in = _check_expires(expires_in)
        epoch, _, credentials, context = self._context(timestamp)
        expiration = credentials._expiration_epoch
        if expiration is not None and expiration < epoch + expires_in:
            warnings.warn(
                "the presigned URL outlives the credentials that sign it: it stops working "
                f"when they expire at {credentials.expiration.isoformat()}",  # type: ignore[union-attr]
                ExpiringCredentialsWarning,
                stacklevel=3,
            )
        if payload_hash is not None:
            payload_hash = _check_payload_hash(payload_hash)
        else:
            payload_hash = self._presign_payload
        return context, expires_in, payload_hash

    def presign(
        self,
        method: str,
        url: str,
        *,
        expires_in: Union[int, datetime.timedelta] = 3600,
        headers: Headers = None,
        timestamp: Optional[Timestamp] = None,
        payload_hash: Optional[str] = None,
    ) -> str:
        """A presigned URL: the signature travels in the query string.

        ``expires_in`` is 1..604800 seconds. ``headers`` are signed too, and the client must
        then send them. The payload hash is ``UNSIGNED-PAYLOAD`` for S3 and the empty-body
        hash for other services, unless ``payload_hash`` says otherwise."""
        # The common call (now, default payload, fixed credentials without expiry, same second
        # as the last call) goes straight to the kernel: this wrapper is most of a compiled
        # presign's cost.
        fast = self._fast
        if (
            fast is not None
            and payload_hash is None
            and expires_in.__class__ is int
            and 0 < expires_in <= MAX_EXPIRES
        ):
            if timestamp is None:
                if fast[0] <= _now() < fast[1]:
                    return fast[2].presign(method, url, expires_in, headers, self._presign_payload)
            else:  # read by the context, which answers None when it is not its second
                presigned_now = fast[2].presign_at(timestamp, method, url, expires_in, headers,
                                                   self._presign_payload)
                if presigned_now is not None:
                    return presigned_now
        if self._legacy is not None:
            if payload_hash is not None:  # checked, but the legacy forms sign no payload
                _check_payload_hash(payload_hash)
            seconds: Any = expires_in
            if isinstance(expires_in, datetime.timedelta):  # no seven-day limit here
                seconds = expires_in.total_seconds()
                seconds = int(seconds) if seconds == int(seconds) else None
            epoch = int(_now()) if timestamp is None else to_epoch_seconds(timestamp)
            presigned: str = self._legacy.presign(
                self._resolve(), epoch, method, url, seconds, headers)
            return presigned
        context, expires_in, payload_hash = self._presign_setup(expires_in, timestamp, payload_hash)
        return context.presign(method, url, expires_in, headers, payload_hash)

    def sign_chunked(
        self,
        method: str,
        url: str,
        body: Any,
        *,
        headers: Headers = None,
        decoded_length: Optional[int] = None,
        chunk_size: int = 65536,
        checksum: Optional[str] = None,
        signed_chunks: bool = True,
        timestamp: Optional[Timestamp] = None,
    ) -> "ChunkedUpload":
        """Sign an aws-chunked upload: ``body`` (bytes, a binary file or an iterable of bytes)
        goes out in ``chunk_size`` chunks (at least 8 KiB), each signed in a chain from the
        request's signature. ``checksum`` (``crc32``, ``crc32c``, ``crc64nvme``, ``sha1``,
        ``sha256``) adds a trailing checksum header, signed too; with ``signed_chunks=False``
        the chunks go unsigned and the checksum guards them (``checksum`` is then required).

        ``decoded_length`` is the body's size, needed up front for a non-seekable stream.
        Returns a ``ChunkedUpload``: send ``body`` (iterable, or a file-like with ``len``) to
        ``url`` with ``headers``, which include Content-Encoding, Content-Length,
        X-Amz-Decoded-Content-Length and X-Amz-Trailer. Memory stays at one chunk."""
        from ._chunked import (
            MIN_CHUNK_SIZE,
            STREAMING_SIGNED,
            STREAMING_SIGNED_TRAILER,
            STREAMING_UNSIGNED_TRAILER,
            ChunkChain,
            ChunkedBody,
            ChunkedUpload,
            checksum_header,
            framed_length,
        )

        if self.algorithm != "sigv4" or not self.content_sha256_header:
            raise ConfigurationError(
                "aws-chunked uploads need algorithm='sigv4' and the X-Amz-Content-SHA256 header")
        if chunk_size.__class__ is not int or chunk_size < MIN_CHUNK_SIZE:
            raise PayloadError(f"chunk_size must be an int of at least {MIN_CHUNK_SIZE} bytes")
        trailer_header = checksum_header(checksum) if checksum is not None else None
        if not signed_chunks and checksum is None:
            raise PayloadError("unsigned chunks need a checksum trailer to protect them")
        if isinstance(body, str) or body is None:
            raise PayloadError("body must be bytes, a binary file or an iterable of bytes")
        known = _body_length(body)
        if decoded_length is None:
            if known is None:
                raise PayloadError("decoded_length is needed for a body whose size cannot be "
                                   "told in advance")
            decoded_length = known
        if decoded_length.__class__ is not int or decoded_length < 0:
            raise PayloadError("decoded_length must be a non-negative int")
        if known is not None and known != decoded_length:
            raise PayloadError(f"the body holds {known} bytes, not decoded_length={decoded_length}")
        payload = (STREAMING_SIGNED if checksum is None else STREAMING_SIGNED_TRAILER) \
            if signed_chunks else STREAMING_UNSIGNED_TRAILER
        given = [] if headers is None else list(
            headers.items() if hasattr(headers, "items") else headers)
        sent = [(n, v) for n, v in given
                if n.lower() not in ("content-length", "transfer-encoding", "content-encoding")]
        encodings = [v for n, v in given if n.lower() == "content-encoding"]
        sent.append(("Content-Encoding", ",".join(["aws-chunked", *encodings])))
        sent.append(("Content-Length", str(framed_length(
            decoded_length, chunk_size, signed_chunks, checksum))))
        sent.append(("X-Amz-Decoded-Content-Length", str(decoded_length)))
        if trailer_header is not None:
            sent.append(("X-Amz-Trailer", trailer_header))
        epoch, _, credentials, _ = self._context(timestamp)
        signed = self.sign(method, url, sent, timestamp=epoch, payload_hash=payload)
        date_time = amz_date(epoch)
        chain = None
        if signed_chunks:
            chain = ChunkChain(self._hmac_key(credentials, date_time[:8]), date_time,
                               self._scope(date_time[:8]), signed.signature)
        stream = ChunkedBody(body, decoded_length, chunk_size, chain, checksum)
        return ChunkedUpload(signed.url, signed.headers, stream, signed.signature)

    def sign_event(
        self, payload: bytes, prior_signature: str, *, timestamp: Optional[Timestamp] = None
    ) -> "SignedEvent":
        """Sign one message of an event stream (Transcribe streaming, Lex, Kinesis
        SubscribeToShard): ``payload`` is the event's encoded frame (``encode_event``), empty
        for the message that ends the stream; ``prior_signature`` is the hex signature of the
        previous message, or of the request that opened the stream (signed with
        ``payload_hash=STREAMING_EVENTS_PAYLOAD``). Returns a ``SignedEvent``: its
        ``encode()`` is the frame to send, its ``signature`` the next message's prior.

        >>> from fastsig import Credentials, Signer
        >>> signer = Signer(Credentials("access", "secret"), "us-east-1", "demo")
        >>> signer.sign_event(b"", "c" * 64, timestamp="19810116T063004Z").headers[":date"]
        datetime.datetime(1981, 1, 16, 6, 30, 4, tzinfo=datetime.timezone.utc)
        """
        from ._eventstream import SignedEvent, event_string_to_sign

        if self.algorithm != "sigv4":
            raise ConfigurationError("event streams are signed with algorithm='sigv4'")
        if not isinstance(prior_signature, str) or not _HEX_DIGEST.fullmatch(prior_signature):
            raise PayloadError("prior_signature must be a lowercase hex SHA-256 signature")
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise PayloadError("an event payload must be bytes")
        payload = bytes(payload)
        epoch, _, credentials, _ = self._context(timestamp)
        date_time = amz_date(epoch)
        # A stream's messages share the day's key: made once, not per message.
        cached = self._event_key
        if cached is not None and cached[0] is credentials and cached[1] == date_time[:8]:
            key = cached[2]
        else:
            key = self._hmac_key(credentials, date_time[:8])
            self._event_key = (credentials, date_time[:8], key)
        signature = key.sign(event_string_to_sign(
            date_time, self._scope(date_time[:8]), prior_signature, epoch * 1000, payload))
        headers = {
            ":date": datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc),
            ":chunk-signature": bytes.fromhex(signature),
        }
        return SignedEvent(headers, payload, signature)

    def _scope(self, date: str) -> str:
        return f"{date}/{self.region}/{self.service}/aws4_request"

    def _hmac_key(self, credentials: Credentials, date: str) -> Any:
        """The kernels' SigningKey of ``credentials`` for a day: what signs the chunks of an
        upload after its seed, or a POST policy."""
        kernels = self._kernels
        return kernels.SigningKey(signing_keys.get(
            credentials, date, self.region, self.service, kernels.derive_signing_key))

    def presign_post(
        self,
        bucket: str,
        key: str,
        *,
        expires_in: Union[int, datetime.timedelta] = 3600,
        conditions: Optional[Iterable[Any]] = None,
        fields: Optional[Mapping[str, str]] = None,
        timestamp: Optional[Timestamp] = None,
        endpoint_url: Optional[str] = None,
        path_style: bool = False,
    ) -> "PresignedPost":
        """A browser upload form for ``key`` in ``bucket``: the URL to post to and the fields
        to send before the file, as botocore's ``generate_presigned_post`` makes them.

        ``conditions`` are the policy's own: ``{"field": "value"}``, ``["eq", "$field",
        "value"]``, ``["starts-with", "$field", "prefix"]``, ``["content-length-range", min,
        max]``; the bucket, the key and the signing fields are added. A key ending in
        ``${filename}`` allows any name after its prefix. ``fields`` are sent as given (name
        them in a condition too)."""
        from ._s3 import PresignedPost, encode_policy, post_policy, presign_bucket_url

        if self.algorithm != "sigv4" or self.service not in S3_SERVICES:
            raise ConfigurationError("presign_post is for S3 signers with algorithm='sigv4'")
        expires_in = _check_expires(expires_in)
        # The name is checked before anything is signed: a bad one yields no form.
        url = presign_bucket_url(bucket, self.region, endpoint_url=endpoint_url,
                                 path_style=path_style)
        epoch, _, credentials, _ = self._context(timestamp)
        policy, form = post_policy(bucket, key, epoch + expires_in, conditions, fields)
        date_time = amz_date(epoch)
        signing = [
            ("x-amz-algorithm", ALGORITHM),
            ("x-amz-credential", f"{credentials.access_key_id}/{self._scope(date_time[:8])}"),
            ("x-amz-date", date_time),
        ]
        if credentials.session_token is not None:
            signing.append(("x-amz-security-token", credentials.session_token))
        for name, value in signing:
            form[name] = value
            policy["conditions"].append({name: value})
        form["policy"] = encode_policy(policy)
        form["x-amz-signature"] = self._hmac_key(credentials, date_time[:8]).sign(form["policy"])
        return PresignedPost(url, form)

    def presign_many(
        self,
        method: str,
        urls: Iterable[str],
        *,
        expires_in: Union[int, datetime.timedelta] = 3600,
        timestamp: Optional[Timestamp] = None,
    ) -> List[str]:
        """``presign`` for each URL of ``urls``, in order, with one date, scope and signing
        key for the whole batch."""
        context, expires_in, payload_hash = self._presign_setup(expires_in, timestamp, None)
        return context.presign_many(method, urls, expires_in, payload_hash)

    def _bucket_prefix(self, bucket: str, endpoint_url: Optional[str], path_style: bool,
                       dualstack: bool) -> str:
        from ._s3 import presign_bucket_url

        if self.algorithm != "sigv4" or self.service not in S3_SERVICES:
            raise ConfigurationError("presigning keys is for S3 signers with algorithm='sigv4'")
        if endpoint_url is None and self.service not in ("s3", "s3-object-lambda"):
            raise ConfigurationError(f"S3 buckets on AWS are signed for service 's3', not "
                                     f"{self.service!r}")
        return presign_bucket_url(bucket, self.region, endpoint_url=endpoint_url,
                                  path_style=path_style, dualstack=dualstack)

    def presign_keys(
        self,
        bucket: str,
        keys: Iterable[str],
        *,
        method: str = "GET",
        expires_in: Union[int, datetime.timedelta] = 3600,
        timestamp: Optional[Timestamp] = None,
        path_style: bool = False,
        endpoint_url: Optional[str] = None,
        dualstack: bool = False,
        params: Union[Mapping[str, str], Iterable[Tuple[str, str]], None] = None,
    ) -> List[str]:
        """A presigned URL for each key of ``bucket``, in order: what ``fastsig presign
        --bucket`` writes, made the same way (one kernel call per block of keys).

        Keys are object keys as S3 stores them (any Unicode, ``%``, ``+``, ``#``, ``?``, CR
        and LF included); the bucket name is checked by S3's naming rules first
        (``InvalidBucketNameError``). ``params`` are extra signed query parameters, such as
        ``{"response-content-disposition": "attachment"}``. A directory bucket
        (``name--zone-id--x-s3``) is refused: its zonal endpoint takes S3 Express sessions only.

        >>> from fastsig import Credentials, Signer
        >>> signer = Signer(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ...                 "eu-west-1", "s3")
        >>> urls = signer.presign_keys("my-bucket", ["a.txt", "50% off.txt"],
        ...                            timestamp="20150830T123600Z")
        >>> [url.split("?")[0] for url in urls]
        ['https://my-bucket.s3.eu-west-1.amazonaws.com/a.txt', \
'https://my-bucket.s3.eu-west-1.amazonaws.com/50%25%20off.txt']
        """
        from ._key_urls import encode_params, presign_key_list

        prefix = self._bucket_prefix(bucket, endpoint_url, path_style, dualstack)
        query = encode_params(params)
        keys = keys if isinstance(keys, list) else list(keys)
        context, expires_in, payload_hash = self._presign_setup(expires_in, timestamp, None)
        return presign_key_list(context, method, prefix, keys, query, expires_in, payload_hash)

    def write_presigned_keys(
        self,
        out: Any,
        bucket: str,
        keys: Iterable[str],
        *,
        method: str = "GET",
        expires_in: Union[int, datetime.timedelta] = 3600,
        timestamp: Optional[Timestamp] = None,
        path_style: bool = False,
        endpoint_url: Optional[str] = None,
        dualstack: bool = False,
        params: Union[Mapping[str, str], Iterable[Tuple[str, str]], None] = None,
        block_size: int = 8192,
    ) -> int:
        """``presign_keys`` streamed: writes each URL and a newline (UTF-8) to the binary file
        object ``out``, ``block_size`` keys at a time, so memory stays bounded whatever the
        number of keys (a generator of millions is fine). All URLs share one timestamp (now,
        unless given). Returns the number of URLs written.

        >>> import io
        >>> from fastsig import Credentials, Signer
        >>> signer = Signer(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ...                 "eu-west-1", "s3")
        >>> out = io.BytesIO()
        >>> signer.write_presigned_keys(out, "my-bucket", (f"k{i}" for i in range(3)))
        3
        """
        from ._key_urls import encode_params, presign_key_block

        if block_size.__class__ is not int or block_size < 1:
            raise InvalidRequestError("block_size must be a positive int")
        prefix = self._bucket_prefix(bucket, endpoint_url, path_style, dualstack)
        query = encode_params(params)
        if timestamp is None:
            timestamp = int(_now())  # one moment for the whole stream
        context, expires_in, payload_hash = self._presign_setup(expires_in, timestamp, None)
        count = 0
        block: List[str] = []
        for key in keys:
            block.append(key)
            if len(block) == block_size:
                out.write(presign_key_block(context, method, prefix, block, query, expires_in,
                                            payload_hash))
                count += len(block)
                block = []
        if block:
            out.write(presign_key_block(context, method, prefix, block, query, expires_in,
                                        payload_hash))
            count += len(block)
        return count

    def presign_upload_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_count: int,
        *,
        expires_in: Union[int, datetime.timedelta] = 3600,
        timestamp: Optional[Timestamp] = None,
        path_style: bool = False,
        endpoint_url: Optional[str] = None,
        dualstack: bool = False,
    ) -> List[str]:
        """Presigned ``PUT`` URLs for parts 1..``part_count`` (at most 10,000) of the multipart
        upload ``upload_id`` of ``key``: what botocore's ``generate_presigned_url("upload_part",
        ...)`` gives for each part number. Start the upload (CreateMultipartUpload) and
        complete it with the parts' ETags (CompleteMultipartUpload) with signed requests.

        >>> from fastsig import Credentials, Signer
        >>> signer = Signer(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ...                 "eu-west-1", "s3")
        >>> urls = signer.presign_upload_parts("my-bucket", "big.bin", "EXAMPLEUPLOAD", 3,
        ...                                    timestamp="20150830T123600Z")
        >>> "&partNumber=3&uploadId=EXAMPLEUPLOAD&" in urls[2]
        True
        """
        from ._key_urls import presign_parts

        prefix = self._bucket_prefix(bucket, endpoint_url, path_style, dualstack)
        context, expires_in, payload_hash = self._presign_setup(expires_in, timestamp, None)
        return presign_parts(context, "PUT", prefix, key, upload_id, part_count, expires_in,
                             payload_hash)


def _unpickle_signer(credentials: Any, region: str, service: str, options: Dict[str, Any],
                     ships_credentials: bool = False) -> Signer:
    signer = Signer(credentials, region, service, **options)
    signer._ships_credentials = ships_credentials
    return signer
