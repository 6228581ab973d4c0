"""Signing: canonical request, string to sign, signature; presigning one URL or many.

The pure-Python twin of ``_kernels/signing.pxi``: the same names, byte-identical results
and the same exceptions."""

from __future__ import annotations

from typing import Any, Iterable, List, Optional, Tuple, Union

from fastsig._timestamp import parse_amz_date

from .hashing import ALGORITHM, EMPTY_SHA256, SigningKey, _sha256, sha256_hex
from .headers import _Headers
from .keys import quote_lines
from .query import _AUTH_QUERY_KEYS, _query_pairs, canonical_query
from .request import _check_method, split_url
from .timestamp import quick_epoch
from .uri import PathPolicy, uri_encode


class SignedRequest:
    """What ``Signer.sign`` returns: send ``method`` to ``url`` with ``headers``.

    ``headers`` holds every header to send: the caller's (a repeated name joined with ``,``),
    plus ``Host`` when it was absent, ``X-Amz-Date``, ``Authorization`` and, as they apply,
    ``X-Amz-Security-Token`` and ``X-Amz-Content-SHA256``. ``canonical_request`` and
    ``string_to_sign`` are there for debugging and for people comparing signers."""

    # Both kernels make these: it lives here, beside the pure one, so there is one class.
    __slots__ = ("url", "headers", "signature", "canonical_request", "_string_to_sign", "_body")
    _body: Optional[bytes]  # set by the SigV2 signer only

    def __init__(
        self,
        url: str,
        headers: dict,
        signature: str,
        canonical_request: str,
        string_to_sign: str,
    ) -> None:
        self.url = url
        self.headers = headers
        self.signature = signature
        self.canonical_request = canonical_request
        # The string to sign, or only its first three lines (ending in a newline): the
        # compiled kernel makes no str nobody may read, and the hash line follows from the
        # canonical request.
        self._string_to_sign = string_to_sign

    @property
    def string_to_sign(self) -> str:
        value = self._string_to_sign
        if value.endswith("\n"):
            value += sha256_hex(self.canonical_request.encode("utf-8"))
            self._string_to_sign = value
        return value

    @property
    def body(self) -> Optional[bytes]:
        """The body to send when signing made it (a SigV2 form post); None: send yours."""
        # Only the SigV2 signer sets the slot; the kernels leave it empty.
        return getattr(self, "_body", None)

    @property
    def method(self) -> str:
        """The HTTP method, uppercase (the first line of the canonical request)."""
        return self.canonical_request.partition("\n")[0]

    def __repr__(self) -> str:
        # Header names only: values include the session token.
        return (
            f"SignedRequest(method={self.method!r}, url={self.url!r}, "
            f"headers=[{', '.join(self.headers)}], signature={self.signature!r})"
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not SignedRequest:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _SIGNED_FIELDS)

    __hash__ = None  # type: ignore[assignment]  # headers is a dict


_SIGNED_FIELDS = ("url", "headers", "signature", "canonical_request", "string_to_sign", "body")


class SigningContext:
    """Signs requests for one set of credentials, scope and X-Amz-Date.

    Built by ``fastsig.Signer`` once per signing second; each ``sign`` or ``presign`` is one
    call. Inputs that settings or policy decide (expiry range, payload hash choice) are checked
    by the caller; everything about the request itself is checked here."""

    # What SigV4a (fastsig._sigv4a) changes: the algorithm, the parameters that the caller's
    # query may not carry, and headers it signs (as query parameters when presigning).
    algorithm = ALGORITHM
    _auth_keys = _AUTH_QUERY_KEYS
    _extras: Tuple[Tuple[str, str], ...] = ()

    def __init__(
        self,
        signing_key: bytes,
        access_key_id: str,
        amz_date: str,
        region: str,
        service: str,
        session_token: Optional[str],
        path_policy: PathPolicy,
        omit_session_token: bool,
        content_sha256_header: bool,
        excluded_headers: frozenset,
    ) -> None:
        self._key = self._signing_key(signing_key)
        self.amz_date = amz_date
        epoch = parse_amz_date(amz_date)
        # -2 for a bad date and before 1970 (quick_epoch's -1 must never match a context)
        self._epoch = -2 if epoch is None or epoch < 0 else epoch
        self.scope = self._credential_scope(amz_date[:8], region, service)
        self.credential = f"{access_key_id}/{self.scope}"
        self._sts_prefix = f"{self.algorithm}\n{amz_date}\n{self.scope}\n"
        self._token = session_token
        self._paths = path_policy
        self._omit_token = bool(omit_session_token)
        self._content_header = bool(content_sha256_header)
        owned = {"authorization", "x-amz-date", "x-amz-security-token"}
        owned.update(name.lower() for name, _ in self._extras)
        if content_sha256_header:
            owned.add("x-amz-content-sha256")
        self._owned = frozenset(owned)
        self._excluded = frozenset(excluded_headers) | self._owned
        self._auth_queries: dict = {}
        # An unsigned token goes after the signature (AWS IoT's convention).
        self._token_suffix = (
            "&X-Amz-Security-Token=" + uri_encode(session_token)
            if session_token is not None and omit_session_token
            else ""
        )

    @staticmethod
    def _signing_key(key: Any) -> Any:
        return SigningKey(key)

    @staticmethod
    def _credential_scope(date: str, region: str, service: str) -> str:
        return f"{date}/{region}/{service}/aws4_request"

    # -- header signing ------------------------------------------------------------------------

    def sign_at(
        self, timestamp: Any, method: str, url: str, headers: Any, payload_hash: Optional[str],
        body: Any = None,
    ) -> Optional[SignedRequest]:
        """``sign`` when ``timestamp`` (a naive or UTC datetime, an int or float epoch) falls
        in this context's second, else None: the caller then makes the context of its second,
        which also judges a timestamp this does not read. Explicit timestamps so cost what
        "now" costs."""
        if quick_epoch(timestamp) != self._epoch:
            return None
        return self.sign(method, url, headers, payload_hash, body)

    def sign(
        self, method: str, url: str, headers: Any, payload_hash: Optional[str], body: Any = None
    ) -> SignedRequest:
        """The signed request. The payload hash is ``payload_hash``, else the hash of ``body``
        (bytes-like), else the caller's X-Amz-Content-SHA256 header, else the empty hash."""
        method = _check_method(method)
        if payload_hash is None and body is not None:
            payload_hash = sha256_hex(body)
        scheme, host, path, query = split_url(url)
        sent_path, canonical_uri = self._paths.paths(path)
        cq = canonical_query(query)
        given = _Headers(headers, self._owned)
        if payload_hash is None:
            payload_hash = given.content_sha256 or EMPTY_SHA256

        send = given.to_send()
        extra = {"x-amz-date": self.amz_date}
        if given.host is None:
            send["Host"] = host
            extra["host"] = host
        send["X-Amz-Date"] = self.amz_date
        for name, value in self._extras:
            send[name] = value
            extra[name.lower()] = value
        token = self._token
        if token is not None:
            send["X-Amz-Security-Token"] = token
            if not self._omit_token:
                extra["x-amz-security-token"] = token
        if self._content_header:
            send["X-Amz-Content-SHA256"] = payload_hash
            extra["x-amz-content-sha256"] = payload_hash
        block, signed_headers = given.canonical(self._excluded, extra)

        creq = f"{method}\n{canonical_uri}\n{cq}\n{block}\n{signed_headers}\n{payload_hash}"
        sts = self._sts_prefix + _sha256(creq.encode("utf-8")).hexdigest()
        signature = self._key.sign(sts)
        send["Authorization"] = (
            f"{self.algorithm} Credential={self.credential}, "
            f"SignedHeaders={signed_headers}, Signature={signature}"
        )
        out_url = f"{scheme}://{host}{sent_path}?{cq}" if cq else f"{scheme}://{host}{sent_path}"
        return SignedRequest(out_url, send, signature, creq, sts)

    # -- presigned URLs ------------------------------------------------------------------------

    def _auth_query(self, expires_in: int, signed_headers: str) -> Tuple[list, str]:
        """The X-Amz-* parameters of a presigned URL but the signature, in canonical order:
        as pairs, and joined into a query string."""
        key = (expires_in, signed_headers)
        cached = self._auth_queries.get(key)
        if cached is None:
            pairs = [
                ("X-Amz-Algorithm", self.algorithm),
                ("X-Amz-Credential", uri_encode(self.credential)),
                ("X-Amz-Date", self.amz_date),
                ("X-Amz-Expires", str(expires_in)),
            ]
            # In canonical order: X-Amz-Region-Set, the one extra, sorts right here.
            pairs += [(name, uri_encode(value)) for name, value in self._extras]
            if self._token is not None and not self._omit_token:
                pairs.append(("X-Amz-Security-Token", uri_encode(self._token)))
            pairs.append(("X-Amz-SignedHeaders", uri_encode(signed_headers)))
            cached = (pairs, "&".join([k + "=" + v for k, v in pairs]))
            if len(self._auth_queries) >= 64:
                self._auth_queries.clear()
            self._auth_queries[key] = cached
        return cached

    def presign_at(
        self, timestamp: Any, method: str, url: str, expires_in: int, headers: Any,
        payload_hash: str,
    ) -> Optional[str]:
        """``presign`` when ``timestamp`` falls in this context's second, else None (see
        ``sign_at``)."""
        if quick_epoch(timestamp) != self._epoch:
            return None
        return self.presign(method, url, expires_in, headers, payload_hash)

    def presign(
        self, method: str, url: str, expires_in: int, headers: Any, payload_hash: str
    ) -> str:
        """The presigned URL: the canonical query with the X-Amz-* parameters, then
        ``X-Amz-Signature`` (and the session token after it when it is not signed)."""
        method = _check_method(method)
        scheme, host, path, query = split_url(url)
        sent_path, canonical_uri = self._paths.paths(path)
        if headers:
            given = _Headers(headers, self._owned)
            extra = {} if given.host is not None else {"host": host}
            block, signed_headers = given.canonical(self._excluded, extra)
        else:
            block, signed_headers = f"host:{host}\n", "host"
        auth_pairs, cq = self._auth_query(expires_in, signed_headers)
        if query:
            pairs = [p for p in _query_pairs(query) if p[0] not in self._auth_keys]
            pairs += auth_pairs
            pairs.sort()
            cq = "&".join([k + "=" + v for k, v in pairs])
        creq = f"{method}\n{canonical_uri}\n{cq}\n{block}\n{signed_headers}\n{payload_hash}"
        signature = self._key.sign(self._sts_prefix + _sha256(creq.encode("utf-8")).hexdigest())
        return f"{scheme}://{host}{sent_path}?{cq}&X-Amz-Signature={signature}{self._token_suffix}"

    def presign_many(
        self, method: str, urls: Iterable[str], expires_in: int, payload_hash: str
    ) -> List[str]:
        """``presign`` for every URL of ``urls``, in order, without extra headers."""
        _check_method(method)  # even when there is no URL to sign
        presign = self.presign
        return [presign(method, url, expires_in, None, payload_hash) for url in urls]

    def presign_lines(
        self, method: str, prefix: str, keys: str, expires_in: int, payload_hash: str
    ) -> bytes:
        """``presign_many`` of ``prefix + line`` for each line of ``keys`` (split on "\\n"),
        as the URLs in UTF-8, each followed by a newline: the command line's block of output."""
        _check_method(method)  # even when there is no line to sign
        if not keys:
            return b""
        urls = self.presign_many(
            method, [prefix + key for key in keys.split("\n")], expires_in, payload_hash
        )
        urls.append("")
        return "\n".join(urls).encode()

    def presign_key_lines(
        self, method: str, prefix: str, keys: Union[str, bytes], expires_in: int,
        payload_hash: str
    ) -> bytes:
        """``presign_lines`` of ``keys`` (one object key a line; bytes are read as UTF-8,
        ``UnicodeDecodeError`` if they are not) with each key quoted by ``keys.quote_key``'s
        rule: the command line's and ``write_presigned_keys``' block of output."""
        _check_method(method)
        text = keys.decode("utf-8") if isinstance(keys, bytes) else keys
        return self.presign_lines(method, prefix, quote_lines(text), expires_in, payload_hash)
