"""Credentials a profile of the shared files (``~/.aws/config``, ``~/.aws/credentials``)
describes: the profile's keys chosen into the provider that serves them."""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Mapping, Optional, Tuple

from fastsig._errors import CredentialsError, NoCredentialsError
from . import config
from .assume_role import AssumeRoleProvider
from .base import Credentials, StaticProvider, _credentials, _environ
from .container import ContainerProvider
from .env import EnvironmentProvider, environment_region
from .imds import InstanceMetadataProvider
from .mfa import SessionTokenProvider
from .process import ProcessProvider
from .sso import SSOProvider
from .web_identity import WebIdentityProvider

__all__ = ["SharedFilesProvider"]


class SharedFilesProvider:
    """The credentials a profile of ``~/.aws/config`` and ``~/.aws/credentials`` describes,
    resolved as the AWS CLI does, in this order:

    1. ``role_arn`` with ``source_profile`` (static keys, or another role: chains work) or
       ``credential_source`` (``Environment``, ``EcsContainer``, ``Ec2InstanceMetadata``),
       assumed with STS ``AssumeRole`` (``external_id``, ``duration_seconds``,
       ``role_session_name``, ``mfa_serial`` with the ``mfa_code`` callback);
    2. ``role_arn`` with ``web_identity_token_file``: STS ``AssumeRoleWithWebIdentity``;
    3. IAM Identity Center: ``sso_session`` (a ``[sso-session NAME]`` section with
       ``sso_start_url`` and ``sso_region``) or the legacy ``sso_start_url`` and
       ``sso_region``, with ``sso_account_id`` and ``sso_role_name``;
    4. ``aws_access_key_id``/``aws_secret_access_key`` (and ``aws_session_token``) in the
       credentials file;
    5. ``credential_process``;
    6. the same static keys in the config file.

    Static keys with ``mfa_serial`` (and no ``role_arn``) are not used to sign: they get
    session credentials from STS ``GetSessionToken`` with the MFA code (``mfa_code``, else a
    prompt on a terminal), as the profile asks. ``describe()`` names the profile and the
    source that answered.

    The files are read on first use. ``profile`` defaults to ``AWS_PROFILE``, else
    ``default``; a profile asked for by name that neither file has is an error."""

    name = "shared config files"

    def __init__(self, profile: Optional[str] = None, *,
                 environ: Optional[Mapping[str, str]] = None,
                 mfa_code: Optional[Callable[[str], str]] = None, **options: Any) -> None:
        self._profile = profile
        self._environ = environ
        self._mfa_code = mfa_code
        self._options = options
        self._lock = threading.Lock()
        self._provider: Optional[Any] = None
        self._name: Optional[str] = None

    def resolve(self) -> Credentials:
        provider = self._provider
        if provider is None:
            with self._lock:
                if self._provider is None:
                    self._provider = self._build()
                provider = self._provider
        return provider.resolve()

    @property
    def profile(self) -> str:
        """The profile's name: the one asked for, else ``AWS_PROFILE``, else ``default``."""
        return self._name or config.profile_name(_environ(self._environ), self._profile)

    @property
    def source(self) -> Optional[Any]:
        """The provider the profile was resolved into (None before the first ``resolve``)."""
        return self._provider

    @property
    def method(self) -> str:
        """The kind of source the profile resolved into (``shared-credentials-file``,
        ``assume-role``, ``sso``...); ``none`` before the first ``resolve``."""
        return str(getattr(self._provider, "method", "none"))

    def describe(self) -> str:
        inner = self._provider
        where = f"profile {self.profile!r}"
        return f"{where}: {inner.describe()}" if inner is not None else where

    def _build(self) -> Any:
        environ = _environ(self._environ)
        shared = config.load(environ)
        name = config.profile_name(environ, self._profile)
        self._name = name
        if name not in shared.profiles:
            if self._profile is None and not environ.get("AWS_PROFILE"):
                raise NoCredentialsError(f"{self.name}: no [default] profile in "
                                         f"{shared.config_path} or {shared.credentials_path}")
            raise CredentialsError(f"{self.name}: profile {name!r} is not in "
                                   f"{shared.config_path} or {shared.credentials_path}")
        return self._for_profile(shared, name, environ, visited=())

    def _for_profile(self, shared: config.SharedConfig, name: str,
                     environ: Mapping[str, str], visited: Tuple[str, ...]) -> Any:
        where = f"profile {name!r} ({shared.where(name)})"
        if name not in shared.profiles:
            raise CredentialsError(f"{self.name}: profile {name!r}, the source_profile of "
                                   f"{visited[-1]!r}, is not in {shared.config_path} or "
                                   f"{shared.credentials_path}")
        profile = shared.profiles[name]
        text = {key: value for key, value in profile.items() if isinstance(value, str)}
        region = environment_region(environ) or text.get("region")
        role_arn = text.get("role_arn")
        static = _static_keys(where, text)
        from_credentials_file = _static_keys(where, {
            key: value for key, value in shared.credentials_profiles.get(name, {}).items()
            if isinstance(value, str)})
        keys: Optional[StaticProvider] = None  # the profile's keys, named by their file
        if from_credentials_file is not None:
            keys = StaticProvider(from_credentials_file, method="shared-credentials-file",
                                  name=f"static keys in {shared.credentials_path}")
        elif static is not None:
            keys = StaticProvider(static, name=f"static keys in {shared.config_path}",
                                  method="config-file")
        if role_arn and "web_identity_token_file" in text:
            return WebIdentityProvider(
                role_arn, os.path.expanduser(text["web_identity_token_file"]),
                session_name=text.get("role_session_name"), region=region, environ=environ,
                duration_seconds=_duration(where, text), **self._options)
        if role_arn and name not in visited:
            source_profile = text.get("source_profile")
            credential_source = text.get("credential_source")
            if source_profile and credential_source:
                raise CredentialsError(f"{where}: set source_profile or credential_source, "
                                       "not both")
            if source_profile == name and keys is not None:
                source: Any = keys  # a profile may be its own source
            elif source_profile:
                if source_profile in visited or source_profile == name:
                    raise CredentialsError(f"{where}: source_profile loops back to "
                                           f"{source_profile!r}")
                source = self._for_profile(shared, source_profile, environ, visited + (name,))
            elif credential_source:
                source = _credential_source(where, credential_source, environ)
            else:
                raise CredentialsError(f"{where}: role_arn needs source_profile or "
                                       "credential_source")
            return AssumeRoleProvider(
                source, role_arn, session_name=text.get("role_session_name"),
                external_id=text.get("external_id"), duration_seconds=_duration(where, text),
                mfa_serial=text.get("mfa_serial"), mfa_code=self._mfa_code, region=region,
                environ=environ, **self._options)
        if any(key in text for key in _SSO_KEYS):
            return _sso(where, name, text, shared, environ, self._options)
        # The credentials file's keys, then credential_process, then the config file's keys.
        if from_credentials_file is None and text.get("credential_process"):
            return ProcessProvider(text["credential_process"],
                                   label=f"credential_process of profile {name!r}",
                                   **self._options)
        if keys is None:
            raise (NoCredentialsError if not visited else CredentialsError)(
                f"{where} has no credentials (keys, role_arn, sso_session or "
                "credential_process)")
        mfa_serial = text.get("mfa_serial")
        if mfa_serial and not visited and keys.resolve().session_token is None:
            # Long-term keys with an MFA device: the profile asks for MFA, so sign with a
            # session that has it rather than (silently) with the keys. As a role's
            # source_profile the keys go to AssumeRole instead, with the role's mfa_serial;
            # keys with a session token are a session already (STS refuses to nest them).
            return SessionTokenProvider(
                keys, serial_number=mfa_serial, mfa_code=self._mfa_code, region=region,
                duration_seconds=_duration(where, text), environ=environ, **self._options)
        return keys

    def __repr__(self) -> str:
        return f"SharedFilesProvider(profile={self._profile!r})"


def _static_keys(where: str, values: Mapping[str, str]) -> Optional[Credentials]:
    key = values.get("aws_access_key_id")
    secret = values.get("aws_secret_access_key")
    if not key and not secret:
        return None
    if not key or not secret:
        missing = "aws_access_key_id" if not key else "aws_secret_access_key"
        raise CredentialsError(f"{where}: {missing} is missing, but the other key is set")
    token = values.get("aws_session_token") or values.get("aws_security_token") or None
    return _credentials(where, key, secret, token, None)


def _duration(where: str, values: Mapping[str, str]) -> Optional[int]:
    text = values.get("duration_seconds")
    if text is None:
        return None
    # Not int() in a try: its ValueError quotes the value, and ``raise ... from None`` would
    # still keep it as __context__ (a secret pasted on the wrong line shows up here).
    if not (text.strip().isascii() and text.strip().isdigit()):
        raise CredentialsError(f"{where}: duration_seconds must be a whole number")
    return int(text.strip())


_SSO_KEYS = ("sso_session", "sso_start_url", "sso_account_id", "sso_role_name")


def _sso(where: str, name: str, text: Mapping[str, str], shared: config.SharedConfig,
         environ: Mapping[str, str], options: Mapping[str, Any]) -> SSOProvider:
    """An IAM Identity Center profile, checked as botocore checks it."""
    settings = dict(text)
    session = text.get("sso_session")
    if session:
        if session not in shared.sso_sessions:
            raise CredentialsError(f"{where}: sso_session {session!r} has no [sso-session "
                                   f"{session}] section in {shared.config_path}")
        for key, value in shared.sso_sessions[session].items():
            if not isinstance(value, str):
                continue
            if key in ("sso_start_url", "sso_region") and key in text and text[key] != value:
                raise CredentialsError(f"{where}: {key} differs from the one of sso_session "
                                       f"{session!r}")
            settings[key] = value
    missing = [key for key in ("sso_start_url", "sso_region", "sso_account_id", "sso_role_name")
               if not settings.get(key)]
    if missing:
        raise CredentialsError(f"{where}: an SSO profile needs {', '.join(missing)}")
    return SSOProvider(start_url=settings["sso_start_url"], sso_region=settings["sso_region"],
                       account_id=settings["sso_account_id"], role_name=settings["sso_role_name"],
                       session_name=session or None, environ=environ, **options)


def _credential_source(where: str, value: str, environ: Mapping[str, str]) -> Any:
    if value == "Environment":
        return EnvironmentProvider(environ)
    if value == "EcsContainer":
        return ContainerProvider(environ)
    if value == "Ec2InstanceMetadata":
        return InstanceMetadataProvider(environ)
    raise CredentialsError(f"{where}: credential_source must be Environment, EcsContainer or "
                           f"Ec2InstanceMetadata, not {value!r}")

