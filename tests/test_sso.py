"""IAM Identity Center (SSO) profiles against a local server on 127.0.0.1 standing in for
the portal: the token ``aws sso login`` cached, GetRoleCredentials, refresh before expiry."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import time

import pytest

from fastsig import CredentialsError
from fastsig.credentials import SharedFilesProvider, SSOProvider, default_provider
from fastsig.credentials.sso import token_cache_path

from .servers import PortalServer

pytestmark = pytest.mark.server
START_URL = "https://my-sso-portal.awsapps.com/start"
BEARER = "aoaAAAAAGexampleAccessToken"


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def portal():
    server = PortalServer(BEARER).start()
    yield server
    server.stop()


def in_seconds(seconds: float) -> str:
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def cache_token(cache_dir, key: str, token: str = BEARER, expires_in: float = 3600,
                **extra: str) -> str:
    os.makedirs(cache_dir, exist_ok=True)
    path = os.path.join(cache_dir, hashlib.sha1(key.encode()).hexdigest() + ".json")
    with open(path, "w") as handle:
        json.dump({"startUrl": START_URL, "region": "us-east-1", "accessToken": token,
                   "expiresAt": in_seconds(expires_in), **extra}, handle)
    return path


@pytest.mark.parametrize("session_name", ["my-sso", None])
def test_a_token_botocore_cached_is_found(portal, tmp_path, session_name):
    from botocore.utils import JSONFileCache, SSOTokenLoader

    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    SSOTokenLoader(cache=JSONFileCache(str(tmp_path))).save_token(
        START_URL, {"startUrl": START_URL, "region": "us-east-1", "accessToken": BEARER,
                    "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
        session_name=session_name)
    assert os.listdir(tmp_path) == [os.path.basename(
        token_cache_path(session_name or START_URL, str(tmp_path)))]
    provider = SSOProvider(start_url=START_URL, sso_region="us-east-1", account_id="1",
                           role_name="R", session_name=session_name, cache_dir=str(tmp_path),
                           endpoint=portal.url)
    assert provider.resolve().access_key_id == "ASIASSO000000001"


def test_get_role_credentials_and_refresh_before_expiry(portal, tmp_path):
    cache_token(str(tmp_path), "my-sso")
    clock = FakeClock()
    portal.expires_in = 3600
    provider = SSOProvider(start_url=START_URL, sso_region="eu-west-1", account_id="123456789012",
                           role_name="ReadOnly", session_name="my-sso", cache_dir=str(tmp_path),
                           endpoint=portal.url, clock=clock)
    first = provider.resolve()
    assert (first.access_key_id, first.secret_access_key, first.session_token) == (
        "ASIASSO000000001", "sso-secret-1", "sso-token-1")
    assert portal.asked == [{"role_name": "ReadOnly", "account_id": "123456789012"}]
    assert provider.resolve() is first  # cached while far from expiry
    # 14 minutes before expiry, inside the advisory window: a new GetRoleCredentials.
    clock.now = first.expiration.timestamp() - 14 * 60
    second = provider.resolve()
    assert second.access_key_id == "ASIASSO000000002" and portal.issued == 2
    assert provider.method == "sso"
    assert provider.describe() == "sso: role ReadOnly in account 123456789012 (sso_session 'my-sso')"


def profiles(tmp_path, portal, config: str) -> dict:
    (tmp_path / "config").write_text(config)
    return {"AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_ENDPOINT_URL_SSO": portal.url, "AWS_EC2_METADATA_DISABLED": "true",
            "HOME": str(tmp_path)}


def test_an_sso_session_profile_through_the_chain(portal, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # ~/.aws/sso/cache
    cache_token(str(tmp_path / ".aws" / "sso" / "cache"), "corp")
    environ = profiles(tmp_path, portal, f"""
[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Developer
region = eu-central-1
[sso-session corp]
sso_start_url = {START_URL}
sso_region = eu-west-1
sso_registration_scopes = sso:account:access
""")
    chain = default_provider("dev", environ=environ)
    creds = chain.resolve()
    assert creds.access_key_id == "ASIASSO000000001"
    assert portal.asked == [{"role_name": "Developer", "account_id": "111122223333"}]
    assert chain.method == "sso"
    assert chain.describe() == ("profile 'dev': sso: role Developer in account 111122223333 "
                                "(sso_session 'corp')")


def test_a_legacy_sso_profile_uses_the_start_url_for_the_cache(portal, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    cache_token(str(tmp_path / ".aws" / "sso" / "cache"), START_URL)
    environ = profiles(tmp_path, portal, f"""
[default]
sso_start_url = {START_URL}
sso_region = us-east-1
sso_account_id = 444455556666
sso_role_name = Admin
""")
    creds = SharedFilesProvider(environ=environ).resolve()
    assert creds.access_key_id == "ASIASSO000000001"
    assert portal.asked == [{"role_name": "Admin", "account_id": "444455556666"}]


@pytest.mark.parametrize("config, message", [
    ("[profile p]\nsso_session = nope\nsso_account_id = 1\nsso_role_name = R\n",
     "has no \\[sso-session nope\\] section"),
    ("[profile p]\nsso_session = s\nsso_role_name = R\n[sso-session s]\n"
     f"sso_start_url = {START_URL}\nsso_region = us-east-1\n", "needs sso_account_id"),
    ("[profile p]\nsso_session = s\nsso_account_id = 1\nsso_role_name = R\n"
     "sso_region = eu-west-1\n[sso-session s]\n"
     f"sso_start_url = {START_URL}\nsso_region = us-east-1\n", "sso_region differs"),
    (f"[profile p]\nsso_start_url = {START_URL}\nsso_account_id = 1\nsso_role_name = R\n",
     "needs sso_region"),
])
def test_incomplete_sso_profiles_say_what_is_missing(portal, tmp_path, config, message):
    environ = profiles(tmp_path, portal, config)
    with pytest.raises(CredentialsError, match=message):
        SharedFilesProvider("p", environ=environ).resolve()
    assert portal.asked == []


def test_no_token_an_expired_token_and_a_refused_token_say_to_log_in(portal, tmp_path):
    options = {"start_url": START_URL, "sso_region": "us-east-1", "account_id": "1",
               "role_name": "R", "session_name": "corp", "cache_dir": str(tmp_path),
               "endpoint": portal.url}
    with pytest.raises(CredentialsError, match="no SSO token in .*aws sso login --sso-session corp"):
        SSOProvider(**options).resolve()
    cache_token(str(tmp_path), "corp", expires_in=-60)
    with pytest.raises(CredentialsError, match="the SSO token expired at .*; run 'aws sso login"):
        SSOProvider(**options).resolve()
    cache_token(str(tmp_path), "corp", token="a-token-the-portal-does-not-know")
    with pytest.raises(CredentialsError, match="refused the SSO token \\(HTTP 401\\)") as info:
        SSOProvider(**options).resolve()
    assert "a-token-the-portal-does-not-know" not in str(info.value)
    assert portal.asked == []


def test_a_new_login_is_picked_up_on_refresh(portal, tmp_path):
    cache_token(str(tmp_path), "corp", token="old-token")
    clock = FakeClock()
    provider = SSOProvider(start_url=START_URL, sso_region="us-east-1", account_id="1",
                           role_name="R", session_name="corp", cache_dir=str(tmp_path),
                           endpoint=portal.url, clock=clock)
    with pytest.raises(CredentialsError, match="refused"):
        provider.resolve()
    cache_token(str(tmp_path), "corp")  # aws sso login again
    assert provider.resolve().access_key_id == "ASIASSO000000001"


def renewable(portal, tmp_path, expires_in: float, **extra: str) -> SSOProvider:
    cache_token(str(tmp_path), "corp", expires_in=expires_in, refreshToken="refresh-1",
                clientId="client-id", clientSecret="client-secret",
                registrationExpiresAt=in_seconds(86400), **extra)
    return SSOProvider(start_url=START_URL, sso_region="us-east-1", account_id="1",
                       role_name="R", session_name="corp", cache_dir=str(tmp_path),
                       endpoint=portal.url, oidc_endpoint=portal.url)


def test_a_token_near_expiry_is_renewed_with_sso_oidc_and_cached(portal, tmp_path):
    provider = renewable(portal, tmp_path, expires_in=10 * 60)  # inside the 15-minute window
    creds = provider.resolve()
    assert portal.renewals == 1 and creds.access_key_id == "ASIASSO000000001"
    assert portal.count("POST", "/token") == 1
    cached = json.loads(open(token_cache_path("corp", str(tmp_path))).read())
    assert cached["accessToken"] == "renewed-token-1" and cached["refreshToken"] == "refresh-2"
    assert cached["clientSecret"] == "client-secret"  # the registration stays
    assert oct(os.stat(token_cache_path("corp", str(tmp_path))).st_mode & 0o777) == "0o600"
    # An expired token with a refresh token: renewed too, no login needed.
    portal.token, portal.refresh_token = "gone", "refresh-1"
    provider = renewable(portal, tmp_path, expires_in=-60)
    assert provider.resolve().access_key_id == "ASIASSO000000002"


def test_a_failed_renewal_keeps_a_valid_token_and_logs_no_secret(portal, tmp_path, caplog):
    portal.client = ("client-id", "another-secret")  # CreateToken will refuse
    provider = renewable(portal, tmp_path, expires_in=10 * 60)
    with caplog.at_level("INFO", logger="fastsig.credentials"):
        assert provider.resolve().access_key_id == "ASIASSO000000001"
    assert "renewing the SSO token failed" in caplog.text
    for secret in ("client-secret", "refresh-1", BEARER):
        assert secret not in caplog.text
    provider = renewable(portal, tmp_path, expires_in=-60)
    with pytest.raises(CredentialsError, match="expired at .*aws sso login --sso-session corp"):
        provider.resolve()


def test_legacy_profiles_are_not_renewed(portal, tmp_path):
    cache_token(str(tmp_path), START_URL, expires_in=10 * 60, refreshToken="refresh-1",
                clientId="client-id", clientSecret="client-secret",
                registrationExpiresAt=in_seconds(86400))
    provider = SSOProvider(start_url=START_URL, sso_region="us-east-1", account_id="1",
                           role_name="R", cache_dir=str(tmp_path), endpoint=portal.url,
                           oidc_endpoint=portal.url)
    assert provider.resolve().access_key_id == "ASIASSO000000001"
    assert portal.renewals == 0
