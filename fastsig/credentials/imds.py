"""The EC2 instance metadata service (IMDS): role credentials, and the instance's region."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Tuple
from urllib.parse import quote

from fastsig import _http
from fastsig._errors import CredentialsError, NoCredentialsError
from .base import Credentials, CredentialsProvider, _environ, _json_credentials, _json_object, _true

__all__ = ["InstanceMetadataProvider", "instance_region"]

_IMDS_ENDPOINT = "http://169.254.169.254"
_IMDS_ENDPOINT_IPV6 = "http://[fd00:ec2::254]"


class InstanceMetadataProvider(CredentialsProvider):
    """The EC2 instance metadata service (IMDS), version 2 by default.

    A session token comes first (``PUT /latest/api/token``), then the role name and its
    credentials are read with it. Version 1 (no token) is used only when the token cannot be
    had and ``AWS_EC2_METADATA_V1_DISABLED`` is not ``true``. ``AWS_EC2_METADATA_DISABLED=true``
    turns the provider off; ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` (or
    ``AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6``) moves it. Timeouts are short and attempts
    few, so that off EC2 the default chain gives up quickly."""

    name = "instance metadata"
    method = "iam-role"

    def __init__(self, environ: Optional[Mapping[str, str]] = None, *,
                 endpoint: Optional[str] = None,
                 policy: _http.RetryPolicy = _http.RetryPolicy(attempts=2, timeout=1.0, cap=1.0),
                 token_ttl: int = 21600, **options: Any) -> None:
        super().__init__(**options)
        self._environ = environ
        self._endpoint = endpoint
        self._policy = policy
        self._token_ttl = token_ttl

    def _base(self, environ: Mapping[str, str]) -> str:
        if self._endpoint:
            return self._endpoint.rstrip("/")
        explicit = environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        if explicit:
            return explicit.rstrip("/")
        mode = (environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE") or "ipv4").lower()
        return _IMDS_ENDPOINT_IPV6 if mode == "ipv6" else _IMDS_ENDPOINT

    def _get(self, url: str, token: Optional[str], what: str) -> bytes:
        headers = {"X-aws-ec2-metadata-token": token} if token else {}
        try:
            response = _http.request("GET", url, headers=headers, policy=self._policy)
        except _http.HTTPFailure as exc:
            raise NoCredentialsError(f"{self.name}: {exc}") from None
        if response.status == 200:
            return response.body
        hint = ""
        if response.status == 401:
            hint = " (IMDSv1 refused; the v2 token was missing or expired)"
        elif response.status == 404 and what == "role":
            hint = " (no IAM role is attached to this instance)"
        raise NoCredentialsError(f"{self.name}: {_http.origin(url)} answered HTTP "
                                 f"{response.status}{hint}")

    def _token(self, base: str, v1_allowed: bool) -> Optional[str]:
        url = base + "/latest/api/token"
        headers = {"X-aws-ec2-metadata-token-ttl-seconds": str(self._token_ttl)}
        try:
            response = _http.request("PUT", url, headers=headers, policy=self._policy)
        except _http.HTTPFailure as exc:
            # A token answer can be lost where v1 still works (a container behind a hop
            # limit of 1), so fall back when allowed; otherwise there is nothing here.
            if v1_allowed and exc.response is None:
                return None
            raise NoCredentialsError(f"{self.name}: {exc}") from None
        if response.status == 200:
            token = response.text().strip()
            if token and token.isprintable() and token.isascii():
                return token
            raise CredentialsError(f"{self.name}: the session token answer is malformed")
        if response.status in (403, 404, 405) and v1_allowed:
            return None  # an IMDS without version 2
        raise NoCredentialsError(f"{self.name}: {url} answered HTTP {response.status} to the "
                                 "session token request" + ("" if v1_allowed else
                                                            " and IMDSv1 is disabled"))

    def _session(self) -> Tuple[str, Optional[str]]:
        """(base URL, v2 token or None for v1) of the metadata service."""
        environ = _environ(self._environ)
        if _true(environ.get("AWS_EC2_METADATA_DISABLED")):
            raise NoCredentialsError(f"{self.name}: AWS_EC2_METADATA_DISABLED is true")
        base = self._base(environ)
        return base, self._token(base, not _true(environ.get("AWS_EC2_METADATA_V1_DISABLED")))

    def region(self) -> Optional[str]:
        """The instance's region (``/latest/meta-data/placement/region``), or None when the
        service is off, out of reach or says nothing usable."""
        try:
            base, token = self._session()
            text = self._get(base + "/latest/meta-data/placement/region", token, "region")
        except CredentialsError:
            return None
        region = text.decode("ascii", "replace").strip()
        # A region name is lowercase letters, digits and dashes (us-east-1, us-gov-west-1).
        if region and len(region) <= 32 and all(c.isalnum() or c == "-" for c in region) \
                and region.isascii() and region == region.lower():
            return region
        return None

    def _load(self) -> Credentials:
        base, token = self._session()
        roles = base + "/latest/meta-data/iam/security-credentials/"
        names = self._get(roles, token, "role").decode("utf-8", "replace").split()
        if not names:
            raise NoCredentialsError(f"{self.name}: no IAM role is attached to this instance")
        role = names[0]
        body = self._get(roles + quote(role, safe=""), token, "credentials")
        source = f"{self.name} for role {role}"
        document = _json_object(source, body)
        code = document.get("Code", "Success")
        if code != "Success":
            # Quoted only when it looks like a status word: the field is the answer's, and
            # an answer is what could hold a secret.
            shown = repr(code) if isinstance(code, str) and code.isalnum() and len(code) <= 40 \
                else "not Success"
            raise CredentialsError(f"{source}: Code is {shown}")
        return _json_credentials(source, document, "Token")



def instance_region(environ: Optional[Mapping[str, str]] = None, *,
                    endpoint: Optional[str] = None) -> Optional[str]:
    """The region of the EC2 instance this runs on, from instance metadata (IMDSv2: a token
    first, then ``/latest/meta-data/placement/region``); None off EC2, or when
    ``AWS_EC2_METADATA_DISABLED`` is ``true``. One attempt with a one-second timeout, as
    botocore asks it."""
    provider = InstanceMetadataProvider(
        environ, endpoint=endpoint, policy=_http.RetryPolicy(attempts=1, timeout=1.0))
    return provider.region()
