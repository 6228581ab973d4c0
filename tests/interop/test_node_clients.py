"""JavaScript clients (Node, packages from npm cached by tests/interop/install.py) against the
middlewares: the AWS SDK v3 (``@aws-sdk/client-s3``), ``@smithy/signature-v4`` (the SDK's
signer, used alone) and ``aws4`` (header-signed and presigned). Each test runs one node process
for all of a client's calls (tests/interop/node_client.mjs)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest

from .clients import TAMPERED, payload
from .conftest import KEY_ID, KEYS, SECRET, Server, Tls

SCRIPT = Path(__file__).with_name("node_client.mjs")
CLIENTS = ["sdk", "smithy", "aws4", "aws4-presign"]


def node_calls(node: Dict[str, str], tls: Tls, client: str, endpoint: str, bucket: str,
               calls: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    spec = {"client": client, "endpoint": endpoint, "keyId": KEY_ID, "secret": SECRET,
            "bucket": bucket, "calls": calls}
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(tls.ca),
           "FASTSIG_NODE_MODULES": node["node_modules"]}
    done = subprocess.run([node["node"], str(SCRIPT), json.dumps(spec)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("client", CLIENTS)
def test_keys(node_clients: Dict[str, str], server: Server, bucket: str, tls: Tls, client: str) -> None:
    contents = {key: payload(1200, client + key) for key in KEYS.values()}
    calls: List[Dict[str, Any]] = []
    for key, data in contents.items():
        calls += [{"op": "put", "key": key, "data": base64.b64encode(data).decode()},
                  {"op": "get", "key": key}]
    calls.append({"op": "list", "prefix": "dir one/"})
    results = node_calls(node_clients, tls, client, server.url, bucket, calls)
    for i, (key, data) in enumerate(contents.items()):
        put, get = results[2 * i], results[2 * i + 1]
        assert (put["status"], put.get("code")) == (200, None), (key, put)
        assert server.object(bucket, key) == data, key
        assert base64.b64decode(get["data"]) == data, (key, get)
    assert results[-1]["keys"] == [KEYS["mixed"]] or client != "sdk"


# A presigned request has no X-Amz-Date header (its date is in the query): no header case.
@pytest.mark.parametrize("client,mode", [(c, m) for c in CLIENTS for m in ("path", "query", "header")
                                         if (c, m) != ("aws4-presign", "header")])
def test_tampered(node_clients: Dict[str, str], server: Server, bucket: str, tls: Tls, client: str,
                  mode: str) -> None:
    server.put_object(bucket, KEYS["mixed"], b"x")
    server.proxy.arm(mode, "GET")
    call = {"op": "list", "prefix": "dir"} if mode == "query" and client != "aws4-presign" \
        else {"op": "get", "key": KEYS["mixed"]}
    result, = node_calls(node_clients, tls, client, server.proxy_url, bucket, [call])
    assert server.proxy.tampered
    assert (result["status"], result.get("code")) == TAMPERED[mode], result
