"""A real server checks fastsig's signatures: moto on 127.0.0.1 with authentication enforced.

Set-up uses moto's three unauthenticated actions (create an IAM user, give it an allow-all
policy, create its access key); every later call is checked. All requests are signed by
fastsig and sent with ``requests``.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest

from fastsig import Credentials, Signer

requests = pytest.importorskip("requests")
pytest.importorskip("moto.server")

from .moto_helpers import REGION, create_role, query_call, send, tag  # noqa: E402

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def session_credentials(moto):
    endpoint, creds = moto
    role_arn = create_role(endpoint, creds)
    r = query_call(Signer(creds, REGION, "sts"), endpoint,
                   {"Action": "AssumeRole", "RoleArn": role_arn, "RoleSessionName": "fastsig",
                    "Version": "2011-06-15"})
    assert r.status_code == 200, r.text
    return Credentials(tag(r.text, "AccessKeyId"), tag(r.text, "SecretAccessKey"),
                       tag(r.text, "SessionToken"))


@pytest.fixture(params=["long-term", "assume-role"])
def creds(request, moto, session_credentials):
    return moto[1] if request.param == "long-term" else session_credentials


def test_sts_get_caller_identity(moto, creds):
    endpoint = moto[0]
    r = query_call(Signer(creds, REGION, "sts"), endpoint,
                   {"Action": "GetCallerIdentity", "Version": "2011-06-15"})
    assert r.status_code == 200, r.text
    assert "<Arn>" in r.text


def test_sqs(moto, creds):
    endpoint = moto[0]
    sqs = Signer(creds, REGION, "sqs")
    name = f"q-{uuid.uuid4().hex[:8]}"
    r = query_call(sqs, endpoint, {"Action": "CreateQueue", "QueueName": name,
                                   "Version": "2012-11-05"})
    assert r.status_code == 200, r.text
    r = query_call(sqs, endpoint, {"Action": "ListQueues", "Version": "2012-11-05"})
    assert r.status_code == 200 and name in r.text, r.text


def test_dynamodb_json(moto, creds):
    endpoint = moto[0]
    ddb = Signer(creds, REGION, "dynamodb")
    table = f"t-{uuid.uuid4().hex[:8]}"
    body = json.dumps({
        "TableName": table,
        "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0",
               "X-Amz-Target": "DynamoDB_20120810.CreateTable"}
    r = send(ddb, "POST", endpoint + "/", headers, body)
    assert r.status_code == 200, r.text
    headers["X-Amz-Target"] = "DynamoDB_20120810.ListTables"
    r = send(ddb, "POST", endpoint + "/", headers, b"{}")
    assert r.status_code == 200 and table in r.text, r.text


def test_s3_put_and_get_keys_with_spaces(moto, creds):
    endpoint = moto[0]
    s3 = Signer(creds, REGION, "s3")
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    r = send(s3, "PUT", f"{endpoint}/{bucket}")
    assert r.status_code == 200, r.text
    for key, data in [("plain.txt", b"hello"), ("photos/my file 2024.txt", "☃ data".encode()),
                      ("~user/a  b/c", bytes(range(256)) * 100), ("empty", b"")]:
        r = send(s3, "PUT", f"{endpoint}/{bucket}/{quote(key)}",
                 {"Content-Type": "application/octet-stream"}, data)
        assert r.status_code == 200, (key, r.text)
        r = send(s3, "GET", f"{endpoint}/{bucket}/{quote(key)}")
        assert r.status_code == 200 and r.content == data, (key, r.text)


def test_s3_keys_moto_cannot_check_are_treated_like_boto3(moto):
    # moto checks S3 signatures against the decoded path, so it rejects boto3's own requests
    # for keys with non-ASCII characters, "+", "%" or "&". fastsig must get the same answer as
    # boto3 for each key: what moto accepts from one it accepts from the other. (Such keys are
    # covered by the official suite and the botocore/awscrt parity tests.)
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    endpoint, creds = moto
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id=creds.access_key_id, aws_secret_access_key=creds.secret_access_key,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    s3 = Signer(creds, REGION, "s3")
    for key in ["ሴ.txt", "a+b.txt", "50%.txt", "a&b=c", "a b.txt"]:
        try:
            client.put_object(Bucket=bucket, Key=key, Body=b"x")
            boto3_status = 200
        except client.exceptions.ClientError as exc:
            boto3_status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
        r = send(s3, "PUT", f"{endpoint}/{bucket}/{quote(key)}", None, b"x")
        assert r.status_code == boto3_status, key


def _assert_signature_mismatch(r):
    assert r.status_code == 403, r.text
    assert "SignatureDoesNotMatch" in r.text, r.text


def test_tampered_requests_are_rejected(moto, creds):
    endpoint = moto[0]
    sts = Signer(creds, REGION, "sts")
    body = "Action=GetCallerIdentity&Version=2011-06-15"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Custom": "value"}

    signed = sts.sign("POST", endpoint + "/", headers, body)
    ok = requests.post(signed.url, headers=signed.headers, data=body, timeout=30)
    assert ok.status_code == 200, ok.text

    # One changed byte in the signature.
    bad = dict(signed.headers)
    sig = signed.signature
    bad["Authorization"] = bad["Authorization"].replace(sig, sig[:-1] + ("0" if sig[-1] != "0" else "1"))
    _assert_signature_mismatch(requests.post(signed.url, headers=bad, data=body, timeout=30))

    # One changed byte in a signed header.
    bad = dict(signed.headers, **{"X-Custom": "valuf"})
    _assert_signature_mismatch(requests.post(signed.url, headers=bad, data=body, timeout=30))

    # One changed byte in the secret.
    wrong = Credentials(creds.access_key_id, creds.secret_access_key[:-1] + "x"
                        if creds.secret_access_key[-1] != "x" else creds.secret_access_key[:-1] + "y",
                        creds.session_token)
    signed = Signer(wrong, REGION, "sts").sign("POST", endpoint + "/", headers, body)
    _assert_signature_mismatch(requests.post(signed.url, headers=signed.headers, data=body,
                                             timeout=30))
