"""The yardstick: a minimal hand-written SigV4 presigner with hashlib + hmac.

It does only what an S3 GET presign of a plain key needs, derives the signing key once, and
takes the same input as fastsig (a URL). fastsig's targets are ratios against it.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class YardstickPresigner:
    def __init__(self, access_key: str, secret_key: str, region: str, service: str,
                 amz_date: str, expires: int = 3600) -> None:
        date = amz_date[:8]
        key = _hmac(("AWS4" + secret_key).encode(), date)
        for part in (region, service, "aws4_request"):
            key = _hmac(key, part)
        self.key = key
        self.amz_date = amz_date
        self.scope = f"{date}/{region}/{service}/aws4_request"
        self.query = (
            f"X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={access_key}%2F"
            f"{self.scope.replace('/', '%2F')}&X-Amz-Date={amz_date}&X-Amz-Expires={expires}"
            "&X-Amz-SignedHeaders=host"
        )

    def presign(self, url: str) -> str:
        _, _, rest = url.partition("://")
        host, _, path = rest.partition("/")
        path = quote("/" + path, safe="/~")
        creq = f"GET\n{path}\n{self.query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD"
        sts = (f"{ALGORITHM}\n{self.amz_date}\n{self.scope}\n"
               f"{hashlib.sha256(creq.encode()).hexdigest()}")
        sig = hmac.new(self.key, sts.encode(), hashlib.sha256).hexdigest()
        return f"https://{host}{path}?{self.query}&X-Amz-Signature={sig}"

    def sign_headers(self, body: bytes, amz_target: str, host: str) -> dict:
        """Header signing of a DynamoDB-style JSON POST."""
        payload = hashlib.sha256(body).hexdigest()
        headers = {
            "content-type": "application/x-amz-json-1.0",
            "host": host,
            "x-amz-date": self.amz_date,
            "x-amz-target": amz_target,
        }
        signed = ";".join(headers)
        canonical_headers = "".join(f"{k}:{v}\n" for k, v in headers.items())
        creq = f"POST\n/\n\n{canonical_headers}\n{signed}\n{payload}"
        sts = (f"{ALGORITHM}\n{self.amz_date}\n{self.scope}\n"
               f"{hashlib.sha256(creq.encode()).hexdigest()}")
        sig = hmac.new(self.key, sts.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"{ALGORITHM} Credential=AKID/{self.scope}, SignedHeaders={signed}, Signature={sig}")
        return headers
