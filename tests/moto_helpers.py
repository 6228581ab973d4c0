"""moto's server on 127.0.0.1 with authentication enforced, and helpers to talk to it.

Set-up uses moto's three unauthenticated actions (create an IAM user, give it an allow-all
policy, create its access key); every later call is checked. Requests are signed by fastsig
and sent with ``requests``.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import urlencode

import requests
from moto import server as moto_server

from fastsig import Credentials, Signer

REGION = "us-east-1"
ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
)


def tag(xml: str, name: str) -> str:
    match = re.search(rf"<{name}>([^<]*)</{name}>", xml)
    assert match, f"no <{name}> in {xml[:300]}"
    return match.group(1)


def send(signer: Signer, method: str, url: str, headers=None, body=None):
    signed = signer.sign(method, url, headers, body)
    return requests.request(method, signed.url, headers=signed.headers, data=body, timeout=30)


def query_call(signer: Signer, endpoint: str, params: dict):
    # moto checks form bodies after re-serializing them with urlencode: use that encoding.
    body = urlencode(params)
    return send(signer, "POST", endpoint + "/",
                {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, body)


def start_moto():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        reset = requests.post(f"{endpoint}/moto-api/reset-auth", data=b"3",
                              headers={"Content-Type": "text/plain"}, timeout=30)
        assert reset.status_code == 200, reset.text
        # The three unauthenticated actions (any signature passes for these).
        anyone = Signer(Credentials("AKIDEXAMPLE", "not-checked"), REGION, "iam")
        user = f"fastsig-{uuid.uuid4().hex[:8]}"
        r = query_call(anyone, endpoint, {"Action": "CreateUser", "UserName": user,
                                          "Version": "2010-05-08"})
        assert r.status_code == 200, r.text
        r = query_call(anyone, endpoint, {"Action": "PutUserPolicy", "UserName": user,
                                          "PolicyName": "all", "PolicyDocument": ALLOW_ALL,
                                          "Version": "2010-05-08"})
        assert r.status_code == 200, r.text
        r = query_call(anyone, endpoint, {"Action": "CreateAccessKey", "UserName": user,
                                          "Version": "2010-05-08"})
        assert r.status_code == 200, r.text
        creds = Credentials(tag(r.text, "AccessKeyId"), tag(r.text, "SecretAccessKey"))
        yield endpoint, creds
    finally:
        server.stop()




def create_role(endpoint: str, creds: Credentials) -> str:
    """A role anyone may assume, allowed everything; returns its ARN."""
    iam = Signer(creds, REGION, "iam")
    role = f"role-{uuid.uuid4().hex[:8]}"
    r = query_call(iam, endpoint, {"Action": "CreateRole", "RoleName": role,
                                   "AssumeRolePolicyDocument": TRUST, "Version": "2010-05-08"})
    assert r.status_code == 200, r.text
    role_arn = tag(r.text, "Arn")
    r = query_call(iam, endpoint, {"Action": "PutRolePolicy", "RoleName": role,
                                   "PolicyName": "all", "PolicyDocument": ALLOW_ALL,
                                   "Version": "2010-05-08"})
    assert r.status_code == 200, r.text
    return role_arn


def start_open_moto():
    """A second moto server, in its own process, that does not enforce authentication.

    STS AssumeRoleWithWebIdentity is unsigned by design, and moto with authentication
    enforced fails with a 500 on any request without an Authorization header; its
    authentication setting is process-wide, so the open server runs in another process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(endpoint + "/moto-api/", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(10)


class Recorded:
    """What a recording moto server received and answered, one entry per request."""

    def __init__(self) -> None:
        self.calls: list = []  # (method, path, headers dict, body bytes, status, answer bytes)

    def actions(self, action: str) -> list:
        return [call for call in self.calls if f"Action={action}".encode() in call[3]]


def start_recording_moto(recorded: Recorded):
    """Another moto server in this process (same backends, same authentication setting as
    ``start_moto``'s) whose WSGI app is wrapped to record each request and its answer."""
    import io
    import threading

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)

    def recording(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        status = []

        def start(line, response_headers, exc_info=None):
            status.append(int(line.split()[0]))
            return start_response(line, response_headers, exc_info)

        answer = b"".join(app(environ, start))
        recorded.calls.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), headers,
                               body, status[0] if status else None, answer))
        return [answer]

    server = make_server("127.0.0.1", 0, recording, True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(10)
