"""SigV4a (``AWS4-ECDSA-P256-SHA256``): the key derivation and the signing context.

SigV4a signs the same canonical request as SigV4, with three changes: the credential scope has
no region (``YYYYMMDD/service/aws4_request``), the regions the signature is good for travel in
the signed ``X-Amz-Region-Set`` header (or query parameter), and the string to sign is signed
with ECDSA P-256 under a key derived from the access key and secret, instead of HMAC.

The ECDSA step dominates the cost (tens of microseconds), so the canonical request comes from
the pure-Python kernels on either backend, byte-identical to the compiled ones. The elliptic
curve arithmetic is the ``cryptography`` package's, imported only when SigV4a is used.
"""

from __future__ import annotations

import hmac
import re
import threading
from collections import OrderedDict
from typing import Any, Iterable, Tuple

from ._errors import ConfigurationError, CredentialsError
from ._kernels.query import _AUTH_QUERY_KEYS
from ._kernels.signing import SigningContext
from .credentials import Credentials

__all__ = ["ALGORITHM", "REGION_SET", "SigV4aContext", "derive_sigv4a_key", "region_set_value"]

ALGORITHM = "AWS4-ECDSA-P256-SHA256"
# A region or a pattern (us-east-1, us-*, *); X-Amz-Region-Set joins them with commas.
_REGION_TEXT = r"[A-Za-z0-9*-]+"
_REGION = re.compile(_REGION_TEXT)
REGION_SET = re.compile(rf"{_REGION_TEXT}(?:,{_REGION_TEXT})*")
# The order of P-256's base point, less 2: a candidate at most this, plus one, is a valid
# private scalar in [1, n - 1].
_N_MINUS_2 = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551 - 2


def _cryptography() -> Tuple[Any, Any]:
    try:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
    except ImportError:
        raise ConfigurationError(
            "SigV4a needs the cryptography package: pip install fastsig[sigv4a]") from None
    return ec, hashes


def _derive_scalar(access_key_id: str, secret_access_key: str) -> int:
    # NIST SP 800-108 in counter mode with HMAC-SHA256, one 256-bit block: the message is
    # i=1 (32-bit) || label || 0x00 || context (the access key ID, then a one-byte counter that
    # AWS adds so a candidate out of range can be retried) || L=256 (32-bit).
    key = ("AWS4A" + secret_access_key).encode("utf-8")
    label = ALGORITHM.encode() + b"\x00" + access_key_id.encode("utf-8")
    for counter in range(1, 255):
        message = b"\x00\x00\x00\x01" + label + bytes([counter]) + b"\x00\x00\x01\x00"
        candidate = int.from_bytes(hmac.new(key, message, "sha256").digest(), "big")
        if candidate <= _N_MINUS_2:
            return candidate + 1
    # About 2**-8128 likely: a broken HMAC, not bad luck.
    raise CredentialsError("no SigV4a key could be derived from these credentials")


class _KeyCache:
    """Derived private keys by credential, few and bounded. Keyed by the access key ID and a
    fingerprint of the secret, never the secret itself."""

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = maxsize
        self._keys: "OrderedDict[Tuple[str, bytes], Any]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, credentials: Credentials) -> Any:
        cache_key = (credentials.access_key_id, credentials._fingerprint)
        with self._lock:
            key = self._keys.get(cache_key)
            if key is not None:
                self._keys.move_to_end(cache_key)
                return key
        ec, _ = _cryptography()
        scalar = _derive_scalar(credentials.access_key_id, credentials.secret_access_key)
        key = ec.derive_private_key(scalar, ec.SECP256R1())
        with self._lock:
            self._keys[cache_key] = key
            while len(self._keys) > self.maxsize:
                self._keys.popitem(last=False)
        return key


_keys = _KeyCache()


def derive_sigv4a_key(credentials: Credentials) -> Any:
    """The SigV4a ECDSA P-256 private key of ``credentials``, as a ``cryptography``
    ``EllipticCurvePrivateKey`` (its ``public_key()`` is what a verifier needs). Derived once
    per credential and cached.

    >>> from fastsig import Credentials, derive_sigv4a_key
    >>> key = derive_sigv4a_key(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"))
    >>> format(key.public_key().public_numbers().x, "064x")
    'b6618f6a65740a99e650b33b6b4b5bd0d43b176d721a3edfea7e7d2d56d936b1'
    """
    if not isinstance(credentials, Credentials):
        raise CredentialsError("derive_sigv4a_key takes fastsig.Credentials")
    return _keys.get(credentials)


def region_set_value(region_set: Iterable[str]) -> str:
    """The ``X-Amz-Region-Set`` value: regions or wildcard patterns (``*``, ``us-*``), joined
    with commas."""
    if isinstance(region_set, str):
        region_set = [region_set]
    regions = list(region_set)
    for region in regions:
        if not isinstance(region, str) or not _REGION.fullmatch(region):
            raise ConfigurationError(
                f"region_set entries are regions or patterns such as us-east-1 or us-*, got {region!r}")
    if not regions:
        raise ConfigurationError("region_set must name at least one region (or '*')")
    return ",".join(regions)


class _ECDSAKey:
    """Signs a string to sign: hex of the DER-encoded ECDSA P-256 / SHA-256 signature."""

    __slots__ = ("_key", "_algorithm")

    def __init__(self, private_key: Any) -> None:
        ec, hashes = _cryptography()
        self._key = private_key
        self._algorithm = ec.ECDSA(hashes.SHA256())

    def sign(self, string_to_sign: str) -> str:
        return self._key.sign(string_to_sign.encode("utf-8"), self._algorithm).hex()


class SigV4aContext(SigningContext):
    """``SigningContext`` for SigV4a: built with the derived private key and, in the region's
    place, the ``X-Amz-Region-Set`` value."""

    algorithm = ALGORITHM
    _auth_keys = _AUTH_QUERY_KEYS | {"X-Amz-Region-Set"}

    def __init__(self, private_key: Any, access_key_id: str, amz_date: str, region_set: str,
                 service: str, *rest: Any) -> None:
        self._extras = (("X-Amz-Region-Set", region_set),)
        super().__init__(private_key, access_key_id, amz_date, region_set, service, *rest)

    @staticmethod
    def _signing_key(key: Any) -> Any:
        return _ECDSAKey(key)

    @staticmethod
    def _credential_scope(date: str, region: str, service: str) -> str:
        return f"{date}/{service}/aws4_request"
