"""Credential providers against real servers on 127.0.0.1: our own instance-metadata and
container-credentials servers (tests/servers.py), moto's STS, and real credential_process
scripts. Providers are given an explicit environment, never the test process's."""

from __future__ import annotations

import datetime
import logging
import os
import re
import sys
import textwrap
import threading
import time

import pytest

import fastsig
from fastsig import Credentials, CredentialsError, NoCredentialsError, Signer
from fastsig._http import RetryPolicy
from fastsig.credentials import (
    AssumeRoleProvider,
    ChainProvider,
    ContainerProvider,
    EnvironmentProvider,
    InstanceMetadataProvider,
    ProcessProvider,
    SharedFilesProvider,
    WebIdentityProvider,
    default_provider,
    default_region,
)

from .servers import ContainerServer, MetadataServer, StsServer, credentials_document

pytestmark = pytest.mark.server
FAST = RetryPolicy(attempts=3, timeout=0.5, base=0.01, cap=0.05)
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def imds():
    server = MetadataServer(allow_v1=False).start()
    yield server
    server.stop()


@pytest.fixture
def container():
    server = ContainerServer(token="container-token").start()
    yield server
    server.stop()


def no_secret_in(exc: BaseException, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in str(exc)


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------------------- environment


def test_environment_keys_token_and_expiration():
    expires = "2999-01-01T00:00:00Z"
    creds = EnvironmentProvider({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": SECRET,
                                 "AWS_SESSION_TOKEN": "tok", "AWS_CREDENTIAL_EXPIRATION": expires}).resolve()
    assert (creds.access_key_id, creds.secret_access_key, creds.session_token) == ("AKID", SECRET, "tok")
    assert creds.expiration == datetime.datetime(2999, 1, 1, tzinfo=datetime.timezone.utc)
    legacy = EnvironmentProvider({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": SECRET,
                                  "AWS_SECURITY_TOKEN": "old"}).resolve()
    assert legacy.session_token == "old"


def test_environment_errors_name_the_variable_not_the_secret():
    with pytest.raises(NoCredentialsError, match="AWS_ACCESS_KEY_ID"):
        EnvironmentProvider({}).resolve()
    with pytest.raises(CredentialsError, match="AWS_ACCESS_KEY_ID is not set") as info:
        EnvironmentProvider({"AWS_SECRET_ACCESS_KEY": SECRET}).resolve()
    assert not isinstance(info.value, NoCredentialsError)
    no_secret_in(info.value, SECRET)
    with pytest.raises(CredentialsError, match="expired"):
        EnvironmentProvider({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": SECRET,
                             "AWS_CREDENTIAL_EXPIRATION": "2001-01-01T00:00:00Z"}).resolve()
    with pytest.raises(CredentialsError, match="ISO 8601"):
        EnvironmentProvider({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": SECRET,
                             "AWS_CREDENTIAL_EXPIRATION": "tomorrow"}).resolve()


# ---------------------------------------------------------------------------- instance metadata


def metadata(server, **environ):
    return InstanceMetadataProvider(environ, endpoint=server.url, policy=FAST)


def test_imds_v2_token_flow(imds):
    creds = metadata(imds).resolve()  # the server refuses v1: success means tokens were used
    assert creds.access_key_id == "ASIA0000000000000001" and creds.session_token == "session-token"
    assert imds.requests[0] == ("PUT", "/latest/api/token")
    assert imds.issued == 1


def test_imds_v1_only_when_allowed():
    old = MetadataServer(v2=False).start()
    try:
        assert metadata(old).resolve().access_key_id.startswith("ASIA")
        with pytest.raises(NoCredentialsError, match="IMDSv1 is disabled"):
            metadata(old, AWS_EC2_METADATA_V1_DISABLED="true").resolve()
    finally:
        old.stop()


def test_imds_disabled_asks_nothing(imds):
    with pytest.raises(NoCredentialsError, match="AWS_EC2_METADATA_DISABLED"):
        metadata(imds, AWS_EC2_METADATA_DISABLED="true").resolve()
    assert imds.requests == []


def test_imds_500_twice_then_200_is_retried(imds):
    path = "/latest/meta-data/iam/security-credentials/fastsig-test-role"
    imds.fault(path, 500, 503)
    assert metadata(imds).resolve().access_key_id.startswith("ASIA")
    assert imds.count("GET", path) == 3


@pytest.mark.parametrize("status", [404, 401])
def test_imds_404_and_401_are_not_retried(imds, status):
    path = "/latest/meta-data/iam/security-credentials/"
    imds.fault(path, status)
    with pytest.raises(NoCredentialsError, match=f"HTTP {status}"):
        metadata(imds).resolve()
    assert imds.count("GET", path) == 1


def test_imds_that_hangs_falls_through_in_bounded_time(imds):
    for path in ("/latest/api/token", "/latest/meta-data/iam/security-credentials/"):
        imds.fault(path, *["hang"] * 10)
    provider = InstanceMetadataProvider({}, endpoint=imds.url,
                                        policy=RetryPolicy(attempts=2, timeout=0.3, base=0.01))
    chain = ChainProvider([EnvironmentProvider({}), provider])
    started = time.monotonic()
    with pytest.raises(NoCredentialsError, match="instance metadata"):
        chain.resolve()
    # Two token attempts, then two v1 attempts, each cut at its timeout.
    assert time.monotonic() - started < 3.0


def test_imds_malformed_json_is_a_clear_error(imds):
    imds.fault("/latest/meta-data/iam/security-credentials/fastsig-test-role", "bad-json")
    with pytest.raises(CredentialsError, match="not JSON") as info:
        metadata(imds).resolve()
    assert not isinstance(info.value, NoCredentialsError)  # the chain must not skip past it


def test_imds_expired_credentials_are_refused(imds):
    imds.document = lambda n: credentials_document("ASIAEXPIRED", -60)
    with pytest.raises(CredentialsError, match="expired"):
        metadata(imds).resolve()


def test_imds_default_chain_uses_the_endpoint_variable(imds):
    chain = default_provider(environ={"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
                                      "AWS_CONFIG_FILE": "/nonexistent/config",
                                      "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials"})
    assert chain.resolve().access_key_id.startswith("ASIA")


# ---------------------------------------------------------------------------- refresh


def test_failed_refresh_keeps_valid_credentials_until_the_mandatory_window(imds, caplog):
    clock = FakeClock()
    provider = InstanceMetadataProvider({}, endpoint=imds.url, policy=FAST, clock=clock)
    first = provider.resolve()
    expires = first.expiration.timestamp()
    assert provider.resolve() is first and imds.issued == 1

    path = "/latest/meta-data/iam/security-credentials/fastsig-test-role"
    clock.now = expires - 800  # advisory window (15 min before expiry)
    imds.fault(path, 500, 500, 500)
    with caplog.at_level(logging.WARNING, logger="fastsig.credentials"):
        assert provider.resolve() is first
    assert "refresh failed" in caplog.text and first.secret_access_key not in caplog.text
    assert provider.resolve() is first  # and no new attempt right away
    assert imds.count("GET", path) == 1 + 3

    clock.now = expires - 500  # mandatory window (10 min before expiry)
    imds.fault(path, 500, 500, 500)
    with pytest.raises(CredentialsError, match="HTTP 500"):
        provider.resolve()
    second = provider.resolve()
    assert second.access_key_id != first.access_key_id
    assert provider.resolve() is second


def test_advisory_refresh_replaces_the_credentials(imds):
    clock = FakeClock()
    provider = InstanceMetadataProvider({}, endpoint=imds.url, policy=FAST, clock=clock)
    first = provider.resolve()
    clock.now = first.expiration.timestamp() - 800
    assert provider.resolve().access_key_id != first.access_key_id


def test_short_lived_credentials_are_used_for_half_their_life(imds):
    clock = FakeClock()
    imds.document = lambda n: credentials_document(f"ASIASHORT{n}", 120)  # inside both windows
    provider = InstanceMetadataProvider({}, endpoint=imds.url, policy=FAST, clock=clock)
    first = provider.resolve()
    clock.now += 30
    assert provider.resolve() is first
    clock.now += 40  # past half of the two minutes
    assert provider.resolve() is not first
    assert imds.issued == 2


def test_32_threads_across_an_expiry_boundary_cause_one_refresh(container, backend):
    # The first credentials enter the advisory window after 0.5 s and the mandatory one after
    # 1 s, and expire after 2.5 s; the refresh takes 0.3 s. Signing runs for 2 s.
    container.document = lambda n: credentials_document(
        f"ASIACONCURRENT{n}", 2.5 if n == 1 else 3600)
    provider = ContainerProvider(
        {"AWS_CONTAINER_CREDENTIALS_FULL_URI": container.url + ContainerServer.PATH,
         "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-token"},
        advisory_refresh=2.0, mandatory_refresh=1.5)
    signer = Signer(provider, "us-east-1", "execute-api")
    # Expiration is sent in whole seconds: start just after a second begins, so that the
    # first credentials really have their 2.5 s (truncation could leave 1.5 s, all of it
    # inside the mandatory window, and no signature would use them).
    time.sleep(1.0 - time.time() % 1.0 + 0.01)
    first = provider.resolve()
    container.delay = 0.3
    deadline = time.time() + 2.0
    seen = []
    errors = []
    start = threading.Barrier(32)

    def work():
        start.wait()
        try:
            while time.time() < deadline:
                headers = signer.sign("GET", "https://api.example.com/").headers
                seen.append((headers["Authorization"].split("Credential=")[1].split("/")[0],
                             headers["X-Amz-Date"]))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert container.issued == 2
    first_expiry = first.expiration.timestamp()
    keys = {key for key, _ in seen}
    assert keys == {"ASIACONCURRENT1", "ASIACONCURRENT2"}
    for key, amz_date in seen:
        if key == "ASIACONCURRENT1":
            signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            assert signed_at < first_expiry


# ---------------------------------------------------------------------------- container


def test_container_relative_uri_with_token(container):
    provider = ContainerProvider(
        {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": ContainerServer.PATH,
         "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-token"},
        relative_uri_host=container.url, policy=FAST)
    assert provider.resolve().access_key_id.startswith("ASIA")


def test_container_token_file_is_read_each_time(container, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("container-token\n")
    environ = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": container.url + ContainerServer.PATH,
               "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file),
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ignored-when-the-file-is-set"}
    assert ContainerProvider(environ, policy=FAST).resolve().session_token == "session-token"
    container.token = "rotated"
    token_file.write_text("rotated")
    assert ContainerProvider(environ, policy=FAST).resolve()


def test_container_wrong_token_is_not_retried(container):
    environ = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": container.url + ContainerServer.PATH,
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "wrong"}
    with pytest.raises(CredentialsError, match="HTTP 401") as info:
        ContainerProvider(environ, policy=FAST).resolve()
    no_secret_in(info.value, "wrong")
    assert container.count("GET", ContainerServer.PATH) == 1


def test_container_retries_a_500(container):
    container.fault(ContainerServer.PATH, 500)
    environ = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": container.url + ContainerServer.PATH,
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-token"}
    assert ContainerProvider(environ, policy=FAST).resolve()
    assert container.count("GET", ContainerServer.PATH) == 2


@pytest.mark.parametrize("uri", ["http://example.com/creds", "ftp://127.0.0.1/creds"])
def test_container_full_uri_must_be_local_or_https(uri):
    with pytest.raises(CredentialsError, match="HTTPS"):
        ContainerProvider({"AWS_CONTAINER_CREDENTIALS_FULL_URI": uri}).resolve()


# ---------------------------------------------------------------------------- credential_process


def process_script(tmp_path, body: str) -> str:
    script = tmp_path / "creds.py"
    script.write_text(textwrap.dedent(body))
    return f'"{sys.executable}" "{script}"'


def test_credential_process(tmp_path):
    command = process_script(tmp_path, f"""
        import json
        print(json.dumps({{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "{SECRET}",
                          "SessionToken": "tok", "Expiration": "2999-01-01T00:00:00Z"}}))
    """)
    creds = ProcessProvider(command).resolve()
    assert (creds.access_key_id, creds.session_token) == ("AKIDPROC", "tok")
    assert creds.expiration.year == 2999


@pytest.mark.parametrize("body, message", [
    ("import sys; sys.stderr.write('token expired, run login\\n'); sys.exit(3)",
     "exited with status 3: token expired, run login"),
    (f"print('{SECRET} is not JSON')", "not JSON"),
    (f"import json; print(json.dumps({{'Version': 2, 'AccessKeyId': 'A', 'SecretAccessKey': '{SECRET}'}}))",
     "Version must be 1"),
    ("import json; print(json.dumps({'Version': 1, 'AccessKeyId': 'A'}))", "lacks SecretAccessKey"),
])
def test_credential_process_errors(tmp_path, body, message):
    with pytest.raises(CredentialsError, match=message) as info:
        ProcessProvider(process_script(tmp_path, body)).resolve()
    no_secret_in(info.value, SECRET)


# ---------------------------------------------------------------------------- STS (moto)


def test_assume_role_against_moto(moto):
    from .moto_helpers import REGION, create_role, query_call

    endpoint, user = moto
    role_arn = create_role(endpoint, user)
    environ = {"AWS_ENDPOINT_URL_STS": endpoint}
    provider = AssumeRoleProvider(user, role_arn, session_name="fastsig-test",
                                  duration_seconds=900, external_id="ext", environ=environ)
    creds = provider.resolve()
    assert creds.session_token and creds.expiration is not None
    # moto checks the new credentials' signatures too.
    r = query_call(Signer(creds, REGION, "sts"), endpoint,
                   {"Action": "GetCallerIdentity", "Version": "2011-06-15"})
    assert r.status_code == 200 and "assumed-role" in r.text and "fastsig-test" in r.text, r.text


def test_assume_role_with_a_wrong_secret_says_why(moto):
    endpoint, user = moto
    wrong = Credentials(user.access_key_id, "not-the-secret")
    provider = AssumeRoleProvider(wrong, "arn:aws:iam::123456789012:role/x",
                                  environ={"AWS_ENDPOINT_URL_STS": endpoint})
    with pytest.raises(CredentialsError, match="AssumeRole for arn:aws:iam::123456789012:role/x: "
                                               "HTTP 403 SignatureDoesNotMatch") as info:
        provider.resolve()
    no_secret_in(info.value, "not-the-secret")


def test_profile_role_with_source_profile_and_mfa(moto, tmp_path):
    from .moto_helpers import create_role

    endpoint, user = moto
    role_arn = create_role(endpoint, user)
    (tmp_path / "credentials").write_text(
        f"[base]\naws_access_key_id = {user.access_key_id}\n"
        f"aws_secret_access_key = {user.secret_access_key}\n")
    (tmp_path / "config").write_text(
        f"[profile admin]\nrole_arn = {role_arn}\nsource_profile = base\n"
        "mfa_serial = arn:aws:iam::123456789012:mfa/me\nrole_session_name = admin-session\n"
        "region = eu-west-1\n")
    asked = []
    provider = SharedFilesProvider("admin", environ={
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_ENDPOINT_URL_STS": endpoint}, mfa_code=lambda serial: asked.append(serial) or "123456")
    creds = provider.resolve()
    assert creds.session_token and asked == ["arn:aws:iam::123456789012:mfa/me"]


def test_web_identity_against_moto(open_moto, tmp_path):
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl\n")
    environ = {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/web",
               "AWS_WEB_IDENTITY_TOKEN_FILE": str(token), "AWS_ROLE_SESSION_NAME": "pod",
               "AWS_ENDPOINT_URL_STS": open_moto}
    creds = WebIdentityProvider(environ=environ).resolve()
    assert creds.session_token and creds.expiration is not None
    with pytest.raises(CredentialsError, match="cannot read the token file"):
        WebIdentityProvider(environ=dict(environ, AWS_WEB_IDENTITY_TOKEN_FILE=str(tmp_path / "no"))).resolve()


# ---------------------------------------------------------------------------- shared files


def files(tmp_path, config: str = "", credentials: str = "") -> dict:
    (tmp_path / "config").write_text(textwrap.dedent(config))
    (tmp_path / "credentials").write_text(textwrap.dedent(credentials))
    return {"AWS_CONFIG_FILE": str(tmp_path / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials")}


# (config file, credentials file): the profiles worth asking about are named in each.
CONFIG_TABLE = [
    ("", """
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = s1
     """),
    ("""
        # a comment
        ; another
        [profile dev]
        aws_access_key_id=AKIDDEV
        aws_secret_access_key   =   s2   
        region = eu-west-1
        s3 =
            max_concurrent_requests = 20
            addressing_style = path
        [dev]
        aws_access_key_id = AKIDNOTAPROFILE
        aws_secret_access_key = nope
        [default]
        region: us-west-2
     """, ""),
    ("""
        [profile both]
        aws_access_key_id = AKIDFROMCONFIG
        aws_secret_access_key = config-secret
        region = ap-south-1
     """, """
        [both]
        aws_access_key_id = AKIDFROMCREDENTIALS
        aws_secret_access_key = credentials-secret
        [profile both]
        aws_access_key_id = AKIDODD
        aws_secret_access_key = odd
     """),
    ("""
        [profile "spaced name"]
        aws_access_key_id = AKIDSPACED
        aws_secret_access_key = s3cr3t # not a comment: part of the value
        [profileless]
        aws_access_key_id = AKIDNO
        aws_secret_access_key = no
        [sso-session corp]
        sso_region = us-east-1
        [profile default]
        aws_access_key_id = AKIDPROFILEDEFAULT
        aws_secret_access_key = pd
     """, ""),
    ("""
        [DEFAULT]
        region = sa-east-1
        [profile inherits]
        aws_access_key_id = AKIDINHERITS
        aws_secret_access_key = Inh
        AWS_SESSION_TOKEN = Upper-Case-Key
        [profile continued]
        aws_access_key_id = AKIDCONT
        aws_secret_access_key = first
          continued
     """, ""),
]
PROFILES = ["default", "dev", "both", "profile both", "spaced name", "profileless",
            "inherits", "continued"]


def botocore_view(environ: dict, profile: str, monkeypatch):
    import botocore.exceptions
    import botocore.session

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    try:
        session = botocore.session.Session(profile=profile)
        creds = session.get_credentials()
        region = session.get_config_variable("region")
    except botocore.exceptions.ProfileNotFound:
        return "no such profile"
    if creds is None:
        return None, region
    frozen = creds.get_frozen_credentials()
    return (frozen.access_key, frozen.secret_key, frozen.token), region


def fastsig_view(environ: dict, profile: str):
    try:
        creds = SharedFilesProvider(profile, environ=environ).resolve()
    except NoCredentialsError:
        creds = None
    except CredentialsError as exc:
        if "is not in" in str(exc):
            return "no such profile"
        raise
    region = default_region(profile, environ)
    if creds is None:
        return None, region
    return (creds.access_key_id, creds.secret_access_key, creds.session_token), region


@pytest.mark.parametrize("config, credentials", CONFIG_TABLE)
def test_shared_files_resolve_as_botocore_does(tmp_path, monkeypatch, config, credentials):
    pytest.importorskip("botocore")
    environ = files(tmp_path, config, credentials)
    for profile in PROFILES:
        expected = botocore_view(environ, profile, monkeypatch)
        assert fastsig_view(environ, profile) == expected, profile


def test_default_profile_from_aws_profile(tmp_path):
    environ = files(tmp_path, credentials="[work]\naws_access_key_id = AKIDWORK\n"
                                          "aws_secret_access_key = w\n")
    provider = SharedFilesProvider(environ=dict(environ, AWS_PROFILE="work"))
    assert provider.resolve().access_key_id == "AKIDWORK"
    with pytest.raises(NoCredentialsError):
        SharedFilesProvider(environ=environ).resolve()  # no [default]: nothing, not an error


@pytest.mark.parametrize("text, line, problem", [
    ("aws_access_key_id = AKID\n[default]\n", 1, "before the first"),
    (f"[default]\naws_access_key_id = AKID\n{SECRET}\n", 3, "not a [section] header"),
    ("[default]\nregion = a\nregion = b\n", 3, "appears twice"),
    ("[default]\n[default]\n", 2, "appears twice"),
    ("[default]\ns3 =\n  not_a_pair\n", None, "nested under 's3'"),
])
def test_bad_config_names_file_and_line_never_the_line(tmp_path, text, line, problem):
    environ = files(tmp_path, config=text)
    with pytest.raises(CredentialsError, match=re.escape(problem)) as info:
        SharedFilesProvider(environ=environ).resolve()
    assert environ["AWS_CONFIG_FILE"] in str(info.value)
    if line is not None:
        assert f"line {line}" in str(info.value)
    no_secret_in(info.value, SECRET, "AKID =")


def test_profile_errors(tmp_path):
    environ = files(tmp_path, config="""
        [profile loop-a]
        role_arn = arn:aws:iam::123456789012:role/a
        source_profile = loop-b
        [profile loop-b]
        role_arn = arn:aws:iam::123456789012:role/b
        source_profile = loop-a
        [profile half]
        aws_access_key_id = AKIDHALF
        [profile both-sources]
        role_arn = arn:aws:iam::123456789012:role/c
        source_profile = half
        credential_source = Environment
        [profile bad-source]
        role_arn = arn:aws:iam::123456789012:role/d
        credential_source = Moon
    """)
    for profile, message in [("loop-a", "loops back"), ("half", "aws_secret_access_key is missing"),
                             ("both-sources", "not both"), ("bad-source", "Moon"),
                             ("absent", "'absent' is not in")]:
        with pytest.raises(CredentialsError, match=message):
            SharedFilesProvider(profile, environ=environ).resolve()


def test_profile_credential_process(tmp_path):
    command = process_script(tmp_path, """
        import json
        print(json.dumps({"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "x"}))
    """)
    environ = files(tmp_path, config=f"[default]\ncredential_process = {command}\n")
    assert SharedFilesProvider(environ=environ).resolve().access_key_id == "AKIDPROC"


# ---------------------------------------------------------------------------- the chain


def test_chain_order_enabling_providers_one_by_one(tmp_path, imds, container, open_moto):
    imds.document = lambda n: credentials_document("ASIAFROMIMDS", 3600)
    container.document = lambda n: credentials_document("ASIAFROMCONTAINER", 3600)
    token = tmp_path / "web-token"
    token.write_text("header.payload.signature")
    layers = [
        ("environment", {"AWS_ACCESS_KEY_ID": "AKIDFROMENV", "AWS_SECRET_ACCESS_KEY": "e"}),
        ("web identity", {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/web",
                          "AWS_WEB_IDENTITY_TOKEN_FILE": str(token)}),
        ("shared files", files(tmp_path, credentials="[default]\naws_access_key_id = AKIDFROMFILE\n"
                                                     "aws_secret_access_key = f\n")),
        ("container", {"AWS_CONTAINER_CREDENTIALS_FULL_URI": container.url + ContainerServer.PATH,
                       "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-token"}),
        ("instance metadata", {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}),
    ]
    base = {"AWS_ENDPOINT_URL_STS": open_moto, "AWS_CONFIG_FILE": "/nonexistent/config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials"}
    seen = []
    for start in range(len(layers) + 1):
        environ = dict(base)
        for _, variables in layers[start:]:
            environ.update(variables)
        try:
            creds = default_provider(environ=environ).resolve()
        except NoCredentialsError as exc:
            seen.append("nothing")
            message = str(exc)
            continue
        seen.append(creds.access_key_id)
    assert seen[0] == "AKIDFROMENV"
    assert seen[1] not in ("AKIDFROMENV", "AKIDFROMFILE", "ASIAFROMCONTAINER", "ASIAFROMIMDS")
    assert seen[2:] == ["AKIDFROMFILE", "ASIAFROMCONTAINER", "ASIAFROMIMDS", "nothing"]
    for name in ("environment", "web identity", "shared config files", "container", "instance metadata"):
        assert name in message


def test_explicit_profile_skips_the_environment(tmp_path):
    environ = files(tmp_path, credentials="[other]\naws_access_key_id = AKIDOTHER\n"
                                          "aws_secret_access_key = o\n")
    environ.update({"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "e"})
    assert default_provider(environ=environ).resolve().access_key_id == "AKIDENV"
    assert default_provider("other", environ=environ).resolve().access_key_id == "AKIDOTHER"


def test_a_configured_but_broken_provider_stops_the_chain(tmp_path):
    environ = {"AWS_ACCESS_KEY_ID": "AKIDENV"}  # the secret is missing
    with pytest.raises(CredentialsError, match="AWS_SECRET_ACCESS_KEY") as info:
        default_provider(environ=environ).resolve()
    assert not isinstance(info.value, NoCredentialsError)


def test_signer_with_no_credentials_uses_the_default_chain(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    signer = Signer(None, "us-east-1", "s3")
    with pytest.raises(NoCredentialsError, match="no AWS credentials found"):
        signer.presign("GET", "https://b.s3.amazonaws.com/k")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    signer = Signer(None, None, "s3")
    assert signer.region == "eu-central-1"
    url = signer.presign("GET", "https://b.s3.amazonaws.com/k", timestamp="20150830T123600Z")
    expected = Signer(Credentials("AKIDEXAMPLE", SECRET), "eu-central-1", "s3").presign(
        "GET", "https://b.s3.amazonaws.com/k", timestamp="20150830T123600Z")
    assert url == expected


def test_providers_are_exported():
    assert fastsig.default_provider is default_provider
    for provider in (EnvironmentProvider({}), ContainerProvider({}), InstanceMetadataProvider({}),
                     SharedFilesProvider(environ={}), WebIdentityProvider(environ={}),
                     default_provider(environ={})):
        assert callable(provider.resolve)
        assert SECRET not in repr(provider)


# ---------------------------------------------------------------------------- STS endpoints, retries


@pytest.mark.parametrize("environ, region, expected", [
    ({}, "eu-west-1", ("https://sts.eu-west-1.amazonaws.com/", "eu-west-1")),
    ({}, None, ("https://sts.amazonaws.com/", "us-east-1")),
    ({"AWS_STS_REGIONAL_ENDPOINTS": "legacy"}, "eu-west-1", ("https://sts.amazonaws.com/", "us-east-1")),
    ({"AWS_STS_REGIONAL_ENDPOINTS": "legacy"}, "af-south-1",
     ("https://sts.af-south-1.amazonaws.com/", "af-south-1")),
    ({}, "cn-north-1", ("https://sts.cn-north-1.amazonaws.com.cn/", "cn-north-1")),
    ({"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, "eu-west-1", ("http://127.0.0.1:1/", "eu-west-1")),
    ({"AWS_ENDPOINT_URL": "http://a", "AWS_ENDPOINT_URL_STS": "http://b/"}, None, ("http://b/", "us-east-1")),
])
def test_sts_endpoint_choice(environ, region, expected):
    from fastsig import _sts

    assert _sts.endpoint(environ, region) == expected


def test_sts_throttling_is_retried_other_4xx_is_not(tmp_path, monkeypatch):
    from fastsig import _sts

    monkeypatch.setattr(_sts, "RETRY", FAST)
    server = StsServer().start()
    try:
        token = tmp_path / "token"
        token.write_text("jwt")
        environ = {"AWS_ENDPOINT_URL_STS": server.url, "AWS_ROLE_ARN": "arn:aws:iam::1:role/r",
                   "AWS_WEB_IDENTITY_TOKEN_FILE": str(token)}
        server.fault("/", True, True)
        assert WebIdentityProvider(environ=environ).resolve().access_key_id == "ASIASTS"
        assert server.count("POST", "/") == 3
        server.deny = True
        with pytest.raises(CredentialsError, match="HTTP 400 AccessDenied: not allowed"):
            WebIdentityProvider(environ=environ).resolve()
        assert server.count("POST", "/") == 4
    finally:
        server.stop()


def test_backoff_is_full_jitter_with_a_cap():
    policy = RetryPolicy(attempts=10, base=1.0, cap=8.0)
    for retry, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = [policy.delay(retry) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # spread over the whole range, not fixed
