"""AWS credentials: an access key pair and, for temporary credentials, a session token."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import math
import os
import shlex
import threading
import time
from typing import Any, Callable, Iterable, List, Mapping, Optional, Tuple, Union
from urllib.parse import quote, urlsplit

from . import _aws_config, _http
from ._errors import CredentialsError, NoCredentialsError
from ._timestamp import parse_iso8601

__all__ = [
    "AssumeRoleProvider",
    "ChainProvider",
    "ContainerProvider",
    "Credentials",
    "CredentialsProvider",
    "EnvironmentProvider",
    "InstanceMetadataProvider",
    "ProcessProvider",
    "SharedFilesProvider",
    "StaticProvider",
    "WebIdentityProvider",
    "default_provider",
    "default_region",
]


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

    def __reduce__(self) -> Tuple[Any, ...]:
        return (
            Credentials,
            (self.access_key_id, self.secret_access_key, self.session_token, self.expiration),
        )


# --------------------------------------------------------------------------------------------
# Providers
# --------------------------------------------------------------------------------------------

_CONTAINER_HOST = "http://169.254.170.2"
_IMDS_ENDPOINT = "http://169.254.169.254"
_IMDS_ENDPOINT_IPV6 = "http://[fd00:ec2::254]"
# Hosts a full container-credentials URI may name over plain HTTP: loopback, and the ECS and
# EKS agents' link-local addresses.
_CONTAINER_HOSTS = frozenset({"localhost", "169.254.170.2", "169.254.170.23", "fd00:ec2::23"})


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

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class StaticProvider(CredentialsProvider):
    """Credentials given in code, as a provider."""

    name = "explicit credentials"

    def __init__(self, credentials: Credentials, **options: Any) -> None:
        super().__init__(**options)
        if not isinstance(credentials, Credentials):
            raise CredentialsError("StaticProvider needs fastsig.Credentials")
        self._credentials = credentials

    def _load(self) -> Credentials:
        return self._credentials


class EnvironmentProvider(CredentialsProvider):
    """``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN`` (or the legacy
    ``AWS_SECURITY_TOKEN``) and ``AWS_CREDENTIAL_EXPIRATION`` (ISO 8601). With an expiration
    the variables are read again when it nears, so a process that updates its environment
    keeps signing."""

    name = "environment variables"

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


def _json_object(source: str, body: Union[bytes, str]) -> dict:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise CredentialsError(f"{source}: the answer is not JSON") from None
    if not isinstance(document, dict):
        raise CredentialsError(f"{source}: the answer is not a JSON object")
    return document


def _json_credentials(source: str, document: dict, token_field: str) -> Credentials:
    """Credentials from the JSON that processes, containers and instance metadata print."""
    missing = [name for name in ("AccessKeyId", "SecretAccessKey") if not document.get(name)]
    if missing:
        raise CredentialsError(f"{source}: the answer lacks {' and '.join(missing)}")
    return _credentials(source, document["AccessKeyId"], document["SecretAccessKey"],
                        document.get(token_field) or None,
                        _parse_expiration(source, document.get("Expiration")))


class ProcessProvider(CredentialsProvider):
    """Runs a ``credential_process`` command and reads the JSON it prints (``Version`` 1,
    ``AccessKeyId``, ``SecretAccessKey``, optional ``SessionToken`` and ``Expiration``).

    The command is split like a shell command line (no shell runs it). Without an
    ``Expiration`` the credentials are kept for the life of the provider."""

    def __init__(self, command: str, *, timeout: Optional[float] = 300.0,
                 label: str = "credential_process", **options: Any) -> None:
        super().__init__(**options)
        self.name = label
        try:
            self._argv = shlex.split(command)
        except ValueError as exc:
            raise CredentialsError(f"{label}: cannot split the command line ({exc})") from None
        if not self._argv:
            raise CredentialsError(f"{label}: the command is empty")
        self._timeout = timeout

    def _load(self) -> Credentials:
        import subprocess  # here, not at import: only credential_process runs a command

        try:
            done = subprocess.run(self._argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=self._timeout, check=False)
        except FileNotFoundError:
            raise CredentialsError(f"{self.name}: {self._argv[0]!r} not found") from None
        except subprocess.TimeoutExpired:
            raise CredentialsError(f"{self.name}: no answer within {self._timeout} s") from None
        except OSError as exc:
            raise CredentialsError(f"{self.name}: cannot run {self._argv[0]!r} ({exc.strerror})") from None
        if done.returncode != 0:
            # The command's own error message helps; its output might be credentials.
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
            reason = f": {detail[-1][:300]}" if detail else ""
            raise CredentialsError(f"{self.name}: exited with status {done.returncode}{reason}")
        document = _json_object(self.name, done.stdout)
        if document.get("Version") != 1:
            raise CredentialsError(
                f"{self.name}: Version must be 1, got {str(document.get('Version'))[:20]!r}")
        return _json_credentials(self.name, document, "SessionToken")

    def __repr__(self) -> str:
        return f"ProcessProvider({self._argv[0]!r}, ...)"


def _environment_region(environ: Mapping[str, str]) -> Optional[str]:
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None


def default_region(profile: Optional[str] = None,
                   environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The region the AWS CLI would use: ``AWS_REGION``, ``AWS_DEFAULT_REGION``, else the
    profile's ``region`` in the shared files; None when none is set."""
    environ = _environ(environ)
    region = _environment_region(environ)
    if region:
        return region
    shared = _aws_config.load(environ)
    value = shared.profiles.get(_aws_config.profile_name(environ, profile), {}).get("region")
    return value if isinstance(value, str) and value else None


class AssumeRoleProvider(CredentialsProvider):
    """Temporary credentials for a role, from STS ``AssumeRole`` called with ``source``
    (``Credentials`` or a provider). ``mfa_code`` is called with the MFA device's serial and
    returns the current code, when the role requires MFA."""

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
        from . import _sts

        code = None
        if self._mfa_serial is not None:
            if self._mfa_code is None:
                raise CredentialsError(f"{self.name}: the role needs an MFA code for "
                                       f"{self._mfa_serial}; pass mfa_code=")
            code = self._mfa_code(self._mfa_serial)
        return _sts.assume_role(
            self._source.resolve(), self._role_arn, self._session_name,
            region=self._region, environ=_environ(self._environ),
            external_id=self._external_id, duration_seconds=self._duration,
            mfa_serial=self._mfa_serial, mfa_code=code)

    def __repr__(self) -> str:
        return f"AssumeRoleProvider({self._role_arn!r})"


class WebIdentityProvider(CredentialsProvider):
    """Temporary credentials from STS ``AssumeRoleWithWebIdentity``, with the token read from
    a file each time (Kubernetes rotates it). Arguments left out come from
    ``AWS_ROLE_ARN``, ``AWS_WEB_IDENTITY_TOKEN_FILE`` and ``AWS_ROLE_SESSION_NAME``."""

    name = "web identity"

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
        from . import _sts

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
        region = self._region or _environment_region(environ)
        return _sts.assume_role_with_web_identity(
            role_arn, session_name, token, region=region, environ=environ,
            duration_seconds=self._duration)


class ContainerProvider(CredentialsProvider):
    """The ECS/EKS container credentials endpoint.

    ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` is a path on the ECS agent (169.254.170.2);
    ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` a whole URL, HTTPS or one of the agents' or the
    loopback addresses over HTTP. The ``Authorization`` header comes from
    ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`` (read each time: EKS rotates it) or
    ``AWS_CONTAINER_AUTHORIZATION_TOKEN``."""

    name = "container credentials"

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


class InstanceMetadataProvider(CredentialsProvider):
    """The EC2 instance metadata service (IMDS), version 2 by default.

    A session token comes first (``PUT /latest/api/token``), then the role name and its
    credentials are read with it. Version 1 (no token) is used only when the token cannot be
    had and ``AWS_EC2_METADATA_V1_DISABLED`` is not ``true``. ``AWS_EC2_METADATA_DISABLED=true``
    turns the provider off; ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` (or
    ``AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6``) moves it. Timeouts are short and attempts
    few, so that off EC2 the default chain gives up quickly."""

    name = "instance metadata"

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

    def _load(self) -> Credentials:
        environ = _environ(self._environ)
        if _true(environ.get("AWS_EC2_METADATA_DISABLED")):
            raise NoCredentialsError(f"{self.name}: AWS_EC2_METADATA_DISABLED is true")
        base = self._base(environ)
        token = self._token(base, not _true(environ.get("AWS_EC2_METADATA_V1_DISABLED")))
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
            raise CredentialsError(f"{source}: Code is {str(code)[:100]!r}")
        return _json_credentials(source, document, "Token")


class SharedFilesProvider:
    """The credentials a profile of ``~/.aws/config`` and ``~/.aws/credentials`` describes,
    resolved as the AWS CLI does, in this order:

    1. ``role_arn`` with ``source_profile`` (static keys, or another role: chains work) or
       ``credential_source`` (``Environment``, ``EcsContainer``, ``Ec2InstanceMetadata``),
       assumed with STS ``AssumeRole`` (``external_id``, ``duration_seconds``,
       ``role_session_name``, ``mfa_serial`` with the ``mfa_code`` callback);
    2. ``role_arn`` with ``web_identity_token_file``: STS ``AssumeRoleWithWebIdentity``;
    3. ``aws_access_key_id``/``aws_secret_access_key`` (and ``aws_session_token``) in the
       credentials file;
    4. ``credential_process``;
    5. the same static keys in the config file.

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

    def resolve(self) -> Credentials:
        provider = self._provider
        if provider is None:
            with self._lock:
                if self._provider is None:
                    self._provider = self._build()
                provider = self._provider
        return provider.resolve()

    def _build(self) -> Any:
        environ = _environ(self._environ)
        shared = _aws_config.load(environ)
        name = _aws_config.profile_name(environ, self._profile)
        if name not in shared.profiles:
            if self._profile is None and not environ.get("AWS_PROFILE"):
                raise NoCredentialsError(f"{self.name}: no [default] profile in "
                                         f"{shared.config_path} or {shared.credentials_path}")
            raise CredentialsError(f"{self.name}: profile {name!r} is not in "
                                   f"{shared.config_path} or {shared.credentials_path}")
        return self._for_profile(shared, name, environ, visited=())

    def _for_profile(self, shared: _aws_config.SharedConfig, name: str,
                     environ: Mapping[str, str], visited: Tuple[str, ...]) -> Any:
        where = f"profile {name!r} ({shared.where(name)})"
        if name not in shared.profiles:
            raise CredentialsError(f"{self.name}: profile {name!r}, the source_profile of "
                                   f"{visited[-1]!r}, is not in {shared.config_path} or "
                                   f"{shared.credentials_path}")
        profile = shared.profiles[name]
        text = {key: value for key, value in profile.items() if isinstance(value, str)}
        region = _environment_region(environ) or text.get("region")
        role_arn = text.get("role_arn")
        static = _static_keys(where, text)
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
            if source_profile == name and static is not None:
                source: Any = StaticProvider(static)  # a profile may be its own source
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
        from_credentials_file = _static_keys(where, {
            key: value for key, value in shared.credentials_profiles.get(name, {}).items()
            if isinstance(value, str)})
        if from_credentials_file is not None:
            return StaticProvider(from_credentials_file)
        if text.get("credential_process"):
            return ProcessProvider(text["credential_process"],
                                   label=f"credential_process of profile {name!r}",
                                   **self._options)
        if static is not None:
            return StaticProvider(static)
        raise (NoCredentialsError if not visited else CredentialsError)(
            f"{where} has no credentials (keys, role_arn or credential_process)")

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
    try:
        return int(text)
    except ValueError:
        raise CredentialsError(f"{where}: duration_seconds must be a whole number") from None


def _credential_source(where: str, value: str, environ: Mapping[str, str]) -> Any:
    if value == "Environment":
        return EnvironmentProvider(environ)
    if value == "EcsContainer":
        return ContainerProvider(environ)
    if value == "Ec2InstanceMetadata":
        return InstanceMetadataProvider(environ)
    raise CredentialsError(f"{where}: credential_source must be Environment, EcsContainer or "
                           f"Ec2InstanceMetadata, not {value!r}")


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
