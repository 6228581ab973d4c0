"""Temporary credentials from STS ``AssumeRoleWithWebIdentity`` (EKS, GitHub Actions...)."""

from __future__ import annotations

import time
from typing import Any, Mapping, Optional

from fastsig._errors import CredentialsError, NoCredentialsError
from . import sts
from .base import Credentials, CredentialsProvider, _environ, _read_token
from .env import environment_region

__all__ = ["WebIdentityProvider"]


class WebIdentityProvider(CredentialsProvider):
    """Temporary credentials from STS ``AssumeRoleWithWebIdentity``, with the token read from
    a file each time (Kubernetes rotates it). Arguments left out come from
    ``AWS_ROLE_ARN``, ``AWS_WEB_IDENTITY_TOKEN_FILE`` and ``AWS_ROLE_SESSION_NAME``."""

    name = "web identity"
    method = "assume-role-with-web-identity"

    def __init__(
        self,
        role_arn: Optional[str] = None,
        token_file: Optional[str] = None,
        *,
        session_name: Optional[str] = None,
        duration_seconds: Optional[int] = None,
        region: Optional[str] = None,
        environ: Optional[Mapping[str, str]] = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._role_arn = role_arn
        self._token_file = token_file
        self._session_name = session_name
        self._duration = duration_seconds
        self._region = region
        self._environ = environ

    def _load(self) -> Credentials:
        environ = _environ(self._environ)
        role_arn = self._role_arn or environ.get("AWS_ROLE_ARN")
        token_file = self._token_file or environ.get("AWS_WEB_IDENTITY_TOKEN_FILE")
        if not role_arn or not token_file:
            raise NoCredentialsError(
                f"{self.name}: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are not both set")
        token = _read_token(self.name, "the token file", token_file)
        if not token:
            raise CredentialsError(f"{self.name}: the token file {token_file} is empty")
        session_name = (self._session_name or environ.get("AWS_ROLE_SESSION_NAME")
                        or f"fastsig-session-{int(time.time())}")
        region = self._region or environment_region(environ)
        return sts.assume_role_with_web_identity(
            role_arn, session_name, token, region=region, environ=environ,
            duration_seconds=self._duration)

