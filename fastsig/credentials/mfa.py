"""Session credentials from STS ``GetSessionToken``, with an MFA code when a device is named:
what ``aws sts get-session-token --serial-number ... --token-code ...`` gives, as a provider.
Also the one place that asks for an MFA code (a callback, else a prompt on a terminal)."""

from __future__ import annotations

import sys
from typing import Any, Callable, Mapping, Optional

from fastsig._errors import CredentialsError
from . import sts
from .base import Credentials, CredentialsProvider, StaticProvider, _environ

__all__ = ["SessionTokenProvider", "ask_mfa_code"]

MFACode = Callable[[str], str]


def _terminal_prompt(serial: str) -> str:
    import getpass  # here, not at import: only an interactive MFA prompt needs it

    return getpass.getpass(f"Enter MFA code for {serial}: ")


def ask_mfa_code(who: str, serial: str, mfa_code: Optional[MFACode]) -> str:
    """The current code of the MFA device ``serial``: from ``mfa_code(serial)``, else typed at
    a prompt when standard input is a terminal (as the AWS CLI asks), else an error."""
    if mfa_code is None:
        if not (sys.stdin is not None and sys.stdin.isatty()):
            raise CredentialsError(f"{who}: needs an MFA code for {serial}; pass mfa_code= "
                                   "(no terminal to ask on)")
        mfa_code = _terminal_prompt
    code = mfa_code(serial)
    if not isinstance(code, str) or not code.strip():
        raise CredentialsError(f"{who}: no MFA code for {serial}")
    code = code.strip()
    if not (code.isascii() and code.isdigit()):
        raise CredentialsError(f"{who}: an MFA code is digits only")
    return code


class SessionTokenProvider(CredentialsProvider):
    """Temporary credentials from STS ``GetSessionToken`` called with ``source`` (long-term
    ``Credentials`` or a provider), with ``serial_number`` and a code from ``mfa_code`` (or a
    terminal prompt) when the account's policies require MFA. Each refresh asks for a new
    code. ``duration_seconds`` is 900 to 129600 (STS's default: 43200).

    >>> provider = SessionTokenProvider(Credentials("AKIDEXAMPLE", "secret"),
    ...     serial_number="arn:aws:iam::123456789012:mfa/me", mfa_code=lambda serial: "123456")
    >>> provider.describe()
    'sts get-session-token with MFA arn:aws:iam::123456789012:mfa/me'
    """

    method = "sts-session-token"

    def __init__(
        self,
        source: Any,
        *,
        serial_number: Optional[str] = None,
        mfa_code: Optional[MFACode] = None,
        duration_seconds: Optional[int] = None,
        region: Optional[str] = None,
        environ: Optional[Mapping[str, str]] = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.name = "sts get-session-token" + (f" with MFA {serial_number}" if serial_number
                                               else "")
        self._source = StaticProvider(source) if isinstance(source, Credentials) else source
        if not callable(getattr(self._source, "resolve", None)):
            raise CredentialsError(f"{self.name}: source must be Credentials or a provider")
        if duration_seconds is not None and not 900 <= duration_seconds <= 129600:
            raise CredentialsError(f"{self.name}: duration_seconds must be 900 to 129600")
        self._serial = serial_number
        self._mfa_code = mfa_code
        self._duration = duration_seconds
        self._region = region
        self._environ = environ

    def _load(self) -> Credentials:
        code = None
        if self._serial is not None:
            code = ask_mfa_code(self.name, self._serial, self._mfa_code)
        return sts.get_session_token(
            self._source.resolve(), region=self._region, environ=_environ(self._environ),
            serial_number=self._serial, token_code=code, duration_seconds=self._duration)

    def __repr__(self) -> str:
        return f"SessionTokenProvider(serial_number={self._serial!r})"
