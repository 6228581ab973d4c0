"""What the interop tests share: expectations written once (AWS's answer to each kind of
tampering) and small helpers to read a client's error."""

from __future__ import annotations

import hashlib
import os
from typing import Dict

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
