"""Secrets never escape: each way one used to (issue 28, leaks a to d) plants a recognizable
secret and session token, then searches every message of the exception and of its whole
__cause__/__context__ chain, every log record, and what the CLI prints (stdout and stderr)."""

from __future__ import annotations

import datetime
import io
import json
import logging
import os
import subprocess
import sys
import textwrap
import traceback
from typing import Iterable, List, Mapping, Optional

import pytest

from fastsig import CredentialsError, NoCredentialsError, Signer, UnsupportedSigningError, Verifier
from fastsig import Credentials
from fastsig.credentials import (
    ContainerProvider,
    InstanceMetadataProvider,
    ProcessProvider,
    SharedFilesProvider,
    default_provider,
    default_region,
)
from fastsig._http import RetryPolicy
from fastsig.middleware import WSGIMiddleware

from .servers import RawServer

pytestmark = pytest.mark.server
SECRET = "Canary-Secret-7f3a9c2d51e8"
TOKEN = "Canary-Token-19be44a0c6"
FAST = RetryPolicy(attempts=2, timeout=1.0, base=0.01, cap=0.02)
STS_URL = "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"


def chain_messages(exc: Optional[BaseException]) -> List[str]:
    """str, repr and args of the exception and of everything reachable through __cause__
    and __context__ (suppressed or not), and the formatted traceback."""
    texts: List[str] = []
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current)] + [repr(arg) for arg in current.args]
        texts.append("".join(traceback.format_exception(type(current), current,
                                                        current.__traceback__)))
        stack += [current.__cause__, current.__context__]
    return texts


def assert_hidden(*, exc: Optional[BaseException] = None,
                  records: Iterable[logging.LogRecord] = (), output: str = "",
                  secrets: Iterable[str] = (SECRET, TOKEN)) -> None:
    texts = chain_messages(exc) + [output]
    for record in records:
        texts += [record.getMessage(), repr(record.args)]
        if record.exc_info:
            texts += chain_messages(record.exc_info[1])
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into {text[:300]!r}"


def run_cli(args: List[str], environ: Mapping[str, str], backend: str) -> str:
    """Run ``fastsig`` in a subprocess; returns stdout + stderr after checking it failed
    with one line."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true"})
    env.update(environ)
    if backend == "python":
        env["FASTSIG_NO_EXTENSIONS"] = "1"
    done = subprocess.run([sys.executable, "-m", "fastsig", *args], capture_output=True,
                          text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stdout + done.stderr


def document(key: str = "ASIALEAK", seconds: int = 3600) -> str:
    expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return json.dumps({"Version": 1, "AccessKeyId": key, "SecretAccessKey": SECRET,
                       "SessionToken": TOKEN, "Token": TOKEN,
                       "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ")})


# ---------------------------------------------------------------------- a) credential_process


def script(tmp_path, body: str) -> str:
    path = tmp_path / "creds.py"
    path.write_text(textwrap.dedent(body))
    return f'"{sys.executable}" "{path}"'


def test_a_process_that_writes_its_json_to_stderr(tmp_path, caplog, backend):
    command = script(tmp_path, f"""
        import sys
        sys.stderr.write({document()!r} + "\\n")
        sys.exit(1)
    """)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(CredentialsError, match="exited with status 1") as info:
            ProcessProvider(command).resolve()
    assert_hidden(exc=info.value, records=caplog.records)
    (tmp_path / "config").write_text(f"[default]\ncredential_process = {command}\n")
    output = run_cli(["sign", "GET", STS_URL], {"AWS_CONFIG_FILE": str(tmp_path / "config")},
                     backend)
    assert "exited with status 1" in output
    assert_hidden(output=output)


def test_a_failed_refresh_logs_no_secret(tmp_path, caplog):
    # The first run answers credentials inside the advisory window; the second fails with
    # the secret on stderr, which the refresh-failure warning used to repeat.
    state = tmp_path / "ran-once"
    command = script(tmp_path, f"""
        import datetime, json, os, sys
        if not os.path.exists({str(state)!r}):
            open({str(state)!r}, "w").close()
            expiration = (datetime.datetime.now(datetime.timezone.utc)
                          + datetime.timedelta(seconds=800)).strftime("%Y-%m-%dT%H:%M:%SZ")
            print(json.dumps({{"Version": 1, "AccessKeyId": "AKIDFIRST",
                               "SecretAccessKey": "first", "Expiration": expiration}}))
        else:
            sys.stderr.write({document()!r})
            sys.exit(2)
    """)
    provider = ProcessProvider(command)
    first = provider.resolve()
    with caplog.at_level(logging.DEBUG):
        assert provider.resolve() is first  # the refresh failed; the current ones stay
    warnings = [r for r in caplog.records if r.name == "fastsig.credentials"]
    assert warnings and "refresh failed" in warnings[0].getMessage()
    assert "exited with status 2" in warnings[0].getMessage()
    assert_hidden(records=caplog.records)


# ------------------------------------------------ b) an endpoint that answers without HTTP


@pytest.fixture
def raw_endpoint():
    # Credential JSON with no status line: http.client's error quoted that first line.
    with RawServer((document() + "\r\n").encode()) as server:
        yield server


def test_b_container_endpoint_without_a_status_line(raw_endpoint, caplog, backend):
    environ = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": raw_endpoint.url + "/creds"}
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(CredentialsError, match="not valid HTTP") as info:
            ContainerProvider(environ, policy=FAST).resolve()
    assert raw_endpoint.connections == 2
    assert_hidden(exc=info.value, records=caplog.records)
    output = run_cli(["sign", "GET", STS_URL], environ, backend)
    assert "container credentials" in output
    assert_hidden(output=output)


def test_b_metadata_endpoint_without_a_status_line_in_the_chain(raw_endpoint, caplog, backend):
    environ = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": raw_endpoint.url,
               "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(NoCredentialsError) as info:
            InstanceMetadataProvider(environ, policy=FAST).resolve()
        assert_hidden(exc=info.value)
        with pytest.raises(NoCredentialsError, match="no AWS credentials found; tried") as info:
            default_provider(environ=environ).resolve()
    assert "instance metadata" in str(info.value)
    assert_hidden(exc=info.value, records=caplog.records)
    environ.pop("AWS_CONFIG_FILE"), environ.pop("AWS_SHARED_CREDENTIALS_FILE")
    output = run_cli(["sign", "GET", STS_URL],
                     dict(environ, AWS_EC2_METADATA_DISABLED="false"), backend)
    assert "no AWS credentials found" in output
    assert_hidden(output=output)


# ---------------------------------------------- c) __context__ kept by 'raise ... from None'


@pytest.mark.parametrize("which, text", [
    ("credentials", f"[default]\naws_access_key_id = AKIDLEAK\n{SECRET}\n"),  # a bare line
    ("credentials", f"{SECRET}\n[default]\naws_access_key_id = AKIDLEAK\n"),  # before [..]
    ("config", f"[default]\nregion = eu-west-1\n{TOKEN}\n"),
])
def test_c_a_bare_secret_in_a_shared_file(tmp_path, caplog, backend, which, text):
    (tmp_path / which).write_text(text)
    environ = {"AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_CONFIG_FILE": os.devnull,
               "AWS_EC2_METADATA_DISABLED": "true"}
    environ["AWS_CONFIG_FILE" if which == "config" else "AWS_SHARED_CREDENTIALS_FILE"] = str(
        tmp_path / which)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(CredentialsError, match=rf"{which} file .*line \d") as info:
            SharedFilesProvider(environ=environ).resolve()
        assert_hidden(exc=info.value)
        with pytest.raises(CredentialsError) as info:
            default_region(environ=environ)
    assert_hidden(exc=info.value, records=caplog.records)
    output = run_cli(["sign", "GET", STS_URL], environ, backend)
    assert "line" in output
    assert_hidden(output=output)


def test_c_a_secret_as_duration_seconds(tmp_path, caplog, backend):
    (tmp_path / "config").write_text(
        "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/admin\n"
        f"source_profile = base\nduration_seconds = {SECRET}\n"
        "[profile base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base\n")
    environ = {"AWS_CONFIG_FILE": str(tmp_path / "config"),
               "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(CredentialsError, match="duration_seconds must be a whole number") as info:
            SharedFilesProvider("admin", environ=environ).resolve()
    assert_hidden(exc=info.value, records=caplog.records)
    output = run_cli(["sign", "GET", STS_URL, "--profile", "admin"], environ, backend)
    assert "duration_seconds" in output
    assert_hidden(output=output)


def test_c_json_and_surrogate_errors_keep_no_document(tmp_path):
    # A JSONDecodeError holds the whole document; a UnicodeEncodeError the whole string.
    command = script(tmp_path, f"print('{{\"SecretAccessKey\": \"{SECRET}\", ')")
    with pytest.raises(CredentialsError, match="not JSON") as info:
        ProcessProvider(command).resolve()
    assert_hidden(exc=info.value)
    assert info.value.__context__ is None
    with pytest.raises(CredentialsError, match="not valid Unicode") as info:
        Credentials("AKID", SECRET + "\ud800")
    assert info.value.__context__ is None


# --------------------------------------------------- d) the unknown streaming payload message


def test_d_unknown_streaming_payload_does_not_echo_the_header(caplog):
    keys = {"AKIDEXAMPLE": Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")}
    signer = Signer(keys["AKIDEXAMPLE"], "us-east-1", "s3")
    # Signer accepts literals of capitals, digits and dashes: the canary in that form.
    canary = SECRET.upper()
    value = f"STREAMING-{canary}-PAYLOAD"
    signed = signer.sign("PUT", "https://b.s3.amazonaws.com/k",
                         {"x-amz-content-sha256": value}, payload_hash=value)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(UnsupportedSigningError, match="unknown streaming payload") as info:
            Verifier(keys.get).verify("PUT", signed.url, signed.headers, b"")
    assert_hidden(exc=info.value, records=caplog.records, secrets=[canary])

    def app(environ, start_response):  # pragma: no cover - never reached
        start_response("200 OK", [])
        return [b""]

    environ = {"REQUEST_METHOD": "PUT", "PATH_INFO": "/k", "QUERY_STRING": "",
               "SERVER_NAME": "b.s3.amazonaws.com", "SERVER_PORT": "443",
               "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0"}
    for name, header in signed.headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = header
    started = []
    body = b"".join(WSGIMiddleware(app, Verifier(keys.get))(
        environ, lambda status, headers: started.append(status)))
    assert started and not started[0].startswith("200")
    assert b"unknown streaming payload" in body
    assert_hidden(output=body.decode(), secrets=[canary])
