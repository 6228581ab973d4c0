"""Presign, header signing and payload hashing, fastsig (both backends) against its peers."""

from __future__ import annotations

import datetime
import hashlib
import json
import threading

import pytest

from fastsig import Credentials, Signer, _backend
from yardstick import YardstickPresigner

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
AMZ_DATE = "20150830T123600Z"
WHEN = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.timezone.utc)
BUCKET_HOST = "examplebucket.s3.us-east-1.amazonaws.com"
BODY = json.dumps({"TableName": "Music", "Key": {"Artist": {"S": "No One You Know"}}}).encode()
BODY = (BODY + b" " * 100)[:100]
DDB_URL = "https://dynamodb.us-east-1.amazonaws.com/"
DDB_HEADERS = {"Content-Type": "application/x-amz-json-1.0",
               "X-Amz-Target": "DynamoDB_20120810.GetItem"}
BACKENDS = sorted(_backend.available)


def _fastsig_signer(backend, service):
    # Signers read their kernels when built: build one per backend.
    saved = _backend.kernels
    _backend.kernels = _backend.available[backend]
    try:
        return Signer(Credentials(ACCESS_KEY, SECRET_KEY), REGION, service)
    finally:
        _backend.kernels = saved


@pytest.fixture(scope="module")
def urls(keys):
    return [f"https://{BUCKET_HOST}/{k}" for k in keys]


# -- presign ----------------------------------------------------------------------------------


@pytest.mark.benchmark(group="presign S3 GET")
def test_presign_yardstick(benchmark, batch, urls):
    y = YardstickPresigner(ACCESS_KEY, SECRET_KEY, REGION, "s3", AMZ_DATE)
    batch(benchmark, lambda: [y.presign(u) for u in urls], "yardstick")


@pytest.mark.benchmark(group="presign S3 GET")
@pytest.mark.parametrize("backend", BACKENDS)
def test_presign_fastsig(benchmark, batch, urls, backend):
    signer = _fastsig_signer(backend, "s3")
    presign = signer.presign  # signing "now", as callers do
    batch(benchmark, lambda: [presign("GET", u) for u in urls],
          f"fastsig presign ({backend})")


@pytest.mark.benchmark(group="presign S3 GET")
@pytest.mark.parametrize("backend", BACKENDS)
def test_presign_many_fastsig(benchmark, batch, urls, backend):
    signer = _fastsig_signer(backend, "s3")
    batch(benchmark, lambda: signer.presign_many("GET", urls),
          f"fastsig presign_many ({backend})")


@pytest.mark.benchmark(group="presign S3 GET")
def test_presign_botocore_query_auth(benchmark, batch, urls):
    botocore_auth = pytest.importorskip("botocore.auth")
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    auth = botocore_auth.S3SigV4QueryAuth(BotoCredentials(ACCESS_KEY, SECRET_KEY), "s3", REGION,
                                          expires=3600)

    def run():
        out = []
        for u in urls:
            request = AWSRequest(method="GET", url=u)
            auth.add_auth(request)
            out.append(request.url)
        return out

    batch(benchmark, run, "botocore S3SigV4QueryAuth")


@pytest.mark.benchmark(group="presign S3 GET")
def test_presign_botocore_client(benchmark, batch, keys):
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    client = boto3.client("s3", region_name=REGION, aws_access_key_id=ACCESS_KEY,
                          aws_secret_access_key=SECRET_KEY,
                          config=Config(signature_version="s3v4"))
    few = keys[:200]  # slow: a smaller batch keeps the run short
    batch(benchmark, lambda: [client.generate_presigned_url(
        "get_object", Params={"Bucket": "examplebucket", "Key": k}, ExpiresIn=3600) for k in few],
        "botocore client generate_presigned_url", items=len(few), rounds=5)


@pytest.mark.benchmark(group="presign S3 GET")
def test_presign_awscrt(benchmark, batch, keys):
    auth = pytest.importorskip("awscrt.auth")
    from awscrt import http
    from urllib.parse import quote

    config = auth.AwsSigningConfig(
        algorithm=auth.AwsSigningAlgorithm.V4,
        signature_type=auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS,
        credentials_provider=auth.AwsCredentialsProvider.new_static(ACCESS_KEY, SECRET_KEY),
        region=REGION, service="s3", date=WHEN, use_double_uri_encode=False,
        should_normalize_uri_path=False, signed_body_value="UNSIGNED-PAYLOAD",
        expiration_in_seconds=3600,
    )
    headers = [("Host", BUCKET_HOST)]

    def run():
        out = []
        for k in keys:
            request = http.HttpRequest("GET", "/" + quote(k), http.HttpHeaders(headers))
            signed = auth.aws_sign_request(request, config).result()
            out.append(f"https://{BUCKET_HOST}{signed.path}")
        return out

    batch(benchmark, run, "awscrt aws_sign_request")


# -- header signing ---------------------------------------------------------------------------


@pytest.mark.benchmark(group="sign DynamoDB POST (100-byte body)")
def test_sign_yardstick(benchmark, batch):
    y = YardstickPresigner(ACCESS_KEY, SECRET_KEY, REGION, "dynamodb", AMZ_DATE)
    host = "dynamodb.us-east-1.amazonaws.com"
    batch(benchmark, lambda: [y.sign_headers(BODY, "DynamoDB_20120810.GetItem", host)
                              for _ in range(2000)], "yardstick")


@pytest.mark.benchmark(group="sign DynamoDB POST (100-byte body)")
@pytest.mark.parametrize("backend", BACKENDS)
def test_sign_fastsig(benchmark, batch, backend):
    signer = _fastsig_signer(backend, "dynamodb")
    sign = signer.sign
    batch(benchmark, lambda: [sign("POST", DDB_URL, DDB_HEADERS, BODY) for _ in range(2000)],
          f"fastsig sign ({backend})")


@pytest.mark.benchmark(group="sign DynamoDB POST (100-byte body)")
def test_sign_botocore(benchmark, batch):
    botocore_auth = pytest.importorskip("botocore.auth")
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    auth = botocore_auth.SigV4Auth(BotoCredentials(ACCESS_KEY, SECRET_KEY), "dynamodb", REGION)

    def run():
        for _ in range(2000):
            request = AWSRequest(method="POST", url=DDB_URL, data=BODY, headers=dict(DDB_HEADERS))
            auth.add_auth(request)

    batch(benchmark, run, "botocore SigV4Auth")


@pytest.mark.benchmark(group="sign DynamoDB POST (100-byte body)")
def test_sign_requests_aws4auth(benchmark, batch):
    aws4auth = pytest.importorskip("requests_aws4auth")
    requests = pytest.importorskip("requests")

    auth = aws4auth.AWS4Auth(ACCESS_KEY, SECRET_KEY, REGION, "dynamodb")
    prepared = requests.Request("POST", DDB_URL, data=BODY, headers=DDB_HEADERS).prepare()

    def run():
        for _ in range(2000):
            auth(prepared.copy())

    batch(benchmark, run, "requests-aws4auth")


@pytest.mark.benchmark(group="sign DynamoDB POST (100-byte body)")
def test_sign_awscrt(benchmark, batch):
    auth = pytest.importorskip("awscrt.auth")
    from awscrt import http

    config = auth.AwsSigningConfig(
        algorithm=auth.AwsSigningAlgorithm.V4,
        signature_type=auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
        credentials_provider=auth.AwsCredentialsProvider.new_static(ACCESS_KEY, SECRET_KEY),
        region=REGION, service="dynamodb", date=WHEN,
        signed_body_value=hashlib.sha256(BODY).hexdigest(),
    )
    headers = [("Host", "dynamodb.us-east-1.amazonaws.com")] + list(DDB_HEADERS.items())

    def run():
        for _ in range(2000):
            request = http.HttpRequest("POST", "/", http.HttpHeaders(headers))
            auth.aws_sign_request(request, config).result()

    batch(benchmark, run, "awscrt aws_sign_request")


# -- payload hashing --------------------------------------------------------------------------

PAYLOAD = bytes(range(256)) * (64 * 4096)  # 64 MiB


@pytest.mark.benchmark(group="payload SHA-256, 64 MiB")
def test_hash_hashlib(benchmark, batch):
    batch(benchmark, lambda: hashlib.sha256(PAYLOAD).hexdigest(), "hashlib.sha256",
          items=len(PAYLOAD), unit="bytes/s", rounds=5)


@pytest.mark.benchmark(group="payload SHA-256, 64 MiB")
@pytest.mark.parametrize("backend", BACKENDS)
def test_hash_fastsig(benchmark, batch, backend):
    kernels = _backend.available[backend]
    batch(benchmark, lambda: kernels.sha256_hex(PAYLOAD), f"fastsig sha256_hex ({backend})",
          items=len(PAYLOAD), unit="bytes/s", rounds=5)


@pytest.mark.benchmark(group="payload SHA-256, 64 MiB")
@pytest.mark.parametrize("backend", BACKENDS)
def test_hash_fastsig_two_threads(benchmark, batch, backend):
    kernels = _backend.available[backend]

    def run():
        threads = [threading.Thread(target=kernels.sha256_hex, args=(PAYLOAD,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    batch(benchmark, run, f"fastsig sha256_hex, 2 threads ({backend})",
          items=2 * len(PAYLOAD), unit="bytes/s", rounds=5)
