"""Every contender as a factory: ``make() -> (run, items)``, where ``run()`` signs one batch.

Used by the pytest-benchmark tests and by ``interleaved.py``, so both measure the same code.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import threading
from typing import Callable, Dict, List, Tuple
from urllib.parse import quote

from fastsig import Credentials, Signer, Verifier, _backend
from .yardstick import YardstickPresigner

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
AMZ_DATE = "20150830T123600Z"
WHEN = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.timezone.utc)
BUCKET_HOST = "examplebucket.s3.us-east-1.amazonaws.com"
BATCH = 2000
KEYS = [f"photos/2024/img {i:07d}.jpg" for i in range(BATCH)]  # distinct keys
URLS = [f"https://{BUCKET_HOST}/{k}" for k in KEYS]
BODY = (json.dumps({"TableName": "Music", "Key": {"Artist": {"S": "No One"}}}).encode()
        + b" " * 100)[:100]
DDB_HOST = "dynamodb.us-east-1.amazonaws.com"
DDB_URL = f"https://{DDB_HOST}/"
DDB_HEADERS = {"Content-Type": "application/x-amz-json-1.0",
               "X-Amz-Target": "DynamoDB_20120810.GetItem"}
PAYLOAD_SIZE = 64 * 1024 * 1024
BACKENDS = sorted(_backend.available)

Factory = Callable[[], Tuple[Callable[[], object], int]]


def fastsig_signer(backend: str, service: str) -> Signer:
    with _backend.using(backend):
        return Signer(Credentials(ACCESS_KEY, SECRET_KEY), REGION, service)


# -- presign ----------------------------------------------------------------------------------

def presign_yardstick():
    y = YardstickPresigner(ACCESS_KEY, SECRET_KEY, REGION, "s3", AMZ_DATE)
    return (lambda: [y.presign(u) for u in URLS]), BATCH


def presign_fastsig(backend):
    def make():
        presign = fastsig_signer(backend, "s3").presign  # signing "now", as callers do
        return (lambda: [presign("GET", u) for u in URLS]), BATCH
    return make


def presign_many_fastsig(backend):
    def make():
        signer = fastsig_signer(backend, "s3")
        return (lambda: signer.presign_many("GET", URLS)), BATCH
    return make


def presign_botocore_query_auth():
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    auth = S3SigV4QueryAuth(BotoCredentials(ACCESS_KEY, SECRET_KEY), "s3", REGION, expires=3600)

    def run():
        out = []
        for u in URLS:
            request = AWSRequest(method="GET", url=u)
            auth.add_auth(request)
            out.append(request.url)
        return out

    return run, BATCH


def presign_botocore_client():
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", region_name=REGION, aws_access_key_id=ACCESS_KEY,
                          aws_secret_access_key=SECRET_KEY,
                          config=Config(signature_version="s3v4"))
    few = KEYS[:200]  # slow: a smaller batch keeps the run short
    return (lambda: [client.generate_presigned_url(
        "get_object", Params={"Bucket": "examplebucket", "Key": k}, ExpiresIn=3600)
        for k in few]), len(few)


def presign_awscrt():
    from awscrt import auth, http

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
        for k in KEYS:
            request = http.HttpRequest("GET", "/" + quote(k), http.HttpHeaders(headers))
            signed = auth.aws_sign_request(request, config).result()
            out.append(f"https://{BUCKET_HOST}{signed.path}")
        return out

    return run, BATCH


# -- header signing ---------------------------------------------------------------------------

def sign_yardstick():
    y = YardstickPresigner(ACCESS_KEY, SECRET_KEY, REGION, "dynamodb", AMZ_DATE)
    return (lambda: [y.sign_headers(BODY, "DynamoDB_20120810.GetItem", DDB_HOST)
                     for _ in range(BATCH)]), BATCH


def sign_fastsig(backend):
    def make():
        sign = fastsig_signer(backend, "dynamodb").sign
        return (lambda: [sign("POST", DDB_URL, DDB_HEADERS, BODY) for _ in range(BATCH)]), BATCH
    return make


def sign_botocore():
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    auth = SigV4Auth(BotoCredentials(ACCESS_KEY, SECRET_KEY), "dynamodb", REGION)

    def run():
        for _ in range(BATCH):
            request = AWSRequest(method="POST", url=DDB_URL, data=BODY, headers=dict(DDB_HEADERS))
            auth.add_auth(request)

    return run, BATCH


def sign_requests_aws4auth():
    import requests
    from requests_aws4auth import AWS4Auth

    auth = AWS4Auth(ACCESS_KEY, SECRET_KEY, REGION, "dynamodb")
    prepared = requests.Request("POST", DDB_URL, data=BODY, headers=DDB_HEADERS).prepare()

    def run():
        for _ in range(BATCH):
            auth(prepared.copy())

    return run, BATCH


def sign_awscrt():
    from awscrt import auth, http

    config = auth.AwsSigningConfig(
        algorithm=auth.AwsSigningAlgorithm.V4,
        signature_type=auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
        credentials_provider=auth.AwsCredentialsProvider.new_static(ACCESS_KEY, SECRET_KEY),
        region=REGION, service="dynamodb", date=WHEN,
        signed_body_value=hashlib.sha256(BODY).hexdigest(),
    )
    headers = [("Host", DDB_HOST)] + list(DDB_HEADERS.items())

    def run():
        for _ in range(BATCH):
            request = http.HttpRequest("POST", "/", http.HttpHeaders(headers))
            auth.aws_sign_request(request, config).result()

    return run, BATCH


# -- verification -----------------------------------------------------------------------------

def verify_fastsig(backend):
    def make():
        creds = Credentials(ACCESS_KEY, SECRET_KEY)
        urls = fastsig_signer(backend, "s3").presign_many("GET", URLS)  # signed now, valid 1 h
        verify = Verifier({ACCESS_KEY: creds}.get).verify

        def run():
            with _backend.using(backend):  # a verifier uses the kernels in use when it runs
                return [verify("GET", u) for u in urls]

        return run, BATCH
    return make


# -- payload hashing --------------------------------------------------------------------------

def _payload() -> bytes:
    return bytes(range(256)) * (PAYLOAD_SIZE // 256)  # made when hashing is measured


def hash_hashlib():
    payload = _payload()
    return (lambda: hashlib.sha256(payload).hexdigest()), len(payload)


def hash_fastsig(backend):
    def make():
        kernels = _backend.available[backend]
        payload = _payload()
        return (lambda: kernels.sha256_hex(payload)), len(payload)
    return make


def hash_fastsig_two_threads(backend):
    def make():
        kernels = _backend.available[backend]
        payload = _payload()

        def run():
            threads = [threading.Thread(target=kernels.sha256_hex, args=(payload,))
                       for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        return run, 2 * len(payload)
    return make


# group -> [(contender name, factory, unit)]; the first of each group is its baseline.
GROUPS: Dict[str, List[Tuple[str, Factory, str]]] = {
    "presign S3 GET": [
        ("yardstick", presign_yardstick, "URLs/s"),
        *[(f"fastsig presign ({b})", presign_fastsig(b), "URLs/s") for b in BACKENDS],
        *[(f"fastsig presign_many ({b})", presign_many_fastsig(b), "URLs/s") for b in BACKENDS],
        ("botocore S3SigV4QueryAuth", presign_botocore_query_auth, "URLs/s"),
        ("botocore client generate_presigned_url", presign_botocore_client, "URLs/s"),
        ("awscrt aws_sign_request", presign_awscrt, "URLs/s"),
    ],
    "sign DynamoDB POST (100-byte body)": [
        ("yardstick", sign_yardstick, "signatures/s"),
        *[(f"fastsig sign ({b})", sign_fastsig(b), "signatures/s") for b in BACKENDS],
        ("botocore SigV4Auth", sign_botocore, "signatures/s"),
        ("requests-aws4auth", sign_requests_aws4auth, "signatures/s"),
        ("awscrt aws_sign_request", sign_awscrt, "signatures/s"),
    ],
    "verify presigned S3 GET": [
        ("yardstick (presign)", presign_yardstick, "URLs/s"),
        *[(f"fastsig Verifier.verify ({b})", verify_fastsig(b), "URLs/s") for b in BACKENDS],
    ],
    "payload SHA-256, 64 MiB": [
        ("hashlib.sha256", hash_hashlib, "bytes/s"),
        *[(f"fastsig sha256_hex ({b})", hash_fastsig(b), "bytes/s") for b in BACKENDS],
        *[(f"fastsig sha256_hex, 2 threads ({b})", hash_fastsig_two_threads(b), "bytes/s")
          for b in BACKENDS],
    ],
}
