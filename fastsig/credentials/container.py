"""The ECS/EKS container credentials endpoint."""

from __future__ import annotations

import ipaddress
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

from fastsig import _http
from fastsig._errors import CredentialsError, NoCredentialsError
from .base import Credentials, CredentialsProvider, _environ, _json_credentials, _json_object, _read_token

__all__ = ["ContainerProvider"]

_CONTAINER_HOST = "http://169.254.170.2"
# Hosts a full container-credentials URI may name over plain HTTP: loopback, and the ECS and
# EKS agents' link-local addresses.
_CONTAINER_HOSTS = frozenset({"localhost", "169.254.170.2", "169.254.170.23", "fd00:ec2::23"})


class ContainerProvider(CredentialsProvider):
    """The ECS/EKS container credentials endpoint.

    ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` is a path on the ECS agent (169.254.170.2);
    ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` a whole URL, HTTPS or one of the agents' or the
    loopback addresses over HTTP. The ``Authorization`` header comes from
    ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`` (read each time: EKS rotates it) or
    ``AWS_CONTAINER_AUTHORIZATION_TOKEN``."""

    name = "container credentials"
    method = "container-role"

    def __init__(self, environ: Optional[Mapping[str, str]] = None, *,
                 policy: _http.RetryPolicy = _http.RetryPolicy(attempts=3, timeout=2.0),
                 relative_uri_host: str = _CONTAINER_HOST, **options: Any) -> None:
        super().__init__(**options)
        self._environ = environ
        self._policy = policy
        self._relative_host = relative_uri_host.rstrip("/")

    def _url(self, environ: Mapping[str, str]) -> str:
        relative = environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        if relative:
            return self._relative_host + "/" + relative.lstrip("/")
        full = environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        if not full:
            raise NoCredentialsError(f"{self.name}: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
                                     "AWS_CONTAINER_CREDENTIALS_FULL_URI are not set")
        parts = urlsplit(full)
        host = (parts.hostname or "").lower()
        if parts.scheme == "https" and host:
            return full
        if parts.scheme == "http" and (host in _CONTAINER_HOSTS or _is_loopback(host)):
            return full
        raise CredentialsError(f"{self.name}: AWS_CONTAINER_CREDENTIALS_FULL_URI must be HTTPS "
                               f"or name a loopback or container-agent host, not {host!r}")

    def _authorization(self, environ: Mapping[str, str]) -> Optional[str]:
        path = environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        if path:
            token = _read_token(self.name, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path)
        else:
            token = environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN") or ""
        if not token:
            return None
        if "\r" in token or "\n" in token or not token.isprintable():
            raise CredentialsError(f"{self.name}: the authorization token has control characters")
        return token

    def _load(self) -> Credentials:
        environ = _environ(self._environ)
        url = self._url(environ)
        headers = {"Accept": "application/json"}
        token = self._authorization(environ)
        if token is not None:
            headers["Authorization"] = token
        try:
            response = _http.request("GET", url, headers=headers, policy=self._policy)
        except _http.HTTPFailure as exc:
            raise CredentialsError(f"{self.name}: {exc}") from None
        if response.status != 200:
            raise CredentialsError(f"{self.name}: {_http.origin(url)} answered HTTP {response.status}")
        source = f"{self.name} from {_http.origin(url)}"
        return _json_credentials(source, _json_object(source, response.body), "Token")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

