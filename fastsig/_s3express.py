"""S3 Express One Zone: directory buckets' sessions, and requests signed with them.

A directory bucket (``name--usw2-az1--x-s3``) lives behind its zone's endpoint
(``fastsig._s3.zonal_endpoint``). Before its object requests, a client calls CreateSession
(``GET /?session`` on that endpoint, SigV4 with the account's credentials and the signing
name ``s3express``) and gets session credentials good for five minutes. Object requests are
then signed with the session's key and secret (signing name ``s3express``), the session
token going in ``x-amz-s3session-token`` (header) or ``X-Amz-S3session-Token`` (query), never
in ``X-Amz-Security-Token``. As botocore's ``S3ExpressAuth`` / ``S3ExpressQueryAuth`` and its
identity cache: a session per bucket, refreshed 45 seconds before it expires (callers wait
only in the last 10), at most 100 buckets remembered.
"""

from __future__ import annotations

import collections
import threading
import time
import xml.etree.ElementTree as ElementTree
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Tuple, Union
from urllib.parse import quote

from . import _http
from ._errors import CredentialsError, InvalidRequestError
from ._s3 import directory_bucket_zone, zonal_endpoint
from ._timestamp import Timestamp
from .credentials import Credentials, CredentialsProvider
from .credentials.sts import credentials_from_xml
from .signer import SignedRequest, Signer

__all__ = ["S3ExpressSessionProvider", "S3ExpressSessions", "create_session_request",
           "parse_create_session"]

SERVICE = "s3express"
SESSION_HEADER = "x-amz-s3session-token"
SESSION_QUERY = "X-Amz-S3session-Token"
Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]
# Sends a signed CreateSession request; returns (HTTP status, response body).
Send = Callable[[SignedRequest], Tuple[int, bytes]]


def create_session_request(credentials: Any, region: str, bucket: str, *,
                           session_mode: Optional[str] = None,
                           endpoint_url: Optional[str] = None, fips: bool = False,
                           dualstack: bool = False,
                           timestamp: Optional[Timestamp] = None) -> SignedRequest:
    """The signed CreateSession request of a directory bucket, made with the account's
    credentials (a ``Credentials`` or a provider): ``GET <zonal endpoint>/?session``.
    ``session_mode`` is ``ReadWrite`` (S3's default) or ``ReadOnly``; ``endpoint_url``
    replaces the zonal endpoint (the bucket then goes in the path); ``fips`` and ``dualstack``
    choose the zone's FIPS or dual-stack endpoint.

    >>> from fastsig import Credentials
    >>> signed = create_session_request(Credentials("AKIDEXAMPLE", "secret"), "us-west-2",
    ...                                 "logs--usw2-az1--x-s3", timestamp="20261204T120000Z")
    >>> signed.url
    'https://logs--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com/?session='
    """
    if endpoint_url is not None:
        root = f"{endpoint_url.rstrip('/')}/{bucket}/"
    else:
        root = zonal_endpoint(bucket, region, fips=fips, dualstack=dualstack)
    headers = []
    if session_mode is not None:
        if session_mode not in ("ReadWrite", "ReadOnly"):
            raise InvalidRequestError("session_mode must be 'ReadWrite' or 'ReadOnly'")
        headers.append(("x-amz-create-session-mode", session_mode))
    return Signer(credentials, region, SERVICE).sign(
        "GET", root + "?session", headers, timestamp=timestamp)


def _s3_error(body: bytes) -> str:
    """The error code of an S3 error answer (never its message, which could echo input)."""
    try:
        code = ElementTree.fromstring(body).findtext("{*}Code")  # any namespace, or none
    except ElementTree.ParseError:
        return "(not XML)"
    return code if code and code.replace(".", "").isalnum() else "(no error code)"


def parse_create_session(body: bytes) -> Credentials:
    """The session ``Credentials`` (with their expiration) of a CreateSession answer."""
    return credentials_from_xml(body, "CreateSession")


def _send(signed: SignedRequest) -> Tuple[int, bytes]:
    response = _http.request("GET", signed.url, headers=signed.headers)
    return response.status, response.body


class S3ExpressSessionProvider(CredentialsProvider):
    """The session credentials of one directory bucket, from CreateSession calls made with
    ``credentials`` (the account's: ``Credentials`` or a provider), refreshed before they
    expire. ``send(signed_request) -> (status, body)`` makes the call (default: the standard
    library's HTTP client).

    >>> from fastsig import Credentials
    >>> provider = S3ExpressSessionProvider(Credentials("AKIDEXAMPLE", "secret"), "us-west-2",
    ...                                     "logs--usw2-az1--x-s3")
    """

    name = "S3 Express CreateSession"

    def __init__(self, credentials: Any, region: str, bucket: str, send: Optional[Send] = None,
                 *, session_mode: Optional[str] = None, endpoint_url: Optional[str] = None,
                 fips: bool = False, dualstack: bool = False, advisory_refresh: float = 45.0,
                 mandatory_refresh: float = 10.0,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(advisory_refresh=advisory_refresh, mandatory_refresh=mandatory_refresh,
                         clock=clock)
        if endpoint_url is None and directory_bucket_zone(bucket) is None:
            raise InvalidRequestError(f"{bucket!r} is not a directory bucket (name--zone-id--x-s3)")
        self._base = credentials
        self._region = region
        self._bucket = bucket
        self._send = send or _send
        self._session_mode = session_mode
        self._endpoint_url = endpoint_url
        self._fips = fips
        self._dualstack = dualstack

    def _load(self) -> Credentials:
        signed = create_session_request(
            self._base, self._region, self._bucket, session_mode=self._session_mode,
            endpoint_url=self._endpoint_url, fips=self._fips, dualstack=self._dualstack,
            timestamp=self._clock())
        try:
            status, body = self._send(signed)
        except _http.HTTPFailure as exc:
            raise CredentialsError(f"CreateSession for {self._bucket}: {exc}") from None
        if status != 200:
            raise CredentialsError(
                f"CreateSession for {self._bucket}: HTTP {status} {_s3_error(body)}")
        return parse_create_session(body)

    def __repr__(self) -> str:
        return f"S3ExpressSessionProvider(bucket={self._bucket!r}, region={self._region!r})"


class S3ExpressSessions:
    """Signs requests to S3 Express One Zone directory buckets with their sessions: one
    ``S3ExpressSessionProvider`` per bucket (the last ``max_buckets`` kept), created on first
    use. The bucket is read from a zonal endpoint's host, or given as ``bucket=``.

    >>> from fastsig import Credentials, S3ExpressSessions
    >>> sessions = S3ExpressSessions(Credentials("AKIDEXAMPLE", "secret"), "us-west-2")
    >>> url = "https://logs--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com/a.txt"
    >>> # sessions.sign("GET", url) calls CreateSession once, then signs with the session.
    """

    def __init__(self, credentials: Any, region: str, send: Optional[Send] = None, *,
                 session_mode: Optional[str] = None, endpoint_url: Optional[str] = None,
                 fips: bool = False, dualstack: bool = False, max_buckets: int = 100,
                 advisory_refresh: float = 45.0, mandatory_refresh: float = 10.0,
                 clock: Callable[[], float] = time.time) -> None:
        self._base = credentials
        self._region = region
        self._options: Dict[str, Any] = {
            "session_mode": session_mode, "endpoint_url": endpoint_url, "fips": fips,
            "dualstack": dualstack, "advisory_refresh": advisory_refresh,
            "mandatory_refresh": mandatory_refresh, "clock": clock}
        self._send = send
        self._max = max_buckets
        self._lock = threading.Lock()
        # bucket -> [provider, session Credentials last seen, its Signer]
        self._buckets: "collections.OrderedDict[str, list]" = collections.OrderedDict()

    def __repr__(self) -> str:
        return f"S3ExpressSessions(region={self._region!r}, buckets={len(self._buckets)})"

    def provider(self, bucket: str) -> S3ExpressSessionProvider:
        """The session provider of ``bucket``."""
        return self._entry(bucket)[0]

    def _entry(self, bucket: str) -> list:
        with self._lock:
            entry = self._buckets.get(bucket)
            if entry is None:
                provider = S3ExpressSessionProvider(self._base, self._region, bucket, self._send,
                                                    **self._options)
                entry = self._buckets[bucket] = [provider, None, None]
                while len(self._buckets) > self._max:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(bucket)
            return entry

    def resolve(self, bucket: str) -> Credentials:
        """The current session credentials of ``bucket``."""
        return self._entry(bucket)[0].resolve()

    def _signer(self, url: str, bucket: Optional[str]) -> Tuple[Signer, str]:
        if bucket is None:
            host = url.partition("://")[2].partition("/")[0].rpartition("@")[2]
            bucket = host.partition(".s3express-")[0]
            if directory_bucket_zone(bucket) is None:
                raise InvalidRequestError("the URL is not a zonal S3 Express endpoint: name "
                                          "the directory bucket with bucket=")
        entry = self._entry(bucket)
        session = entry[0].resolve()
        if entry[1] is not session:
            # The session signs without its token; the token travels in its own field.
            entry[2] = Signer(Credentials(session.access_key_id, session.secret_access_key,
                                          None, session.expiration), self._region, SERVICE)
            entry[1] = session
        return entry[2], session.session_token

    def sign(self, method: str, url: str, headers: Headers = None, body: Any = None, *,
             bucket: Optional[str] = None, timestamp: Optional[Timestamp] = None,
             payload_hash: Optional[str] = None) -> SignedRequest:
        """``Signer.sign`` with the bucket's session: ``x-amz-s3session-token`` is sent and
        signed (S3ExpressAuth)."""
        signer, token = self._signer(url, bucket)
        items = [] if headers is None else list(
            headers.items() if hasattr(headers, "items") else headers)
        items = [(n, v) for n, v in items
                 if n.lower() not in (SESSION_HEADER, "x-amz-security-token")]
        items.append((SESSION_HEADER, token))
        return signer.sign(method, url, items, body, timestamp=timestamp,
                           payload_hash=payload_hash)

    def presign(self, method: str, url: str, *, expires_in: int = 300, headers: Headers = None,
                bucket: Optional[str] = None, timestamp: Optional[Timestamp] = None) -> str:
        """``Signer.presign`` with the bucket's session: ``X-Amz-S3session-Token`` is in the
        signed query (S3ExpressQueryAuth). ``expires_in`` defaults to botocore's 300 seconds:
        the URL stops working when the session that signed it expires."""
        signer, token = self._signer(url, bucket)
        base = url.partition("#")[0]
        joiner = "&" if "?" in base else "?"
        return signer.presign(method, f"{base}{joiner}{SESSION_QUERY}={quote(token, safe='-_.~')}",
                              expires_in=expires_in, headers=headers, timestamp=timestamp)
