"""Every contender as a factory: ``make(batch) -> (run, items)``, where ``run()`` signs (or
verifies) one batch of distinct inputs and returns the results, which the runner keeps until the
round ends, as a caller keeping its URLs would.

The inputs are what callers send: distinct keys with an odd one (``%``, ``+``, ``#``, ``?``,
runs of spaces, CJK, emoji) in every thousand, an explicit ``datetime`` timestamp as botocore
passes one (and "now" beside it), distinct JSON bodies, and for verification the header dict a
server hands over (Host, User-Agent, Accept, X-Forwarded-For and the signed headers).

Used by ``interleaved.py`` (``fastsig bench``) and the pytest-benchmark tests in benchmarks/, so
both measure the same code.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import threading
from typing import Any, Callable, Dict, List, Tuple
from urllib.parse import quote

from fastsig import Credentials, Signer, Verifier, _backend

from .yardstick import YardstickPresigner

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
WHEN = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.timezone.utc)
AMZ_DATE = WHEN.strftime("%Y%m%dT%H%M%SZ")
CLOCK = WHEN.timestamp() + 60  # the verifiers' "now": a minute after signing
BUCKET_HOST = "examplebucket.s3.us-east-1.amazonaws.com"
DDB_HOST = "dynamodb.us-east-1.amazonaws.com"
DDB_URL = f"https://{DDB_HOST}/"
DDB_TARGET = "DynamoDB_20120810.GetItem"
DDB_HEADERS = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": DDB_TARGET}
# What a server's request object holds beside the signed headers.
CLIENT_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/126.0 Safari/537.36",
    "Accept": "*/*",
    "X-Forwarded-For": "203.0.113.7, 198.51.100.23",
}
PAYLOAD_SIZE = 64 * 1024 * 1024
BACKENDS = sorted(_backend.available)
# Peers too slow for a 50,000-item batch in every round sign fewer: their rate per item is
# no worse for it (smaller batches flatter them, if anything), and the run stays minutes long.
PEER_BATCH = 10_000
SLOW_PEER_BATCH = 2_000

# One odd key in every thousand, as in real inventories.
ODD_KEYS = ["reports/100% done.csv", "a+b/c+d.txt", "tags/#1 pick.png", "q/what? why.txt",
            "two  spaces/and   three.txt", "日本語/ファイル 名.txt", "emoji/😀 party 🎉.jpg",
            "mixed/ü~é=ß&x.bin"]

Factory = Callable[[int], Tuple[Callable[[], Any], int]]


def keys(batch: int) -> List[str]:
    return [ODD_KEYS[(i // 1000) % len(ODD_KEYS)] + f" {i}" if i % 1000 == 999
            else f"photos/2024/img {i:07d}.jpg" for i in range(batch)]


def urls(batch: int) -> List[str]:
    """Request targets as sent: each key percent-encoded once (S3's rule)."""
    return [f"https://{BUCKET_HOST}/{quote(k, safe='/~')}" for k in keys(batch)]


def bodies(batch: int) -> List[bytes]:
    """Distinct 100-byte DynamoDB GetItem bodies."""
    return [json.dumps({"TableName": "Music", "Key": {"Artist": {"S": f"No One {i:09d}"}}})
            .encode().ljust(100) for i in range(batch)]


def fastsig_signer(backend: str, service: str) -> Signer:
    with _backend.using(backend):
        return Signer(Credentials(ACCESS_KEY, SECRET_KEY), REGION, service)


def fastsig_verifier(backend: str) -> Verifier:
    with _backend.using(backend):
        return Verifier({ACCESS_KEY: Credentials(ACCESS_KEY, SECRET_KEY)}.get,
                        clock=lambda: CLOCK)


def _with(backend: str, run: Callable[[], Any]) -> Callable[[], Any]:
    """``run`` with ``backend``'s kernels in use (a verifier reads them when it runs)."""
    def in_backend() -> Any:
        with _backend.using(backend):
            return run()
    return in_backend


# -- presign ----------------------------------------------------------------------------------

def presign_yardstick(batch: int):
    y = YardstickPresigner(ACCESS_KEY, SECRET_KEY, REGION, "s3", AMZ_DATE)
    raw = [f"https://{BUCKET_HOST}/{k}" for k in keys(batch)]  # it encodes the key itself
    return (lambda: [y.presign(u) for u in raw]), batch


def presign_fastsig(backend: str, timestamp: bool):
    def make(batch: int):
        presign = fastsig_signer(backend, "s3").presign
        targets = urls(batch)
        if timestamp:
            return (lambda: [presign("GET", u, timestamp=WHEN) for u in targets]), batch
        return (lambda: [presign("GET", u) for u in targets]), batch
    return make


def presign_many_fastsig(backend: str):
    def make(batch: int):
        signer = fastsig_signer(backend, "s3")
        targets = urls(batch)
        return (lambda: signer.presign_many("GET", targets, timestamp=WHEN)), batch
    return make


def presign_botocore_query_auth(batch: int):
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    auth = S3SigV4QueryAuth(BotoCredentials(ACCESS_KEY, SECRET_KEY), "s3", REGION, expires=3600)
    batch = min(batch, PEER_BATCH)
    targets = urls(batch)

    def run():
        out = []
        for u in targets:
            request = AWSRequest(method="GET", url=u)
            auth.add_auth(request)
            out.append(request.url)
        return out

    return run, batch


def presign_botocore_client(batch: int):
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", region_name=REGION, aws_access_key_id=ACCESS_KEY,
                          aws_secret_access_key=SECRET_KEY,
                          config=Config(signature_version="s3v4"))
    few = keys(min(batch, SLOW_PEER_BATCH))
    return (lambda: [client.generate_presigned_url(
        "get_object", Params={"Bucket": "examplebucket", "Key": k}, ExpiresIn=3600)
        for k in few]), len(few)


def presign_awscrt(batch: int):
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
    paths = ["/" + quote(k, safe="/~") for k in keys(batch)]

    def run():
        out = []
        for path in paths:
            request = http.HttpRequest("GET", path, http.HttpHeaders(headers))
            signed = auth.aws_sign_request(request, config).result()
            out.append(f"https://{BUCKET_HOST}{signed.path}")
        return out

    return run, batch


# -- header signing ---------------------------------------------------------------------------

def sign_yardstick(batch: int):
    y = YardstickPresigner(ACCESS_KEY, SECRET_KEY, REGION, "dynamodb", AMZ_DATE)
    payloads = bodies(batch)
    return (lambda: [y.sign_headers(b, DDB_TARGET, DDB_HOST) for b in payloads]), batch


def sign_fastsig(backend: str, timestamp: bool):
    def make(batch: int):
        sign = fastsig_signer(backend, "dynamodb").sign
        payloads = bodies(batch)
        if timestamp:
            return (lambda: [sign("POST", DDB_URL, DDB_HEADERS, b, timestamp=WHEN)
                             for b in payloads]), batch
        return (lambda: [sign("POST", DDB_URL, DDB_HEADERS, b) for b in payloads]), batch
    return make


def sign_botocore(batch: int):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    auth = SigV4Auth(BotoCredentials(ACCESS_KEY, SECRET_KEY), "dynamodb", REGION)
    payloads = bodies(min(batch, PEER_BATCH))

    def run():
        out = []
        for b in payloads:
            request = AWSRequest(method="POST", url=DDB_URL, data=b, headers=dict(DDB_HEADERS))
            auth.add_auth(request)
            out.append(request.headers)
        return out

    return run, len(payloads)


def sign_requests_aws4auth(batch: int):
    import requests
    from requests_aws4auth import AWS4Auth

    auth = AWS4Auth(ACCESS_KEY, SECRET_KEY, REGION, "dynamodb")
    prepared = [requests.Request("POST", DDB_URL, data=b, headers=DDB_HEADERS).prepare()
                for b in bodies(min(batch, PEER_BATCH))]
    return (lambda: [auth(p.copy()) for p in prepared]), len(prepared)


def sign_awscrt(batch: int):
    from awscrt import auth, http

    provider = auth.AwsCredentialsProvider.new_static(ACCESS_KEY, SECRET_KEY)
    headers = [("Host", DDB_HOST)] + list(DDB_HEADERS.items())
    payloads = bodies(batch)

    def run():
        out = []
        for b in payloads:
            # The payload hash is the caller's to give awscrt: part of the work, as for the rest.
            config = auth.AwsSigningConfig(
                algorithm=auth.AwsSigningAlgorithm.V4,
                signature_type=auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
                credentials_provider=provider, region=REGION, service="dynamodb", date=WHEN,
                signed_body_value=hashlib.sha256(b).hexdigest())
            request = http.HttpRequest("POST", "/", http.HttpHeaders(headers))
            out.append(auth.aws_sign_request(request, config).result())
        return out

    return run, batch


# -- verification -----------------------------------------------------------------------------

def verify_presigned_fastsig(backend: str, with_headers: bool):
    def make(batch: int):
        presigned = fastsig_signer(backend, "s3").presign_many("GET", urls(batch), timestamp=WHEN)
        verify = fastsig_verifier(backend).verify
        if not with_headers:
            return _with(backend, lambda: [verify("GET", u) for u in presigned]), batch
        headers = dict(CLIENT_HEADERS, Host=BUCKET_HOST)
        return _with(backend, lambda: [verify("GET", u, headers) for u in presigned]), batch
    return make


def verify_signed_fastsig(backend: str):
    def make(batch: int):
        sign = fastsig_signer(backend, "dynamodb").sign
        requests = []
        for body in bodies(batch):
            signed = sign("POST", DDB_URL, DDB_HEADERS, body, timestamp=WHEN)
            requests.append((dict(CLIENT_HEADERS, **signed.headers), body))
        verify = fastsig_verifier(backend).verify
        return _with(backend, lambda: [verify("POST", "/", h, b) for h, b in requests]), batch
    return make


# -- payload hashing --------------------------------------------------------------------------

def _payload() -> bytes:
    return bytes(range(256)) * (PAYLOAD_SIZE // 256)  # made when hashing is measured


def hash_hashlib(batch: int):
    payload = _payload()
    return (lambda: hashlib.sha256(payload).hexdigest()), len(payload)


def hash_fastsig(backend: str):
    def make(batch: int):
        kernels = _backend.available[backend]
        payload = _payload()
        return (lambda: kernels.sha256_hex(payload)), len(payload)
    return make


def hash_fastsig_two_threads(backend: str):
    def make(batch: int):
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
        *[(f"fastsig presign, datetime given ({b})", presign_fastsig(b, True), "URLs/s")
          for b in BACKENDS],
        *[(f"fastsig presign, now ({b})", presign_fastsig(b, False), "URLs/s") for b in BACKENDS],
        *[(f"fastsig presign_many ({b})", presign_many_fastsig(b), "URLs/s") for b in BACKENDS],
        ("botocore S3SigV4QueryAuth", presign_botocore_query_auth, "URLs/s"),
        ("botocore client generate_presigned_url", presign_botocore_client, "URLs/s"),
        ("awscrt aws_sign_request", presign_awscrt, "URLs/s"),
    ],
    "sign DynamoDB POST (100-byte body)": [
        ("yardstick", sign_yardstick, "signatures/s"),
        *[(f"fastsig sign, datetime given ({b})", sign_fastsig(b, True), "signatures/s")
          for b in BACKENDS],
        *[(f"fastsig sign, now ({b})", sign_fastsig(b, False), "signatures/s") for b in BACKENDS],
        ("botocore SigV4Auth", sign_botocore, "signatures/s"),
        ("requests-aws4auth", sign_requests_aws4auth, "signatures/s"),
        ("awscrt aws_sign_request", sign_awscrt, "signatures/s"),
    ],
    "verify presigned S3 GET": [
        ("yardstick (presign)", presign_yardstick, "URLs/s"),
        *[(f"fastsig verify, header dict ({b})", verify_presigned_fastsig(b, True), "URLs/s")
          for b in BACKENDS],
        *[(f"fastsig verify, no headers ({b})", verify_presigned_fastsig(b, False), "URLs/s")
          for b in BACKENDS],
    ],
    "verify header-signed DynamoDB POST": [
        ("yardstick (sign)", sign_yardstick, "requests/s"),
        *[(f"fastsig verify, header dict + body ({b})", verify_signed_fastsig(b), "requests/s")
          for b in BACKENDS],
    ],
    "payload SHA-256, 64 MiB": [
        ("hashlib.sha256", hash_hashlib, "bytes/s"),
        *[(f"fastsig sha256_hex ({b})", hash_fastsig(b), "bytes/s") for b in BACKENDS],
        *[(f"fastsig sha256_hex, 2 threads ({b})", hash_fastsig_two_threads(b), "bytes/s")
          for b in BACKENDS],
    ],
}
