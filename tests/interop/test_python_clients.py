"""In-process Python clients other than boto3 against the middlewares: minio-py,
requests-aws4auth and aws-requests-auth (with requests).

Requests AWS itself refuses are refused too: tests/interop/README.md lists them with the
evidence.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

import pytest

from .clients import TAMPERED, payload
from .conftest import KEY_ID, KEYS, SECRET, Server, Tls, new_bucket

requests = pytest.importorskip("requests")


# -- minio-py --------------------------------------------------------------------------------

def minio_client(server: Server, tls: Tls, proxy: bool = False) -> Any:
    import urllib3
    from minio import Minio

    port = server.proxy.port if proxy else server.port
    pool = urllib3.PoolManager(ca_certs=str(tls.ca), retries=False, timeout=60)
    return Minio(f"127.0.0.1:{port}", access_key=KEY_ID, secret_key=SECRET, secure=server.tls,
                 region="us-east-1", http_client=pool)


def test_minio_keys(server: Server, tls: Tls, bucket: str) -> None:
    import urllib3

    client = minio_client(server, tls)
    contents = {key: payload(1500, key) for key in KEYS.values()}
    for key, data in contents.items():
        client.put_object(bucket, key, io.BytesIO(data), len(data))
        assert server.object(bucket, key) == data, key
        response = client.get_object(bucket, key)
        assert response.read() == data, key
        response.release_conn()
        assert client.stat_object(bucket, key).size == len(data)
    listed = {o.object_name for o in client.list_objects(bucket, recursive=True)}
    assert listed == set(contents)
    pool = urllib3.PoolManager(ca_certs=str(tls.ca))
    url = client.presigned_get_object(bucket, KEYS["mixed"])
    assert pool.request("GET", url).data == contents[KEYS["mixed"]]
    client.remove_object(bucket, KEYS["mixed"])
    assert server.object(bucket, KEYS["mixed"]) is None


@pytest.mark.parametrize("mode", ["path", "header"])
def test_minio_tampered(server: Server, tls: Tls, bucket: str, mode: str) -> None:
    from minio.error import S3Error

    server.put_object(bucket, KEYS["mixed"], b"x")
    server.proxy.arm(mode, "GET")
    with pytest.raises(S3Error) as caught:
        minio_client(server, tls, proxy=True).get_object(bucket, KEYS["mixed"])
    assert (caught.value.response.status, caught.value.code) == TAMPERED[mode]


def test_minio_tampered_signed_body(http_server: Server, tls: Tls) -> None:
    # minio-py signs the payload's hash over plain HTTP.
    from minio.error import S3Error

    bucket = new_bucket(http_server)
    http_server.proxy.arm("body", "PUT")
    with pytest.raises(S3Error) as caught:
        minio_client(http_server, tls, proxy=True).put_object(bucket, "k", io.BytesIO(b"hello"), 5)
    assert (caught.value.response.status, caught.value.code) == TAMPERED["signed-body"]
    assert http_server.object(bucket, "k") is None


# -- requests-aws4auth and aws-requests-auth --------------------------------------------------

def auth_for(library: str, server: Server, service: str = "s3", proxy: bool = False) -> Any:
    if library == "requests-aws4auth":
        from requests_aws4auth import AWS4Auth

        return AWS4Auth(KEY_ID, SECRET, "us-east-1", service)
    from aws_requests_auth.aws_auth import AWSRequestsAuth

    port = server.proxy.port if proxy else server.port
    return AWSRequestsAuth(aws_access_key=KEY_ID, aws_secret_access_key=SECRET,
                           aws_host=f"127.0.0.1:{port}", aws_region="us-east-1", aws_service=service)


def error_code(response: Any) -> tuple:
    import re

    found = re.search(r"<Code>([^<]*)</Code>", response.text)
    return response.status_code, found.group(1) if found else response.text[:200]


LIBRARIES = ["requests-aws4auth", "aws-requests-auth"]


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
def test_requests_auth_keys(server: Server, tls: Tls, bucket: str, library: str, key: str) -> None:
    url = f"{server.url}/{bucket}/{quote(key)}"
    data = payload(800, key)
    verify: Any = str(tls.ca) if server.tls else True
    put = requests.put(url, data=data, auth=auth_for(library, server), verify=verify, timeout=60)
    if library == "aws-requests-auth" and quote(key) != key:
        # Signed with the path encoded twice: refused, as S3 refuses it (table above).
        assert error_code(put) == (403, "SignatureDoesNotMatch")
        assert server.object(bucket, key) is None
        return
    assert put.status_code == 200, error_code(put)
    assert server.object(bucket, key) == data
    got = requests.get(url, auth=auth_for(library, server), verify=verify, timeout=60)
    assert (got.status_code, got.content) == (200, data), error_code(got)


@pytest.mark.parametrize("library", ["requests-aws4auth"])
def test_requests_auth_dynamodb(server: Server, tls: Tls, library: str) -> None:
    # Not aws-requests-auth: it leaves X-Amz-Target unsigned (it signs host and x-amz-date
    # only), which fastsig refuses; whether DynamoDB accepts that is not documented.
    verify: Any = str(tls.ca) if server.tls else True
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    for operation, body in [("CreateTable", {"TableName": "t"}),
                            ("PutItem", {"TableName": "t", "Item": {"id": {"S": library}}})]:
        response = requests.post(server.url + "/", json=body, verify=verify,
                                 headers={**headers, "X-Amz-Target": f"DynamoDB_20120810.{operation}"},
                                 auth=auth_for(library, server, "dynamodb"), timeout=60)
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("mode", ["path", "header", "signed-body"])
def test_requests_auth_tampered(server: Server, tls: Tls, bucket: str, library: str, mode: str) -> None:
    server.proxy.arm("body" if mode == "signed-body" else mode, "PUT")
    verify: Any = str(tls.ca) if server.tls else True
    response = requests.put(f"{server.proxy_url}/{bucket}/Key.txt", data=b"hello", verify=verify,
                            auth=auth_for(library, server, proxy=True), timeout=60)
    assert server.proxy.tampered
    assert error_code(response) == TAMPERED[mode]
    assert server.object(bucket, "Key.txt") is None and server.object(bucket, "key.txt") is None
