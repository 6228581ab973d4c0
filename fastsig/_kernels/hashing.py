"""SHA-256, HMAC-SHA256, the CRCs and the SigV4 signing key (task 4 of the spec).

The pure-Python twin of ``_kernels/hashing.pxi``: the same names, byte-identical results
and the same exceptions."""

from __future__ import annotations

import hashlib
from typing import Any, Dict, List

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

_sha256 = hashlib.sha256

# ---------------------------------------------------------------------------------------------
# SHA-256 and HMAC-SHA256


def sha256_implementations() -> List[str]:
    """The SHA-256 implementations available; the pure twin has hashlib's only."""
    return ["hashlib"]


def select_sha256(name: str) -> str:
    """Force one SHA-256 implementation (for tests); returns the one in use before."""
    if name != "hashlib":
        raise ValueError(f"SHA-256 implementation {name!r} is not available on this CPU")
    return "hashlib"


class Sha256:
    """Streaming SHA-256 of a payload: ``update`` with bytes-like data, ``update_file`` with a
    binary file object, then ``hexdigest``. Large updates release the GIL."""

    __slots__ = ("_h",)

    def __init__(self, data: Any = b"") -> None:
        self._h = _sha256(data)

    def update(self, data: Any) -> None:
        self._h.update(data)

    def update_file(self, fileobj: Any, chunk_size: int = 65536) -> int:
        """Hash ``fileobj`` from its current position to its end; return the bytes read."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        read = fileobj.read
        update = self._h.update
        total = 0
        while True:
            chunk = read(chunk_size)
            if not chunk:
                return total
            if isinstance(chunk, str):
                raise TypeError("file object returned str; open it in binary mode")
            update(chunk)
            total += len(chunk)

    def copy(self) -> "Sha256":
        clone = Sha256.__new__(Sha256)
        clone._h = self._h.copy()
        return clone

    def digest(self) -> bytes:
        return self._h.digest()

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def _crc_table(polynomial: int) -> List[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ polynomial if crc & 1 else crc >> 1
        table.append(crc)
    return table


_crc_tables: Dict[int, List[int]] = {}  # by polynomial, built on first use, not at import


def _reflected_crc(polynomial: int, mask: int, data: Any, crc: int) -> int:
    table = _crc_tables.get(polynomial)
    if table is None:
        table = _crc_tables[polynomial] = _crc_table(polynomial)
    crc ^= mask
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ mask


def crc32c(data: Any, crc: int = 0) -> int:
    """CRC-32C of bytes-like ``data``, continuing from ``crc`` (a previous result). A byte at
    a time here: the compiled twin is the fast one."""
    return _reflected_crc(0x82F63B78, 0xFFFFFFFF, data, crc)


def crc64nvme(data: Any, crc: int = 0) -> int:
    """CRC-64/NVME of bytes-like ``data``, continuing from ``crc`` (a previous result)."""
    return _reflected_crc(0x9A6C9329AC4BC9B5, 0xFFFFFFFFFFFFFFFF, data, crc)


def sha256_hex(data: Any) -> str:
    """Lowercase hex SHA-256 of bytes-like ``data``."""
    return _sha256(data).hexdigest()


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) of ``message`` under ``key``."""
    return SigningKey(key).digest(message)


class SigningKey:
    """HMAC-SHA256 with the inner and outer states computed once, so that each signature
    costs only the compressions of its own message."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        key = bytes(key)
        if len(key) > 64:
            key = _sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = _sha256(key.translate(_IPAD))
        self._outer = _sha256(key.translate(_OPAD))

    def digest(self, message: Any) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def sign(self, message: str) -> str:
        """Hex HMAC of a string to sign (ASCII by construction)."""
        inner = self._inner.copy()
        inner.update(message.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def derive_signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """The SigV4 signing key:
    kDate = HMAC("AWS4" + secret, date); kRegion = HMAC(kDate, region);
    kService = HMAC(kRegion, service); kSigning = HMAC(kService, "aws4_request")."""
    key = ("AWS4" + secret_access_key).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac_sha256(key, part.encode("utf-8"))
    return key
