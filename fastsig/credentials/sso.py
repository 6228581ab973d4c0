"""IAM Identity Center (SSO): role credentials from the portal, with the token that
``aws sso login`` left in ``~/.aws/sso/cache``.

As botocore's ``SSOTokenLoader`` and ``SSOProvider`` do: the cached token's file is named
after the SHA-1 of the ``sso_session`` name (or, for legacy profiles without one, of the
start URL); ``GetRoleCredentials`` is ``GET /federation/credentials?role_name=..&account_id=..``
on ``portal.sso.<region>.amazonaws.com`` with the token in ``x-amz-sso_bearer_token``, and
answers ``roleCredentials`` whose ``expiration`` is in epoch milliseconds.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import time
from typing import Any, Dict, Mapping, Optional
from urllib.parse import urlencode

from fastsig import _http
from fastsig._errors import CredentialsError
from fastsig._timestamp import parse_iso8601
from .base import Credentials, CredentialsProvider, _credentials, _environ, _json_object

__all__ = ["SSOProvider", "token_cache_path"]


# Renew the SSO token this long before it expires, as botocore's SSOTokenProvider does.
_TOKEN_REFRESH_WINDOW = 15 * 60


def _write_json(path: str, document: Dict[str, Any]) -> None:
    """Replace the cached token file: a temporary file of mode 0600 beside it, then moved."""
    import tempfile

    directory = os.path.dirname(path)
    handle, temporary = tempfile.mkstemp(prefix=".sso-token-", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(document, file)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def token_cache_path(key: str, cache_dir: Optional[str] = None) -> str:
    """Where ``aws sso login`` caches the token for ``key`` (an ``sso_session`` name, or the
    start URL of a legacy profile): ``~/.aws/sso/cache/<sha1 hex of key>.json``."""
    directory = cache_dir or os.path.expanduser(os.path.join("~", ".aws", "sso", "cache"))
    return os.path.join(directory, hashlib.sha1(key.encode("utf-8")).hexdigest() + ".json")


class SSOProvider(CredentialsProvider):
    """Role credentials from IAM Identity Center, as an ``sso_session`` (or legacy ``sso_*``)
    profile describes them.

    The cached token is read on each refresh, so a new ``aws sso login`` is picked up. With
    an ``sso_session``, a token within 15 minutes of its expiry is renewed first, as botocore
    renews it: SSO-OIDC ``CreateToken`` with the cached refresh token and client
    registration, and the new token written back to the cache; if that fails, a token still
    valid is used, an expired one is an error that says to log in again. The role credentials
    are refreshed in the windows of ``CredentialsProvider``, before they expire.
    ``endpoint`` (or ``AWS_ENDPOINT_URL_SSO``) replaces the portal's URL, ``oidc_endpoint``
    (or ``AWS_ENDPOINT_URL_SSO_OIDC``) that of SSO-OIDC.

    >>> provider = SSOProvider(start_url="https://my-sso.awsapps.com/start",
    ...                        sso_region="us-east-1", account_id="123456789012",
    ...                        role_name="ReadOnly", session_name="corp")
    >>> provider.describe()
    "sso: role ReadOnly in account 123456789012 (sso_session 'corp')"
    """

    method = "sso"

    def __init__(
        self,
        *,
        start_url: str,
        sso_region: str,
        account_id: str,
        role_name: str,
        session_name: Optional[str] = None,
        cache_dir: Optional[str] = None,
        endpoint: Optional[str] = None,
        oidc_endpoint: Optional[str] = None,
        environ: Optional[Mapping[str, str]] = None,
        policy: _http.RetryPolicy = _http.RetryPolicy(attempts=3, timeout=5.0),
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.name = f"sso: role {role_name} in account {account_id}"
        self._start_url = start_url
        self._region = sso_region
        self._account_id = account_id
        self._role_name = role_name
        self._session_name = session_name
        self._cache_dir = cache_dir
        self._endpoint = endpoint
        self._oidc_endpoint = oidc_endpoint
        self._environ = environ
        self._policy = policy

    def describe(self) -> str:
        how = (f"sso_session {self._session_name!r}" if self._session_name
               else f"start URL {self._start_url}")
        return f"{self.name} ({how})"

    def _login_hint(self) -> str:
        return ("run 'aws sso login --sso-session " + self._session_name + "'"
                if self._session_name else "run 'aws sso login'")

    def _token(self) -> str:
        path = token_cache_path(self._session_name or self._start_url, self._cache_dir)
        try:
            with open(path, "rb") as handle:
                body = handle.read()
        except FileNotFoundError:
            body = None
        except OSError as exc:
            raise CredentialsError(f"{self.name}: cannot read the SSO token {path} "
                                   f"({exc.strerror})") from None
        if body is None:
            raise CredentialsError(f"{self.name}: no SSO token in {path}; {self._login_hint()}")
        document = _json_object(f"{self.name}: the SSO token {path}", body)
        token = document.get("accessToken")
        expires = document.get("expiresAt")
        if not isinstance(token, str) or not token or not isinstance(expires, str):
            raise CredentialsError(f"{self.name}: the SSO token {path} lacks accessToken or "
                                   "expiresAt")
        # botocore writes "2026-12-04T18:00:00Z"; older CLIs "...UTC".
        expiration = parse_iso8601(expires.replace("UTC", "Z"))
        if expiration is None:
            raise CredentialsError(f"{self.name}: the SSO token's expiresAt is not an ISO 8601 "
                                   "time")
        now = self._clock()
        if self._session_name and expiration.timestamp() - now < _TOKEN_REFRESH_WINDOW:
            renewed = self._renew(path, document, now)
            if renewed is not None:
                return renewed
        if expiration.timestamp() <= now:
            raise CredentialsError(f"{self.name}: the SSO token expired at "
                                   f"{expiration.isoformat()}; {self._login_hint()}")
        return token

    def _renew(self, path: str, document: Dict[str, Any], now: float) -> Optional[str]:
        """SSO-OIDC CreateToken with the cached refresh token; the new access token (also
        written back to the cache), or None when it cannot be had (logged, not raised: the
        caller decides whether the current token still serves)."""
        import logging  # here, not at import: only renewals log

        log = logging.getLogger("fastsig.credentials")
        fields = ("refreshToken", "clientId", "clientSecret", "registrationExpiresAt")
        if not all(isinstance(document.get(name), str) and document[name] for name in fields):
            log.info("%s: the SSO token cannot be renewed (no refresh token or client "
                     "registration in the cache)", self.name)
            return None
        registered = parse_iso8601(document["registrationExpiresAt"].replace("UTC", "Z"))
        if registered is None or registered.timestamp() <= now:
            log.info("%s: the SSO client registration has expired", self.name)
            return None
        base = (self._oidc_endpoint or _environ(self._environ).get("AWS_ENDPOINT_URL_SSO_OIDC")
                or f"https://oidc.{self._region}.amazonaws.com")
        url = base.rstrip("/") + "/token"
        request = json.dumps({"grantType": "refresh_token", "clientId": document["clientId"],
                              "clientSecret": document["clientSecret"],
                              "refreshToken": document["refreshToken"]}).encode()
        problem = ""
        try:
            response = _http.request("POST", url, body=request, policy=self._policy,
                                     headers={"Content-Type": "application/json"})
        except _http.HTTPFailure as exc:
            problem = str(exc)
        else:
            if response.status != 200:
                problem = f"{_http.origin(url)} answered HTTP {response.status}"
        if problem:
            log.warning("%s: renewing the SSO token failed: %s", self.name, problem)
            return None
        try:
            answer = _json_object(f"{self.name}: SSO-OIDC CreateToken", response.body)
        except CredentialsError as exc:
            log.warning("%s", exc)
            return None
        token, expires_in = answer.get("accessToken"), answer.get("expiresIn")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            log.warning("%s: SSO-OIDC CreateToken answered no accessToken or expiresIn",
                        self.name)
            return None
        renewed = dict(document, accessToken=token, expiresAt=time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + expires_in)))
        if isinstance(answer.get("refreshToken"), str):
            renewed["refreshToken"] = answer["refreshToken"]
        _write_json(path, renewed)
        return token

    def _url(self) -> str:
        base = (self._endpoint or _environ(self._environ).get("AWS_ENDPOINT_URL_SSO")
                or f"https://portal.sso.{self._region}.amazonaws.com")
        query = urlencode({"role_name": self._role_name, "account_id": self._account_id})
        return f"{base.rstrip('/')}/federation/credentials?{query}"

    def _load(self) -> Credentials:
        url = self._url()
        headers = {"x-amz-sso_bearer_token": self._token(), "Accept": "application/json"}
        try:
            response = _http.request("GET", url, headers=headers, policy=self._policy)
        except _http.HTTPFailure as exc:
            raise CredentialsError(f"{self.name}: {exc}") from None
        if response.status in (401, 403):
            raise CredentialsError(f"{self.name}: the portal refused the SSO token (HTTP "
                                   f"{response.status}); {self._login_hint()}")
        if response.status != 200:
            raise CredentialsError(f"{self.name}: {_http.origin(url)} answered HTTP "
                                   f"{response.status}")
        source = f"{self.name} from {_http.origin(url)}"
        found = _json_object(source, response.body).get("roleCredentials")
        role: Dict[str, Any] = found if isinstance(found, dict) else {}
        missing = [name for name in ("accessKeyId", "secretAccessKey", "sessionToken")
                   if not role.get(name)]
        if missing:
            raise CredentialsError(f"{source}: the answer lacks {', '.join(missing)}")
        milliseconds = role.get("expiration")
        if not isinstance(milliseconds, int) or isinstance(milliseconds, bool):
            raise CredentialsError(f"{source}: expiration is not epoch milliseconds")
        expiration = datetime.datetime.fromtimestamp(milliseconds / 1000, datetime.timezone.utc)
        return _credentials(source, role["accessKeyId"], role["secretAccessKey"],
                            role["sessionToken"], expiration)
