"""The main job through the real command line, in a subprocess, on each backend."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(backend, *args):
    env = {k: v for k, v in os.environ.items() if k != "FASTSIG_NO_EXTENSIONS"}
    if backend == "python":
        env["FASTSIG_NO_EXTENSIONS"] = "1"
    return subprocess.run([sys.executable, "-m", "fastsig", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_presign_example(backend, tmp_path):
    out = tmp_path / "urls.txt"
    done = run_cli(backend, "presign", "--example", "--count", "25000", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert f"{backend} backend" in done.stderr
    assert "presigned 25,000 URLs" in done.stderr
    assert "all match" in done.stderr and "all valid" in done.stderr
    assert done.stdout == ""
    urls = out.read_text().splitlines()
    assert len(urls) == 25000
    assert urls[0].startswith("https://examplebucket.s3.us-east-1.amazonaws.com/photos/2000/img%200000000.jpg?")
    assert "caf%C3%A9%200000002.jpg?" in urls[2]  # order kept, non-ASCII encoded
    assert all("&X-Amz-Signature=" in u for u in urls[:100])


def test_usage_errors(backend):
    assert run_cli(backend, "presign").returncode == 2
    assert run_cli(backend, "nonsense").returncode == 2
    assert run_cli(backend, "--version").stdout.startswith("fastsig ")


def test_verify_command(backend):
    from fastsig import Signer
    from fastsig.cli import EXAMPLE_CREDENTIALS

    url = Signer(EXAMPLE_CREDENTIALS, "us-east-1", "s3").presign(
        "GET", "https://examplebucket.s3.us-east-1.amazonaws.com/a b.txt", expires_in=600)
    done = run_cli(backend, "verify", "--example", url)
    assert done.returncode == 0 and done.stdout.startswith("valid: AKIAIOSFODNN7EXAMPLE"), done
    done = run_cli(backend, "verify", "--example", url.replace("a%20b", "a%20c"))
    assert done.returncode == 1 and done.stdout.startswith("invalid: SignatureDoesNotMatch")
    done = run_cli(backend, "verify", "--example", "--region", "eu-west-1", url)
    assert done.returncode == 1
    assert EXAMPLE_CREDENTIALS.secret_access_key not in done.stdout + done.stderr
    env_less = run_cli(backend, "verify", url)
    assert env_less.returncode in (1, 2)  # no credentials, or the wrong ones from the env
