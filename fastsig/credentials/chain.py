"""The standard chain of the AWS CLI and SDKs, the region they would use, and which source
answered (what ``aws configure list`` shows)."""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable, List, Mapping, Optional, Tuple

from fastsig._errors import NoCredentialsError
from . import config
from .base import Credentials, _environ
from .container import ContainerProvider
from .env import EnvironmentProvider
from .imds import InstanceMetadataProvider, instance_region
from .profiles import SharedFilesProvider
from .web_identity import WebIdentityProvider

__all__ = ["ChainProvider", "default_provider", "default_region", "region_source"]


class ChainProvider:
    """Asks each provider in turn and keeps the first that has credentials, as the SDKs do:
    later calls go straight to it (and it refreshes as it needs). A provider with nothing to
    offer is skipped; one that is configured but fails stops the chain with its error."""

    name = "credentials chain"

    def __init__(self, providers: Iterable[Any]) -> None:
        self._providers = list(providers)
        self._lock = threading.Lock()
        self._chosen: Optional[Any] = None

    @property
    def providers(self) -> List[Any]:
        return list(self._providers)

    def resolve(self) -> Credentials:
        chosen = self._chosen
        if chosen is not None:
            return chosen.resolve()
        with self._lock:
            if self._chosen is not None:
                return self._chosen.resolve()
            reasons = []
            for provider in self._providers:
                try:
                    credentials = provider.resolve()
                except NoCredentialsError as exc:
                    reasons.append(str(exc))
                    continue
                self._chosen = provider
                return credentials
        raise NoCredentialsError("no AWS credentials found; tried " + "; ".join(reasons))

    @property
    def source(self) -> Optional[Any]:
        """The provider that answered (None before the first successful ``resolve``)."""
        return self._chosen

    @property
    def method(self) -> str:
        """The kind of source that answered, with the AWS CLI's names (``env``,
        ``shared-credentials-file``, ``assume-role``, ``sso``, ``iam-role``...); ``none``
        before the first successful ``resolve``."""
        chosen = self._chosen
        return str(getattr(chosen, "method", "unknown")) if chosen is not None else "none"

    def describe(self) -> str:
        """Which provider answered and where it read, never a secret.

        >>> chain = default_provider(environ={
        ...     "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"})
        >>> chain.describe()
        'not resolved yet'
        >>> _ = chain.resolve()
        >>> chain.describe(), chain.method
        ('environment variables', 'env')
        """
        chosen = self._chosen
        if chosen is None:
            return "not resolved yet"
        describe = getattr(chosen, "describe", None)
        return describe() if callable(describe) else type(chosen).__name__

    def __repr__(self) -> str:
        return f"ChainProvider({self._providers!r})"


def default_provider(profile: Optional[str] = None, *,
                     environ: Optional[Mapping[str, str]] = None,
                     mfa_code: Optional[Callable[[str], str]] = None) -> ChainProvider:
    """The standard chain of the AWS CLI and SDKs, as one provider:

    1. environment variables (skipped when ``profile`` is given, as the CLI skips them for
       ``--profile``);
    2. web identity from ``AWS_ROLE_ARN`` and ``AWS_WEB_IDENTITY_TOKEN_FILE``;
    3. the shared files' profile (``profile``, else ``AWS_PROFILE``, else ``default``);
    4. the container credentials endpoint;
    5. the instance metadata service.

    >>> import fastsig
    >>> chain = fastsig.default_provider(environ={
    ...     "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"})
    >>> chain.resolve()
    Credentials(access_key_id='AKIDEXAMPLE', secret_access_key=<hidden>)
    """
    providers: List[Any] = []
    if profile is None:
        providers.append(EnvironmentProvider(environ))
    providers += [
        WebIdentityProvider(environ=environ),
        SharedFilesProvider(profile, environ=environ, mfa_code=mfa_code),
        ContainerProvider(environ),
        InstanceMetadataProvider(environ),
    ]
    return ChainProvider(providers)


def region_source(profile: Optional[str] = None,
                  environ: Optional[Mapping[str, str]] = None) -> Tuple[Optional[str], str]:
    """(region, where it came from) as the AWS CLI chooses it: ``AWS_REGION``, else
    ``AWS_DEFAULT_REGION``, else the profile's ``region`` in the shared files, else the EC2
    instance's region from instance metadata (not asked when ``AWS_EC2_METADATA_DISABLED`` is
    ``true``); ``(None, "none")`` when nothing names one.

    >>> region_source(environ={"AWS_REGION": "eu-west-1"})
    ('eu-west-1', 'env AWS_REGION')
    """
    environ = _environ(environ)
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if environ.get(variable):
            return environ[variable], f"env {variable}"
    shared = config.load(environ)
    name = config.profile_name(environ, profile)
    value = shared.profiles.get(name, {}).get("region")
    if isinstance(value, str) and value:
        return value, f"profile {name!r} in {shared.where(name)}"
    region = instance_region(environ)
    if region:
        return region, "instance metadata"
    return None, "none"


def default_region(profile: Optional[str] = None,
                   environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The region the AWS CLI would use: ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the
    profile's ``region`` in the shared files, else the instance's region from instance
    metadata; None when none is set (see ``region_source`` for where it came from)."""
    return region_source(profile, environ)[0]
