"""STS GetSessionToken with MFA, as a provider, as a profile's ``mfa_serial`` asks and as
``fastsig session-token``, against moto's server on 127.0.0.1 with authentication enforced.

A recording WSGI wrapper around moto's app shows what moto received and answered: the
request moto authenticated carries SerialNumber, TokenCode and DurationSeconds, and the
credentials fastsig returns are the ones in moto's answer. (moto 5 answers fixed example
credentials that it does not itself accept afterwards, so signing with them proves nothing.)"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from urllib.parse import parse_qs

import pytest

from fastsig import Credentials, CredentialsError, Signer
from fastsig.credentials import SessionTokenProvider, SharedFilesProvider, default_provider, sts

pytestmark = pytest.mark.server
SERIAL = "arn:aws:iam::123456789012:mfa/fastsig-user"


@pytest.fixture
def recorded_moto(moto):
    from .moto_helpers import Recorded, start_recording_moto

    endpoint, user = moto  # authentication is enforced from here on, process-wide
    recorded = Recorded()
    for url in start_recording_moto(recorded):
        yield url, user, recorded


def form(body: bytes) -> dict:
    return {key: values[0] for key, values in parse_qs(body.decode()).items()}


def issued(answer: bytes) -> Credentials:
    """The credentials in moto's GetSessionToken/AssumeRole answer."""
    from fastsig._timestamp import parse_iso8601

    from .moto_helpers import tag

    text = answer.decode()
    return Credentials(tag(text, "AccessKeyId"), tag(text, "SecretAccessKey"),
                       tag(text, "SessionToken"), parse_iso8601(tag(text, "Expiration")))


def only_call(recorded, action: str):
    calls = recorded.actions(action)
    assert len(calls) == 1, recorded.calls
    method, path, headers, body, status, answer = calls[0]
    assert (method, status) == ("POST", 200), answer[:300]
    return headers, form(body), answer


def test_sign_post_equals_the_signer(backend):
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "tok/+=")
    url = "https://sts.eu-west-1.amazonaws.com/"
    body = b"Action=GetSessionToken&Version=2011-06-15&DurationSeconds=900"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    when = 1700000000
    ours = sts.sign_post(creds, "eu-west-1", "sts", url, headers, body, clock=lambda: when)
    theirs = Signer(creds, "eu-west-1", "sts").sign("POST", url, headers, body, timestamp=when)
    assert ours["Authorization"] == theirs.headers["Authorization"]
    assert ours["X-Amz-Security-Token"] == "tok/+="


def test_get_session_token_with_mfa_against_moto(recorded_moto):
    endpoint, user, recorded = recorded_moto
    asked = []
    provider = SessionTokenProvider(
        user, serial_number=SERIAL, duration_seconds=900, environ={"AWS_ENDPOINT_URL_STS": endpoint},
        mfa_code=lambda serial: asked.append(serial) or "123456")
    creds = provider.resolve()
    assert asked == [SERIAL]
    headers, params, answer = only_call(recorded, "GetSessionToken")
    assert params["SerialNumber"] == SERIAL
    assert params["TokenCode"] == "123456"
    assert params["DurationSeconds"] == "900"
    assert headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={user.access_key_id}/")
    assert creds == issued(answer)
    assert creds.session_token and creds.expiration is not None
    assert provider.describe() == f"sts get-session-token with MFA {SERIAL}"
    assert provider.method == "sts-session-token"


def test_get_session_token_is_authenticated_by_moto(recorded_moto):
    endpoint, user, recorded = recorded_moto
    wrong = Credentials(user.access_key_id, "not-the-secret")
    provider = SessionTokenProvider(wrong, serial_number=SERIAL, mfa_code=lambda s: "123456",
                                    environ={"AWS_ENDPOINT_URL_STS": endpoint})
    with pytest.raises(CredentialsError, match="HTTP 403 SignatureDoesNotMatch") as info:
        provider.resolve()
    assert "not-the-secret" not in str(info.value)
    assert recorded.actions("GetSessionToken")[0][4] == 403


@pytest.mark.parametrize("code, message", [(None, "no terminal to ask on"),
                                           (lambda s: "", "no MFA code"),
                                           (lambda s: "12ab56", "digits only")])
def test_a_missing_or_bad_code_is_refused_before_calling(recorded_moto, code, message):
    endpoint, user, recorded = recorded_moto
    provider = SessionTokenProvider(user, serial_number=SERIAL, mfa_code=code,
                                    environ={"AWS_ENDPOINT_URL_STS": endpoint})
    with pytest.raises(CredentialsError, match=message):
        provider.resolve()
    assert recorded.calls == []


def shared_files(tmp_path, endpoint: str, user: Credentials, config: str) -> dict:
    (tmp_path / "credentials").write_text(
        f"[base]\naws_access_key_id = {user.access_key_id}\n"
        f"aws_secret_access_key = {user.secret_access_key}\n")
    (tmp_path / "config").write_text(config)
    return {"AWS_CONFIG_FILE": str(tmp_path / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
            "AWS_ENDPOINT_URL_STS": endpoint, "AWS_EC2_METADATA_DISABLED": "true"}


def test_a_profile_with_mfa_serial_and_keys_gets_a_session(recorded_moto, tmp_path):
    endpoint, user, recorded = recorded_moto
    environ = shared_files(tmp_path, endpoint, user,
                           f"[profile base]\nmfa_serial = {SERIAL}\nduration_seconds = 1800\n")
    asked = []
    chain = default_provider("base", environ=environ,
                             mfa_code=lambda serial: asked.append(serial) or "654321")
    creds = chain.resolve()
    assert asked == [SERIAL]
    _, params, answer = only_call(recorded, "GetSessionToken")
    assert (params["SerialNumber"], params["TokenCode"], params["DurationSeconds"]) == (
        SERIAL, "654321", "1800")
    assert creds == issued(answer)
    assert creds.access_key_id != user.access_key_id  # not the long-term keys
    assert chain.method == "sts-session-token"
    assert chain.describe() == f"profile 'base': sts get-session-token with MFA {SERIAL}"
    # Off a terminal and without a callback: an error, never the long-term keys.
    with pytest.raises(CredentialsError, match="needs an MFA code"):
        SharedFilesProvider("base", environ=environ).resolve()


def test_an_assume_role_profile_sends_mfa_serial_to_assume_role(recorded_moto, tmp_path):
    from .moto_helpers import create_role

    endpoint, user, recorded = recorded_moto
    role_arn = create_role(endpoint, user)
    environ = shared_files(tmp_path, endpoint, user,
                           f"[profile admin]\nrole_arn = {role_arn}\nsource_profile = base\n"
                           f"mfa_serial = {SERIAL}\n[profile base]\nmfa_serial = {SERIAL}\n")
    chain = default_provider("admin", environ=environ, mfa_code=lambda serial: "111222")
    creds = chain.resolve()
    _, params, answer = only_call(recorded, "AssumeRole")
    assert (params["RoleArn"], params["SerialNumber"], params["TokenCode"]) == (
        role_arn, SERIAL, "111222")
    assert recorded.actions("GetSessionToken") == []  # as the CLI: the role's MFA only
    assert creds == issued(answer) and chain.method == "assume-role"
    # moto accepts AssumeRole's credentials: they sign a call it checks.
    from .moto_helpers import REGION, query_call

    r = query_call(Signer(creds, REGION, "sts"), endpoint,
                   {"Action": "GetCallerIdentity", "Version": "2011-06-15"})
    assert r.status_code == 200, r.text


def run_cli(args, environ, backend):
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(environ)
    if backend == "python":
        env["FASTSIG_NO_EXTENSIONS"] = "1"
    return subprocess.run([sys.executable, "-m", "fastsig", *args], capture_output=True,
                          text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)


def test_cli_session_token_prints_exports_and_writes_a_profile(recorded_moto, tmp_path, backend):
    endpoint, user, recorded = recorded_moto
    environ = shared_files(tmp_path, endpoint, user, "")
    environ.update({"AWS_ACCESS_KEY_ID": user.access_key_id,
                    "AWS_SECRET_ACCESS_KEY": user.secret_access_key})
    done = run_cli(["session-token", "--serial-number", SERIAL, "--token-code", "123456",
                    "--duration-seconds", "3600"], environ, backend)
    assert done.returncode == 0, done.stderr
    _, params, answer = only_call(recorded, "GetSessionToken")
    assert (params["SerialNumber"], params["TokenCode"], params["DurationSeconds"]) == (
        SERIAL, "123456", "3600")
    moto_issued = issued(answer)
    exported = dict(line[len("export "):].split("=", 1) for line in done.stdout.splitlines())
    assert exported["AWS_ACCESS_KEY_ID"] == moto_issued.access_key_id
    assert exported["AWS_SECRET_ACCESS_KEY"].strip("'") == moto_issued.secret_access_key
    assert exported["AWS_SESSION_TOKEN"].strip("'") == moto_issued.session_token
    assert "AWS_CREDENTIAL_EXPIRATION" in exported

    # --profile-out: a profile the other providers (and the CLI) read back.
    with open(tmp_path / "credentials", "a") as handle:
        handle.write("# a comment that stays\n[mfa]\naws_access_key_id = OLD\n"
                     "aws_secret_access_key = old\n")
    done = run_cli(["session-token", "--serial-number", SERIAL, "--token-code", "123456",
                    "--profile-out", "mfa"], environ, backend)
    assert done.returncode == 0, done.stderr
    assert "wrote profile 'mfa'" in done.stdout and moto_issued.secret_access_key not in done.stdout
    text = (tmp_path / "credentials").read_text()
    assert "# a comment that stays" in text and "OLD" not in text
    assert oct((tmp_path / "credentials").stat().st_mode & 0o777) == "0o600"
    written = SharedFilesProvider("mfa", environ=environ).resolve()
    assert written == Credentials(moto_issued.access_key_id, moto_issued.secret_access_key,
                                  moto_issued.session_token)
    assert SharedFilesProvider("base", environ=environ).resolve().access_key_id == user.access_key_id


@pytest.mark.parametrize("args, message", [
    (["--token-code", "123456"], "--token-code goes with --serial-number"),
    (["--serial-number", SERIAL], "needs --token-code"),
    (["--serial-number", SERIAL, "--token-code", "123456", "--duration-seconds", "60"],
     "900 to 129600"),
    (["--serial-number", SERIAL, "--token-code", "1", "--profile-out", "default"],
     "would overwrite the profile in use"),
])
def test_cli_session_token_usage_errors(args, message, backend, tmp_path):
    done = run_cli(["session-token", *args], {"AWS_CONFIG_FILE": os.devnull,
                                              "AWS_SHARED_CREDENTIALS_FILE": os.devnull}, backend)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr.strip().splitlines()[-1]  # after argparse's usage, if any


def test_expiration_is_kept(recorded_moto):
    endpoint, user, _ = recorded_moto
    creds = SessionTokenProvider(user, environ={"AWS_ENDPOINT_URL_STS": endpoint}).resolve()
    assert creds.expiration > datetime.datetime.now(datetime.timezone.utc)


def test_keys_with_a_session_token_are_a_session_already(tmp_path):
    # What --profile-out writes, next to an mfa_serial: STS would refuse to nest sessions.
    (tmp_path / "credentials").write_text(
        "[mfa]\naws_access_key_id = ASIASESSION\naws_secret_access_key = s\n"
        "aws_session_token = t\n")
    (tmp_path / "config").write_text(f"[profile mfa]\nmfa_serial = {SERIAL}\n")
    chain = default_provider("mfa", environ={
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true"})
    assert chain.resolve().access_key_id == "ASIASESSION"
    assert chain.method == "shared-credentials-file"
