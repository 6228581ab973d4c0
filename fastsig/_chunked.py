"""aws-chunked uploads: a body sent in chunks, each signed in a chain from the request's own
signature (the "seed"), optionally ending with a trailing checksum header.

The framing (S3's "Signature Calculations for the Authorization Header: Transferring Payload in
Multiple Chunks" and "... Including Trailing Headers"):

    signed:    <hex size>;chunk-signature=<64 hex>\\r\\n<data>\\r\\n ... 0;chunk-signature=<sig>\\r\\n
               then, with a trailer, <name>:<value>\\r\\nx-amz-trailer-signature:<sig>\\r\\n
               and a final \\r\\n
    unsigned:  <hex size>\\r\\n<data>\\r\\n ... 0\\r\\n<name>:<value>\\r\\n\\r\\n

Each chunk's string to sign is ``AWS4-HMAC-SHA256-PAYLOAD``, the date, the scope, the previous
signature, the empty string's hash and the chunk's hash; the trailer's is
``AWS4-HMAC-SHA256-TRAILER``, the date, the scope, the last chunk's signature and the hash of
``<name>:<value>\\n``. Hashing runs in the compiled kernels: a chunk costs one SHA-256 of its
data and an HMAC of a short string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import zlib
from typing import Any, Callable, Dict, Iterator, NamedTuple, Optional

from . import _backend
from ._errors import (IncompleteBodyError, PayloadError, SignatureMismatchError,
                      VerificationError)
from .sigv4 import EMPTY_SHA256

__all__ = [
    "CHECKSUMS", "ChunkChain", "ChunkedBody", "ChunkedReader", "ChunkedUpload", "MIN_CHUNK_SIZE",
    "STREAMING_SIGNED", "STREAMING_SIGNED_TRAILER", "STREAMING_UNSIGNED_TRAILER", "framed_length",
]

STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
MIN_CHUNK_SIZE = 8192  # S3's minimum for every chunk but the last
_SIGNATURE_PART = len(";chunk-signature=") + 64


# ---------------------------------------------------------------------------------------------
# Trailing checksums: the value is the base64 of the big-endian digest.


class _Crc:
    """A CRC fed in pieces: ``function(data, previous)`` is zlib.crc32's convention, which the
    kernels' CRC-32C and CRC-64/NVME follow."""

    def __init__(self, function: Callable[[Any, int], int], width: int) -> None:
        self._function = function
        self._width = width
        self._crc = 0

    def update(self, data: Any) -> None:
        self._crc = self._function(data, self._crc)

    def digest(self) -> bytes:
        return self._crc.to_bytes(self._width, "big")


CHECKSUMS: Dict[str, Callable[[], Any]] = {
    "crc32": lambda: _Crc(zlib.crc32, 4),
    "crc32c": lambda: _Crc(_backend.kernels.crc32c, 4),
    "crc64nvme": lambda: _Crc(_backend.kernels.crc64nvme, 8),
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
}


def checksum_header(algorithm: Optional[str]) -> str:
    if algorithm not in CHECKSUMS:
        raise PayloadError(f"unknown checksum algorithm {algorithm!r}: one of {', '.join(CHECKSUMS)}")
    return f"x-amz-checksum-{algorithm}"


# ---------------------------------------------------------------------------------------------
# The chain of signatures, the same for the writer and the reader


class ChunkChain:
    """The signatures that follow the seed: each chunk's (the final empty one's too), then the
    trailer's, each over the previous one. ``previous`` is the last signature made."""

    def __init__(self, signing_key: Any, amz_date: str, scope: str, seed_signature: str) -> None:
        self._key = signing_key  # a kernels SigningKey
        self._sha256_hex = _backend.kernels.sha256_hex
        self._chunk_prefix = f"AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n"
        self._trailer_prefix = f"AWS4-HMAC-SHA256-TRAILER\n{amz_date}\n{scope}\n"
        self.previous = seed_signature

    def chunk(self, data: Any) -> str:
        digest = self._sha256_hex(data) if len(data) else EMPTY_SHA256
        self.previous = self._key.sign(
            f"{self._chunk_prefix}{self.previous}\n{EMPTY_SHA256}\n{digest}")
        return self.previous

    def trailer(self, line: str) -> str:
        """The signature of a trailer ``name:value`` line, as ``x-amz-trailer-signature``."""
        return self._key.sign(
            f"{self._trailer_prefix}{self.previous}\n{self._sha256_hex((line + chr(10)).encode())}")


# ---------------------------------------------------------------------------------------------
# The framed body


class _Readable:
    """``read(size)`` over the pieces that iterating the object gives, for clients that want
    a file rather than an iterable."""

    _stream: Optional[Iterator[Any]] = None
    _pending = b""

    def read(self, size: int = -1) -> bytes:
        if self._stream is None:
            self._stream = iter(self)  # type: ignore[call-overload]
        out, have = [self._pending], len(self._pending)
        while size < 0 or have < size:
            piece = next(self._stream, None)
            if piece is None:
                break
            out.append(piece)
            have += len(piece)
        data = b"".join(out)
        if 0 <= size < len(data):
            data, self._pending = data[:size], data[size:]
        else:
            self._pending = b""
        return data


class ChunkedUpload(NamedTuple):
    """What ``Signer.sign_chunked`` returns: send ``body`` to ``url`` with ``headers``.
    ``signature`` is the request's own (the seed of the chunks' chain)."""

    url: str
    headers: dict
    body: "ChunkedBody"
    signature: str


def framed_length(decoded_length: int, chunk_size: int, signed: bool,
                  trailer: Optional[str]) -> int:
    """The Content-Length of the framed body of ``decoded_length`` bytes."""
    full, rest = divmod(decoded_length, chunk_size)
    sizes = [chunk_size] * full + ([rest] if rest else []) + [0]
    length = 0
    for size in sizes:
        length += len(f"{size:x}") + (_SIGNATURE_PART if signed else 0) + 2 + size
        length += 2 if size else 0
    if trailer is not None:
        value_length = len(base64.b64encode(CHECKSUMS[trailer]().digest()))
        length += len(checksum_header(trailer)) + 1 + value_length + 2
        if signed:
            length += len("x-amz-trailer-signature:") + 64 + 2
    return length + 2


class ChunkedBody(_Readable):
    """The framed body: iterate it, or ``read`` it as a file (``len`` is its Content-Length).

    ``source`` is bytes, a binary file object or an iterable of bytes; exactly
    ``decoded_length`` bytes must come out of it, or ``PayloadError`` is raised as soon as the
    difference shows. With a ``chain`` each chunk is signed; without, the chunks are unsigned
    (the trailer then carries the integrity check)."""

    def __init__(self, source: Any, decoded_length: int, chunk_size: int,
                 chain: Optional[ChunkChain], trailer: Optional[str]) -> None:
        self._source = source
        self.decoded_length = decoded_length
        self.chunk_size = chunk_size
        self._chain = chain
        self._trailer = trailer
        self._length = framed_length(decoded_length, chunk_size, chain is not None, trailer)
        self._started = False

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        if self._started:
            raise PayloadError("an aws-chunked body can be sent once: sign the upload again")
        self._started = True
        return self._generate()

    def _chunks(self) -> Iterator[Any]:
        """The decoded body in chunks of ``chunk_size`` (the last may be shorter)."""
        source, size = self._source, self.chunk_size
        if isinstance(source, (bytes, bytearray, memoryview)):
            view = memoryview(source).cast("B")
            for start in range(0, len(view), size):
                yield view[start:start + size]
            return
        read = getattr(source, "read", None)
        if read is not None:
            while True:
                data = read(size)
                while data and len(data) < size:  # a short read is not the end of a file
                    more = read(size - len(data))
                    if not more:
                        break
                    data += more
                if not data:
                    return
                yield data
            return
        # Whole chunks are slices of the caller's pieces; only a chunk that straddles pieces
        # is copied together.
        pending = bytearray()
        for piece in source:
            if not isinstance(piece, (bytes, bytearray, memoryview)):
                raise PayloadError(f"the body iterable gave {type(piece).__name__}, not bytes")
            view = memoryview(piece).cast("B")
            if pending:
                need = size - len(pending)
                pending += view[:need]
                view = view[need:]
                if len(pending) < size:
                    continue
                yield bytes(pending)
                pending = bytearray()
            while len(view) >= size:
                yield view[:size]
                view = view[size:]
            pending += view
        if pending:
            yield bytes(pending)

    def _generate(self) -> Iterator[bytes]:
        chain = self._chain
        checksum = CHECKSUMS[self._trailer]() if self._trailer else None
        sent = 0
        for data in self._chunks():
            sent += len(data)
            if sent > self.decoded_length:
                raise PayloadError(f"the body is longer than decoded_length={self.decoded_length}")
            if checksum is not None:
                checksum.update(data)
            if chain is not None:
                yield b"%x;chunk-signature=%s\r\n" % (len(data), chain.chunk(data).encode())
            else:
                yield b"%x\r\n" % len(data)
            yield data  # a memoryview of a bytes body: no copy
            yield b"\r\n"
        if sent != self.decoded_length:
            raise PayloadError(f"the body ended after {sent} of decoded_length="
                               f"{self.decoded_length} bytes")
        if chain is not None:
            final = b"0;chunk-signature=%s\r\n" % chain.chunk(b"").encode()
        else:
            final = b"0\r\n"
        if checksum is None:
            yield final + b"\r\n"
            return
        trailer = f"{checksum_header(self._trailer)}:{base64.b64encode(checksum.digest()).decode()}"
        final += trailer.encode() + b"\r\n"
        if chain is not None:
            final += b"x-amz-trailer-signature:%s\r\n" % chain.trailer(trailer).encode()
        yield final + b"\r\n"


# ---------------------------------------------------------------------------------------------
# The other side: decoding and checking a framed body as it arrives


class _BadDigest(VerificationError):
    code = "BadDigest"
    status = 400


class ChunkedReader(_Readable):
    """The decoded body of an aws-chunked request, checked as it is read: each chunk's
    signature before its data is handed out, then the trailer's signature and checksum and the
    decoded length. Iterate it for the chunks, or ``read`` it as a file. Memory stays at one
    chunk (``max_chunk_size`` at most); a bad chunk raises ``VerificationError``
    (``SignatureDoesNotMatch``, ``IncompleteBody``, ``BadDigest``)."""

    def __init__(self, source: Any, *, chain: Optional[ChunkChain], decoded_length: int,
                 trailer: Optional[str], max_chunk_size: int = 16 << 20) -> None:
        self._read = _byte_reader(source)
        self._chain = chain  # None: unsigned chunks, guarded by the trailer's checksum
        self.decoded_length = decoded_length
        self._trailer = trailer
        self._max = max_chunk_size
        self._buffer = b""
        self._offset = 0
        self._chunks: Optional[Iterator[bytes]] = None
        self.verified: Any = None  # the VerifiedRequest, set by Verifier.verify_chunked

    def __iter__(self) -> Iterator[bytes]:
        if self._chunks is None:
            self._chunks = self._decode()
        return self._chunks

    def _fill(self, need: int) -> bool:
        """At least ``need`` unread bytes in the buffer; False if the body ends first. Reads
        whole pieces and keeps an offset, so a large piece is not copied once per chunk."""
        while len(self._buffer) - self._offset < need:
            more = self._read(max(65536, need - (len(self._buffer) - self._offset)))
            if not more:
                return False
            self._buffer = self._buffer[self._offset:] + bytes(more)
            self._offset = 0
        return True

    def _take(self, count: int) -> bytes:
        if not self._fill(count):
            raise IncompleteBodyError("the body ended in the middle of a chunk")
        start = self._offset
        self._offset += count
        return self._buffer[start:self._offset]

    def _line(self) -> str:
        while True:
            end = self._buffer.find(b"\r\n", self._offset)
            if end >= 0:
                line = self._buffer[self._offset:end]
                self._offset = end + 2
                try:
                    return line.decode("ascii")
                except UnicodeDecodeError:
                    raise IncompleteBodyError("a chunk header is not ASCII") from None
            unread = len(self._buffer) - self._offset
            if unread > 4096:
                raise IncompleteBodyError("a chunk header line is too long")
            if not self._fill(unread + 1):
                raise IncompleteBodyError("the body ended before its final chunk")

    def _check(self, expected: str, given: str) -> None:
        if not (len(given) == 64 and hmac.compare_digest(expected, given)):
            raise SignatureMismatchError(
                "The request signature we calculated does not match the signature you provided")

    def _decode(self) -> Iterator[bytes]:
        chain = self._chain
        checksum = CHECKSUMS[self._trailer]() if self._trailer else None
        received = 0
        while True:
            header = self._line()
            size_text, _, signature_part = header.partition(";")
            if chain is not None:
                name, _, given = signature_part.partition("=")
                if name != "chunk-signature":
                    raise IncompleteBodyError("a chunk lacks its chunk-signature")
            elif signature_part:
                raise IncompleteBodyError("an unsigned chunk carries a signature")
            if (not size_text or len(size_text) > 16
                    or not all(c in "0123456789abcdefABCDEF" for c in size_text)):
                raise IncompleteBodyError("a chunk size is not hexadecimal")
            size = int(size_text, 16)
            if size > self._max or received + size > self.decoded_length:
                raise IncompleteBodyError("a chunk is larger than allowed or than the declared length")
            data = self._take(size) if size else b""
            if chain is not None:
                self._check(chain.chunk(data), given)
            if not size:
                break
            if self._take(2) != b"\r\n":
                raise IncompleteBodyError("a chunk's data is not followed by CRLF")
            received += size
            if checksum is not None:
                checksum.update(data)
            yield data
        if received != self.decoded_length:
            raise IncompleteBodyError(f"the chunks hold {received} bytes, not x-amz-decoded-content-length")
        self._finish(checksum)

    def _finish(self, checksum: Any) -> None:
        if checksum is None:
            if self._take(2) != b"\r\n":
                raise IncompleteBodyError("the final chunk is not followed by CRLF")
        else:
            name, _, value = self._line().partition(":")
            if name.lower() != checksum_header(self._trailer):
                raise IncompleteBodyError("the trailer is not the checksum X-Amz-Trailer announced")
            if self._chain is not None:
                signature_name, _, given = self._line().partition(":")
                if signature_name.lower() != "x-amz-trailer-signature":
                    raise IncompleteBodyError("the trailer lacks x-amz-trailer-signature")
                self._check(self._chain.trailer(f"{name.lower()}:{value.strip()}"), given.strip())
            if self._line() != "":
                raise IncompleteBodyError("the trailer is not followed by an empty line")
            actual = base64.b64encode(checksum.digest()).decode()
            if not hmac.compare_digest(actual, value.strip()):
                raise _BadDigest(f"The {self._trailer} you specified did not match the calculated checksum")
        if len(self._buffer) > self._offset or self._read(1):
            raise IncompleteBodyError("data follows the final chunk")


def _byte_reader(source: Any) -> Callable[[int], bytes]:
    """``read(n)`` over a binary file, bytes, or an iterable of bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        import io

        return io.BytesIO(source).read
    read = getattr(source, "read", None)
    if read is not None:
        return read
    pieces = iter(source)

    def next_piece(_: int) -> bytes:
        return bytes(next(pieces, b""))

    return next_piece
