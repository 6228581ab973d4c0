"""AWS credentials: an access key pair and, for temporary credentials, a session token."""

from __future__ import annotations

import datetime
import hashlib
from typing import Optional

from ._errors import CredentialsError

__all__ = ["Credentials"]


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
        try:
            secret_bytes = secret_access_key.encode("utf-8")
        except UnicodeEncodeError:
            raise CredentialsError("secret_access_key is not valid Unicode text") from None
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

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (
            Credentials,
            (self.access_key_id, self.secret_access_key, self.session_token, self.expiration),
        )
