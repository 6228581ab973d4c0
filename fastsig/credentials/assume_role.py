"""Temporary credentials for a role, from STS ``AssumeRole``."""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Optional

from fastsig._errors import CredentialsError
from . import sts
from .base import Credentials, CredentialsProvider, StaticProvider, _environ
from .mfa import ask_mfa_code

__all__ = ["AssumeRoleProvider"]


class AssumeRoleProvider(CredentialsProvider):
    """Temporary credentials for a role, from STS ``AssumeRole`` called with ``source``
    (``Credentials`` or a provider). With ``mfa_serial``, ``mfa_code`` is called with the MFA
    device's serial and returns the current code (without it, a terminal prompt asks).

    >>> AssumeRoleProvider(Credentials("AKIDEXAMPLE", "secret"),
    ...                    "arn:aws:iam::123456789012:role/admin").describe()
    'assume role arn:aws:iam::123456789012:role/admin'
    """

    def __init__(
        self,
        source: Any,
        role_arn: str,
        *,
        session_name: Optional[str] = None,
        external_id: Optional[str] = None,
        duration_seconds: Optional[int] = None,
        mfa_serial: Optional[str] = None,
        mfa_code: Optional[Callable[[str], str]] = None,
        region: Optional[str] = None,
        environ: Optional[Mapping[str, str]] = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.name = f"assume role {role_arn}"
        self.method = "assume-role"
        self._source = StaticProvider(source) if isinstance(source, Credentials) else source
        if not callable(getattr(self._source, "resolve", None)):
            raise CredentialsError(f"{self.name}: source must be Credentials or a provider")
        self._role_arn = role_arn
        self._session_name = session_name or f"fastsig-session-{int(time.time())}"
        self._external_id = external_id
        self._duration = duration_seconds
        self._mfa_serial = mfa_serial
        self._mfa_code = mfa_code
        self._region = region
        self._environ = environ

    def _load(self) -> Credentials:
        code = None
        if self._mfa_serial is not None:
            code = ask_mfa_code(self.name, self._mfa_serial, self._mfa_code)
        return sts.assume_role(
            self._source.resolve(), self._role_arn, self._session_name,
            region=self._region, environ=_environ(self._environ),
            external_id=self._external_id, duration_seconds=self._duration,
            mfa_serial=self._mfa_serial, mfa_code=code)

    def __repr__(self) -> str:
        return f"AssumeRoleProvider({self._role_arn!r})"

