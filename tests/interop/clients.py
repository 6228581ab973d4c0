"""What the interop tests share: expectations written once (AWS's answer to each kind of
tampering) and small helpers to read a client's error."""

from __future__ import annotations

import hashlib
import os
from typing import Any, Dict, List

import pytest

# AWS's answer when one byte of a signed request is altered after signing (the proxy's modes).
# Sources: S3 REST error responses (docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html):
# SignatureDoesNotMatch 403, XAmzContentSHA256Mismatch 400 ("The provided
# 'x-amz-content-sha256' header does not match what was computed"), BadDigest 400 (a checksum
# that does not match the body, x-amz-checksum-* or Content-MD5).
TAMPERED = {
    "path": (403, "SignatureDoesNotMatch"),
    "query": (403, "SignatureDoesNotMatch"),
    "header": (403, "SignatureDoesNotMatch"),
    "signed-body": (400, "XAmzContentSHA256Mismatch"),
    "chunk-signature": (403, "SignatureDoesNotMatch"),
    "trailer": (400, "BadDigest"),
}


def payload(size: int, seed: str = "") -> bytes:
    """``size`` bytes that differ from any other test's: a failed upload cannot pass for a good
    one."""
    block = hashlib.sha256((seed or os.urandom(8).hex()).encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def middleware_streams_aws_chunked() -> bool:
    """Whether WSGIMiddleware takes an aws-chunked upload (rather than 501 NotImplemented):
    probed in process with fastsig's own chunked signer, so that the cases waiting for it are
    strict xfails exactly while it is missing."""
    import io

    from fastsig import Credentials, Signer, Verifier
    from fastsig.middleware import WSGIMiddleware

    credentials = Credentials("AKIDPROBE", "probe-secret")
    upload = Signer(credentials, "us-east-1", "s3").sign_chunked(
        "PUT", "http://127.0.0.1/b/k", b"x" * 10, checksum="crc32", signed_chunks=False)
    body = b"".join(upload.body)
    environ: Dict[str, object] = {"REQUEST_METHOD": "PUT", "PATH_INFO": "/b/k", "QUERY_STRING": "",
                                  "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
                                  "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http"}
    for name, value in upload.headers.items() if hasattr(upload.headers, "items") else upload.headers:
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_LENGTH", "CONTENT_TYPE") else "HTTP_" + key] = value
    statuses: List[str] = []

    def app(environ: Dict[str, object], start_response: Any) -> List[bytes]:
        environ["wsgi.input"].read()  # type: ignore[attr-defined]
        start_response("200 OK", [])
        return [b""]

    middleware = WSGIMiddleware(app, Verifier({"AKIDPROBE": credentials}.get))
    b"".join(middleware(environ, lambda status, headers, *exc: statuses.append(status)))
    return not statuses[0].startswith("501")


AWS_CHUNKED = middleware_streams_aws_chunked()
# The cases that wait for the middlewares to stream aws-chunked uploads (issue 25's server side).
needs_aws_chunked = pytest.mark.xfail(
    not AWS_CHUNKED, strict=True,
    reason="missing behaviour: the middlewares answer aws-chunked uploads (boto3 and the AWS CLI "
           "over HTTPS) with 501 NotImplemented instead of streaming them through "
           "Verifier.verify_chunked (issue 25)")


def expect_aws_chunked(request: Any, server: Any) -> None:
    """Marks a test whose client sends aws-chunked to ``server`` (boto3 and the AWS CLI do
    over HTTPS only)."""
    if server.tls:
        request.applymarker(needs_aws_chunked)
