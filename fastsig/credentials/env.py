"""Credentials from environment variables: ``AWS_ACCESS_KEY_ID`` and its companions."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from fastsig._errors import CredentialsError, NoCredentialsError
from fastsig._timestamp import parse_iso8601
from .base import Credentials, CredentialsProvider, _credentials, _environ

__all__ = ["EnvironmentProvider", "environment_region"]


class EnvironmentProvider(CredentialsProvider):
    """``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN`` (or the legacy
    ``AWS_SECURITY_TOKEN``) and ``AWS_CREDENTIAL_EXPIRATION`` (ISO 8601). With an expiration
    the variables are read again when it nears, so a process that updates its environment
    keeps signing."""

    name = "environment variables"
    method = "env"

    def __init__(self, environ: Optional[Mapping[str, str]] = None, **options: Any) -> None:
        super().__init__(**options)
        self._environ = environ

    def _load(self) -> Credentials:
        environ = _environ(self._environ)
        key = environ.get("AWS_ACCESS_KEY_ID", "")
        secret = environ.get("AWS_SECRET_ACCESS_KEY", "")
        if not key and not secret:
            raise NoCredentialsError(f"{self.name}: AWS_ACCESS_KEY_ID is not set")
        if not key or not secret:
            missing = "AWS_ACCESS_KEY_ID" if not key else "AWS_SECRET_ACCESS_KEY"
            raise CredentialsError(f"{self.name}: {missing} is not set, but the other key is")
        token = environ.get("AWS_SESSION_TOKEN") or environ.get("AWS_SECURITY_TOKEN") or None
        expiration = None
        text = environ.get("AWS_CREDENTIAL_EXPIRATION")
        if text:
            expiration = parse_iso8601(text)
            if expiration is None:
                raise CredentialsError(
                    f"{self.name}: AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time")
        return _credentials(self.name, key, secret, token, expiration)


def environment_region(environ: Mapping[str, str]) -> Optional[str]:
    """``AWS_REGION``, else ``AWS_DEFAULT_REGION``; None when neither is set."""
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None

