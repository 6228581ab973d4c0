"""The credentials object, the provider base class with its refresh windows, and the readers
of the credential documents (JSON) that processes, containers and instance metadata answer."""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import threading
import time
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

from fastsig._errors import CredentialsError
from fastsig._timestamp import parse_iso8601

__all__ = ["Credentials", "CredentialsProvider", "StaticProvider"]
def _check_token_text(value: object, what: str) -> str:
    # Access key ids and session tokens are sent in headers and URLs: printable ASCII only.
    if not isinstance(value, str) or not value:
        raise CredentialsError(f"{what} must be a non-empty str")
    if not (value.isascii() and value.isprintable()) or " " in value:
        raise CredentialsError(f"{what} must be printable ASCII without spaces")
    return value


class Credentials:
    """An immutable set of AWS credentials.

    ``repr`` and ``str`` show the access key id only; the secret key and the session token
    never appear in them.

    >>> creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    >>> creds
    Credentials(access_key_id='AKIDEXAMPLE', secret_access_key=<hidden>)
    """

    __slots__ = (
        "access_key_id",
        "secret_access_key",
        "session_token",
        "expiration",
        "_fingerprint",
        "_expiration_epoch",
    )

    access_key_id: str
    secret_access_key: str
    session_token: Optional[str]
    expiration: Optional[datetime.datetime]
    _fingerprint: bytes  # SHA-256 of the secret: the key caches' key, never the secret
    _expiration_epoch: Optional[float]

    def __init__(
        self,
        access_key_id: str,
        secret_access_key: str,
        session_token: Optional[str] = None,
        expiration: Optional[datetime.datetime] = None,
    ) -> None:
        _check_token_text(access_key_id, "access_key_id")
        if "/" in access_key_id or "," in access_key_id or "=" in access_key_id:
            # They would break the Credential=<key>/<scope> field of the Authorization header.
            raise CredentialsError("access_key_id must not contain '/', ',' or '='")
        if not isinstance(secret_access_key, str) or not secret_access_key:
            raise CredentialsError("secret_access_key must be a non-empty str")
        # Checked before encoding: a UnicodeEncodeError would carry the secret in its
        # ``object``, and ``raise ... from None`` still keeps it in ``__context__``.
        if any("\ud800" <= char <= "\udfff" for char in secret_access_key):
            raise CredentialsError("secret_access_key is not valid Unicode text")
        secret_bytes = secret_access_key.encode("utf-8")
        if session_token is not None:
            _check_token_text(session_token, "session_token")
        expiration_epoch = None
        if expiration is not None:
            if not isinstance(expiration, datetime.datetime):
                raise CredentialsError("expiration must be a datetime or None")
            if expiration.tzinfo is None:
                expiration = expiration.replace(tzinfo=datetime.timezone.utc)
            expiration_epoch = expiration.timestamp()
        setattr_ = object.__setattr__
        setattr_(self, "access_key_id", access_key_id)
        setattr_(self, "secret_access_key", secret_access_key)
        setattr_(self, "session_token", session_token)
        setattr_(self, "expiration", expiration)
        setattr_(self, "_expiration_epoch", expiration_epoch)
        # Caches key on this digest so that no cache ever holds the secret itself.
        setattr_(self, "_fingerprint", hashlib.sha256(secret_bytes).digest())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Credentials are immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Credentials are immutable")

    def __repr__(self) -> str:
        parts = [f"access_key_id={self.access_key_id!r}", "secret_access_key=<hidden>"]
        if self.session_token is not None:
            parts.append("session_token=<hidden>")
        if self.expiration is not None:
            parts.append(f"expiration={self.expiration.isoformat()!r}")
        return f"Credentials({', '.join(parts)})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (
            self.access_key_id == other.access_key_id
            and self._fingerprint == other._fingerprint
            and self.session_token == other.session_token
            and self.expiration == other.expiration
        )

    def __hash__(self) -> int:
        return hash((self.access_key_id, self._fingerprint, self.session_token))

    def __reduce__(self) -> Tuple[Any, ...]:
        return (
            Credentials,
            (self.access_key_id, self.secret_access_key, self.session_token, self.expiration),
        )



def _environ(environ: Optional[Mapping[str, str]]) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def _true(value: Optional[str]) -> bool:
    return (value or "").strip().lower() == "true"


class CredentialsProvider:
    """Base of the providers: ``resolve()`` returns ``Credentials``, cached, and fetches new
    ones in time when they expire.

    Temporary credentials are refreshed in two windows before they expire:

    - ``advisory_refresh`` seconds before (default 15 minutes), one caller refreshes while
      every other caller goes on with the current, still valid credentials; if that refresh
      fails, the current credentials stay in use and the failure is logged;
    - ``mandatory_refresh`` seconds before (default 10 minutes), callers wait for the refresh
      and a failure is raised: fastsig never signs with credentials that are about to expire.

    Many threads calling ``resolve`` at once cause one refresh ("single flight"). Credentials
    that arrive with less life left than the mandatory window are used for half of what they
    have left, then refreshed again. Subclasses implement ``_load``."""

    #: Shown in error messages and logs.
    name = "credentials provider"
    #: The kind of source, with the names of ``aws configure list`` and botocore's
    #: ``Credentials.method``: ``env``, ``shared-credentials-file``, ``assume-role``, ``sso``...
    method = "explicit"

    def __init__(
        self,
        *,
        advisory_refresh: float = 900.0,
        mandatory_refresh: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 <= mandatory_refresh <= advisory_refresh:
            raise ValueError("need 0 <= mandatory_refresh <= advisory_refresh")
        self._advisory = advisory_refresh
        self._mandatory = mandatory_refresh
        self._clock = clock
        self._lock = threading.Lock()
        self._current: Optional[Credentials] = None
        # Epoch seconds at which the current credentials enter each window.
        self._advisory_at = -math.inf
        self._mandatory_at = -math.inf
        self._quiet_until = -math.inf  # no advisory retry before this, after a failure

    def _load(self) -> Credentials:
        """Fetch credentials from the source; raise ``CredentialsError`` (or
        ``NoCredentialsError`` when the source is not configured here)."""
        raise NotImplementedError

    def resolve(self) -> Credentials:
        """Current credentials, fetched or refreshed as needed."""
        current = self._current
        if current is not None and self._clock() < self._advisory_at:
            return current
        return self._refresh()

    def _refresh(self) -> Credentials:
        now = self._clock()
        current = self._current
        if current is not None and now < self._mandatory_at:
            # Advisory window: whoever takes the lock refreshes; everyone else signs on.
            if now < self._quiet_until or not self._lock.acquire(blocking=False):
                return current
            try:
                if self._current is current:
                    try:
                        self._store(self._load())
                    except CredentialsError as exc:
                        self._quiet_until = self._clock() + min(
                            60.0, max(1.0, (self._mandatory_at - now) / 4))
                        import logging  # here, not at import: only failures log

                        logging.getLogger("fastsig.credentials").warning(
                            "refresh failed: %s (still using the current credentials, which "
                            "expire at %s)", exc, current.expiration)
                return self._current  # type: ignore[return-value]
            finally:
                self._lock.release()
        with self._lock:
            current = self._current
            if current is not None and self._clock() < self._mandatory_at:
                return current  # another thread refreshed while this one waited
            return self._store(self._load())

    def _store(self, credentials: Credentials) -> Credentials:
        if not isinstance(credentials, Credentials):
            raise CredentialsError(f"{self.name} did not produce Credentials")
        now = self._clock()
        expires = credentials._expiration_epoch
        if expires is None:
            advisory_at = mandatory_at = math.inf
        else:
            if expires <= now:
                raise CredentialsError(
                    f"{self.name} returned credentials that expired at "
                    f"{credentials.expiration.isoformat()}")  # type: ignore[union-attr]
            mandatory_at = expires - self._mandatory
            advisory_at = expires - self._advisory
            if mandatory_at <= now:
                mandatory_at = advisory_at = now + (expires - now) / 2
        # Publish the credentials last: the fast path reads _current, then _advisory_at.
        self._advisory_at = -math.inf
        self._mandatory_at = mandatory_at
        self._current = credentials
        self._advisory_at = advisory_at
        self._quiet_until = -math.inf
        return credentials

    def describe(self) -> str:
        """Where the credentials come from, for people (never a secret): the source's name
        and, where it has one, its location."""
        return self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class StaticProvider(CredentialsProvider):
    """Credentials given in code, as a provider."""

    name = "explicit credentials"

    def __init__(self, credentials: Credentials, *, name: Optional[str] = None,
                 method: Optional[str] = None, **options: Any) -> None:
        super().__init__(**options)
        if not isinstance(credentials, Credentials):
            raise CredentialsError("StaticProvider needs fastsig.Credentials")
        self._credentials = credentials
        if name is not None:
            self.name = name
        if method is not None:
            self.method = method

    def _load(self) -> Credentials:
        return self._credentials


def _credentials(source: str, key: Any, secret: Any, token: Any, expiration: Any) -> Credentials:
    """Credentials, with the source named in any error about their shape."""
    try:
        return Credentials(key, secret, token, expiration)
    except CredentialsError as exc:
        raise CredentialsError(f"{source}: {exc}") from None


def _read_token(source: str, what: str, path: str) -> str:
    """A token kept in a file (re-read on each refresh: Kubernetes and EKS rotate them)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise CredentialsError(f"{source}: cannot read {what} {path} ({reason})") from None


def _parse_expiration(source: str, value: Any) -> Optional[datetime.datetime]:
    if value is None:
        return None
    expiration = parse_iso8601(value) if isinstance(value, str) else None
    if expiration is None:
        raise CredentialsError(f"{source}: Expiration is not an ISO 8601 time")
    return expiration


def _json_object(source: str, body: Union[bytes, str]) -> Dict[str, Any]:
    # Raised outside the except clause: a JSONDecodeError keeps the whole document (the
    # secret) in ``doc``, and would stay reachable as ``__context__``.
    document: Any = _NOT_JSON
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        pass
    if document is _NOT_JSON:
        raise CredentialsError(f"{source}: the answer is not JSON")
    if not isinstance(document, dict):
        raise CredentialsError(f"{source}: the answer is not a JSON object")
    return document


_NOT_JSON = object()


def _json_credentials(source: str, document: Dict[str, Any], token_field: str) -> Credentials:
    """Credentials from the JSON that processes, containers and instance metadata print."""
    missing = [name for name in ("AccessKeyId", "SecretAccessKey") if not document.get(name)]
    if missing:
        raise CredentialsError(f"{source}: the answer lacks {' and '.join(missing)}")
    return _credentials(source, document["AccessKeyId"], document["SecretAccessKey"],
                        document.get(token_field) or None,
                        _parse_expiration(source, document.get("Expiration")))

