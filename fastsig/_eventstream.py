"""AWS event streams (``application/vnd.amazon.eventstream``): the binary frame, and the
signature chain of a signed stream (Transcribe streaming, Lex, Kinesis SubscribeToShard).

A frame (a "message") is::

    total length (uint32) | headers length (uint32) | prelude CRC32 (of the first 8 bytes)
    headers | payload | message CRC32 (of everything before it)

and each header is ``name length (uint8) | name | type (uint8) | value``, the value's layout
set by its type: 0 true, 1 false (no bytes), 2 int8, 3 int16, 4 int32, 5 int64, 6 bytes
(uint16 length), 7 UTF-8 string (uint16 length), 8 timestamp (int64 milliseconds since the
epoch), 9 UUID (16 bytes). Integers are big-endian.

A signed stream wraps each event's encoded frame, as its payload, in an outer frame with two
headers: ``:date`` (a timestamp) and ``:chunk-signature`` (32 raw bytes), the HMAC-SHA256 of::

    AWS4-HMAC-SHA256-PAYLOAD
    <date as YYYYMMDDTHHMMSSZ>
    <scope>
    <prior signature, hex>
    <SHA-256 of the encoded :date header, hex>
    <SHA-256 of the payload, hex>

under the request's signing key, the first prior signature being the request's own (the
seed, signed with ``X-Amz-Content-SHA256: STREAMING-AWS4-HMAC-SHA256-EVENTS``). The stream
ends with a signed message whose payload is empty.
"""

from __future__ import annotations

import datetime
import hashlib
import struct
import uuid
import zlib
from typing import Any, Dict, List, Mapping, NamedTuple, Tuple

from ._errors import PayloadError

__all__ = [
    "EVENT_PAYLOAD_ALGORITHM",
    "STREAMING_EVENTS_PAYLOAD",
    "EventHeader",
    "SignedEvent",
    "decode_event",
    "encode_event",
    "event_string_to_sign",
]

STREAMING_EVENTS_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-EVENTS"
"""The ``X-Amz-Content-SHA256`` value of the request that opens a signed event stream."""
EVENT_PAYLOAD_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"

# aws-c-event-stream's limits: a message of at most 16 MiB, of which headers 128 KiB.
MAX_MESSAGE_LENGTH = 16 * 1024 * 1024
MAX_HEADERS_LENGTH = 128 * 1024
_PRELUDE = struct.Struct(">III")
_PRELUDE_LENGTH = 12
_CRC_LENGTH = 4

TRUE, FALSE, BYTE, SHORT, INTEGER, LONG, BYTES, STRING, TIMESTAMP, UUID = range(10)
_INT_FORMATS = {BYTE: ">b", SHORT: ">h", INTEGER: ">i", LONG: ">q"}
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class EventHeader(NamedTuple):
    """A header value with its wire type stated, for the types a plain Python value cannot
    choose by itself: ``EventHeader(2, 7)`` is the int8 7 (``int`` alone encodes as int64).

    >>> from fastsig import EventHeader, encode_event, decode_event
    >>> decode_event(encode_event({"n": EventHeader(2, 7)}, b""))[0]
    {'n': 7}
    """

    type: int
    value: Any


def _encode_value(name: str, value: Any) -> bytes:
    if isinstance(value, EventHeader):
        kind, value = value.type, value.value
    elif isinstance(value, bool):
        kind = TRUE if value else FALSE
    elif isinstance(value, int):
        kind = LONG
    elif isinstance(value, (bytes, bytearray, memoryview)):
        kind = BYTES
    elif isinstance(value, str):
        kind = STRING
    elif isinstance(value, datetime.datetime):
        kind = TIMESTAMP
    elif isinstance(value, uuid.UUID):
        kind = UUID
    else:
        raise PayloadError(f"event header {name!r}: no wire type for a {type(value).__name__}")
    try:
        if kind in (TRUE, FALSE):
            return bytes((kind,))
        if kind in _INT_FORMATS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError
            return bytes((kind,)) + struct.pack(_INT_FORMATS[kind], value)
        if kind in (BYTES, STRING):
            raw = value.encode("utf-8") if kind == STRING else bytes(value)
            if len(raw) > 0x7FFF:
                raise PayloadError(f"event header {name!r}: a value of at most 32767 bytes")
            return bytes((kind,)) + struct.pack(">H", len(raw)) + raw
        if kind == TIMESTAMP:
            if isinstance(value, datetime.datetime):
                if value.tzinfo is None:
                    raise PayloadError(f"event header {name!r}: a datetime needs a timezone")
                delta = value - _EPOCH
                value = (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
            elif isinstance(value, bool) or not isinstance(value, int):
                raise TypeError
            return bytes((kind,)) + struct.pack(">q", value)
        if kind == UUID:
            raw = value.bytes if isinstance(value, uuid.UUID) else bytes(value)
            if len(raw) != 16:
                raise TypeError
            return bytes((kind,)) + raw
    except (TypeError, AttributeError, UnicodeEncodeError, struct.error):
        raise PayloadError(f"event header {name!r}: not a value of type {kind}") from None
    raise PayloadError(f"event header {name!r}: unknown type {kind}")


def encode_headers(headers: Mapping[str, Any]) -> bytes:
    """The headers block of a frame, in the mapping's order."""
    parts = []
    for name, value in headers.items():
        raw_name = name.encode("utf-8") if isinstance(name, str) else b""
        if not raw_name or len(raw_name) > 255:
            raise PayloadError(f"event header name {name!r} must be 1..255 bytes of UTF-8")
        parts.append(bytes((len(raw_name),)) + raw_name + _encode_value(name, value))
    return b"".join(parts)


def encode_event(headers: Mapping[str, Any], payload: bytes) -> bytes:
    """One event-stream frame: prelude, headers, payload and CRCs.

    Header values map to wire types: ``bool`` -> true/false, ``int`` -> int64, ``bytes`` ->
    bytes, ``str`` -> string, an aware ``datetime`` -> timestamp (milliseconds), ``UUID`` ->
    UUID; ``EventHeader(type, value)`` picks any type by its number.

    >>> from fastsig import encode_event
    >>> encode_event({":message-type": "event"}, b"{}").hex()[:24]
    '000000280000001660470efd'
    """
    block = encode_headers(headers)
    payload = bytes(payload)
    if len(block) > MAX_HEADERS_LENGTH:
        raise PayloadError(f"event headers of {len(block)} bytes; at most {MAX_HEADERS_LENGTH}")
    total = _PRELUDE_LENGTH + len(block) + len(payload) + _CRC_LENGTH
    if total > MAX_MESSAGE_LENGTH:
        raise PayloadError(f"an event message of {total} bytes; at most {MAX_MESSAGE_LENGTH}")
    prelude = struct.pack(">II", total, len(block))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + block + payload
    return message + struct.pack(">I", zlib.crc32(message))


def _decode_headers(block: bytes) -> Dict[str, Any]:
    headers: Dict[str, Any] = {}
    at, end = 0, len(block)
    try:
        while at < end:
            size = block[at]
            name = block[at + 1:at + 1 + size].decode("utf-8")
            at += 1 + size
            kind = block[at]
            at += 1
            value: Any
            if kind in (TRUE, FALSE):
                value = kind == TRUE
            elif kind in _INT_FORMATS:
                fmt = struct.Struct(_INT_FORMATS[kind])
                (value,) = fmt.unpack_from(block, at)
                at += fmt.size
            elif kind in (BYTES, STRING):
                (size,) = struct.unpack_from(">H", block, at)
                raw = block[at + 2:at + 2 + size]
                if len(raw) != size:
                    raise ValueError
                value = raw.decode("utf-8") if kind == STRING else raw
                at += 2 + size
            elif kind == TIMESTAMP:
                (millis,) = struct.unpack_from(">q", block, at)
                value = _EPOCH + datetime.timedelta(milliseconds=millis)
                at += 8
            elif kind == UUID:
                raw = block[at:at + 16]
                if len(raw) != 16:
                    raise ValueError
                value = uuid.UUID(bytes=raw)
                at += 16
            else:
                raise PayloadError(f"event header {name!r} has unknown type {kind}")
            headers[name] = value
    except (IndexError, ValueError, struct.error, OverflowError):
        raise PayloadError("event headers are truncated or malformed") from None
    return headers


def decode_event(frame: bytes) -> Tuple[Dict[str, Any], bytes]:
    """(headers, payload) of one whole frame, its lengths and CRCs checked.

    >>> from fastsig import decode_event, encode_event
    >>> decode_event(encode_event({"a": "b"}, b"hi"))
    ({'a': 'b'}, b'hi')
    """
    frame = bytes(frame)
    if len(frame) < _PRELUDE_LENGTH + _CRC_LENGTH:
        raise PayloadError("an event message shorter than its prelude")
    total, headers_length, prelude_crc = _PRELUDE.unpack_from(frame)
    if zlib.crc32(frame[:8]) != prelude_crc:
        raise PayloadError("event message prelude CRC mismatch")
    if total != len(frame) or total > MAX_MESSAGE_LENGTH:
        raise PayloadError(f"event message length {total} but {len(frame)} bytes given")
    if headers_length > total - _PRELUDE_LENGTH - _CRC_LENGTH:
        raise PayloadError("event headers longer than the message")
    (message_crc,) = struct.unpack_from(">I", frame, total - _CRC_LENGTH)
    if zlib.crc32(frame[:-_CRC_LENGTH]) != message_crc:
        raise PayloadError("event message CRC mismatch")
    start = _PRELUDE_LENGTH + headers_length
    return _decode_headers(frame[_PRELUDE_LENGTH:start]), frame[start:-_CRC_LENGTH]


def split_events(stream: bytes) -> List[bytes]:
    """The whole frames of a byte stream, in order (a trailing partial frame is an error)."""
    frames, at = [], 0
    while at < len(stream):
        if len(stream) - at < _PRELUDE_LENGTH:
            raise PayloadError("an event stream ends inside a prelude")
        (total,) = struct.unpack_from(">I", stream, at)
        if total < _PRELUDE_LENGTH + _CRC_LENGTH or at + total > len(stream):
            raise PayloadError("an event stream ends inside a message")
        frames.append(bytes(stream[at:at + total]))
        at += total
    return frames


def event_string_to_sign(date_time: str, scope: str, prior_signature: str,
                         date_millis: int, payload: bytes) -> str:
    """The string to sign of one event (see the module's docstring)."""
    date_header = encode_headers({":date": EventHeader(TIMESTAMP, date_millis)})
    return "\n".join((
        EVENT_PAYLOAD_ALGORITHM,
        date_time,
        scope,
        prior_signature,
        hashlib.sha256(date_header).hexdigest(),
        hashlib.sha256(payload).hexdigest(),
    ))


class SignedEvent(NamedTuple):
    """What ``Signer.sign_event`` returns: the outer message's ``headers`` (``:date`` and
    ``:chunk-signature``), its ``payload`` (the inner event's frame), and ``signature`` in
    hex, the prior signature of the next event. ``encode()`` gives the frame to send.

    >>> from fastsig import Credentials, Signer
    >>> signer = Signer(Credentials("access", "secret"), "us-east-1", "demo")
    >>> event = signer.sign_event(b"A", "e1d8e8c8815e60969f2a34765c9a15945ffc0badbaa4b7e3b163ea19131e949b",
    ...                           timestamp="19810116T063001Z")
    >>> event.signature
    '7aabf85b765e6a4d0d500b6e968657b14726fa3e1eb7e839302728ffd77629a5'
    """

    headers: Dict[str, Any]
    payload: bytes
    signature: str

    def encode(self) -> bytes:
        """The signed message as a frame."""
        return encode_event(self.headers, self.payload)
