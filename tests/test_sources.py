"""Which source answered: the region from instance metadata when nothing else names one,
``region_source``, ``ChainProvider.describe()``/``method`` and ``fastsig configure list``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fastsig.credentials import default_provider, default_region, instance_region, region_source

from .servers import MetadataServer

pytestmark = pytest.mark.server
SECRET = "Canary-Secret-for-configure-list"
TOKEN = "Canary-Token-for-configure-list"


@pytest.fixture
def imds():
    server = MetadataServer(allow_v1=False).start()
    yield server
    server.stop()


def test_region_from_instance_metadata_with_imdsv2(imds):
    environ = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url, "AWS_CONFIG_FILE": os.devnull,
               "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    assert region_source(environ=environ) == ("ap-southeast-2", "instance metadata")
    assert default_region(environ=environ) == "ap-southeast-2"
    assert instance_region(environ) == "ap-southeast-2"
    # A token first (PUT), then the region with it: v1 is refused by this server.
    assert imds.count("PUT", "/latest/api/token") == 3
    assert imds.count("GET", "/latest/meta-data/placement/region") == 3


def test_anything_that_names_a_region_comes_first(imds, tmp_path):
    (tmp_path / "config").write_text("[profile p]\nregion = eu-north-1\n")
    environ = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
               "AWS_CONFIG_FILE": str(tmp_path / "config"),
               "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    assert region_source("p", environ) == (
        "eu-north-1", f"profile 'p' in {tmp_path / 'config'}")
    assert region_source("p", dict(environ, AWS_DEFAULT_REGION="us-west-1")) == (
        "us-west-1", "env AWS_DEFAULT_REGION")
    assert region_source("p", dict(environ, AWS_REGION="sa-east-1", AWS_DEFAULT_REGION="x")) == (
        "sa-east-1", "env AWS_REGION")
    assert imds.requests == []


def test_metadata_disabled_asks_nothing(imds):
    environ = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url, "AWS_CONFIG_FILE": os.devnull,
               "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true"}
    assert region_source(environ=environ) == (None, "none")
    assert imds.requests == []


@pytest.mark.parametrize("answer", ["", "not a region!", "US-EAST-1", "x" * 40])
def test_a_strange_region_answer_is_no_region(imds, answer):
    imds.region = answer
    assert instance_region({"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}) is None


def test_an_unreachable_metadata_service_is_no_region_quickly():
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    assert instance_region({"AWS_EC2_METADATA_SERVICE_ENDPOINT": url}) is None


def test_the_chain_says_which_provider_answered(imds, tmp_path):
    chain = default_provider(environ={"AWS_ACCESS_KEY_ID": "AKIDENV",
                                      "AWS_SECRET_ACCESS_KEY": SECRET})
    assert (chain.method, chain.describe()) == ("none", "not resolved yet")
    chain.resolve()
    assert (chain.method, chain.describe()) == ("env", "environment variables")
    assert chain.source is chain.providers[0]

    (tmp_path / "credentials").write_text(
        f"[p]\naws_access_key_id = AKIDFILE\naws_secret_access_key = {SECRET}\n")
    (tmp_path / "config").write_text(
        f"[profile q]\naws_access_key_id = AKIDCONF\naws_secret_access_key = {SECRET}\n")
    files = {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
             "AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_EC2_METADATA_DISABLED": "true"}
    chain = default_provider("p", environ=files)
    chain.resolve()
    assert chain.method == "shared-credentials-file"
    assert chain.describe() == f"profile 'p': static keys in {tmp_path / 'credentials'}"
    chain = default_provider("q", environ=files)
    chain.resolve()
    assert chain.method == "config-file"

    chain = default_provider(environ={"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
                                      "AWS_CONFIG_FILE": os.devnull,
                                      "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    chain.resolve()
    assert (chain.method, chain.describe()) == ("iam-role", "instance metadata")


def configure_list(environ, backend, *args):
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true"})
    env.update(environ)
    if backend == "python":
        env["FASTSIG_NO_EXTENSIONS"] = "1"
    done = subprocess.run([sys.executable, "-m", "fastsig", "configure", "list", *args],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr and TOKEN not in done.stdout + done.stderr
    # Fixed columns, as aws configure list prints them: name, value, type, location.
    return {line[:10].strip(): [line[11:35].strip(), line[36:60].strip(), line[64:]]
            for line in done.stdout.splitlines()[2:]}


def test_configure_list_names_the_sources_never_the_secret(backend, tmp_path, imds):
    rows = configure_list({"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                           "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": TOKEN,
                           "AWS_REGION": "eu-west-3"}, backend)
    assert rows["profile"] == ["<not set>", "None", "None"]
    assert rows["access_key"] == ["****************MPLE", "env", "environment variables"]
    assert rows["secret_key"] == ["****************", "env", "environment variables"]
    assert rows["token"][:2] == ["****************", "env"]
    assert rows["region"] == ["eu-west-3", "env", "AWS_REGION"]

    (tmp_path / "credentials").write_text(
        f"[dev]\naws_access_key_id = AKIDDEVKEY1234\naws_secret_access_key = {SECRET}\n")
    (tmp_path / "config").write_text("[profile dev]\nregion = ca-central-1\n")
    rows = configure_list({"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
                           "AWS_CONFIG_FILE": str(tmp_path / "config")}, backend,
                          "--profile", "dev")
    assert rows["profile"] == ["dev", "manual", "--profile"]
    assert rows["access_key"] == ["****************1234", "shared-credentials-file",
                                  f"profile 'dev': static keys in {tmp_path / 'credentials'}"]
    assert rows["region"][:2] == ["ca-central-1", "config-file"]

    rows = configure_list({"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
                           "AWS_EC2_METADATA_DISABLED": "false"}, backend)
    assert rows["access_key"][1:] == ["iam-role", "instance metadata"]
    assert rows["region"] == ["ap-southeast-2", "imds", "instance metadata"]

    rows = configure_list({}, backend)
    assert rows["access_key"] == ["<not set>", "None", "None"]
    assert rows["region"] == ["<not set>", "None", "None"]
