"""Event streams: the frame encoder and decoder, and the signature chain of a signed stream."""

from __future__ import annotations

import datetime
import random
import uuid

import pytest
from botocore.eventstream import EventStreamBuffer

from fastsig import (
    STREAMING_EVENTS_PAYLOAD,
    Credentials,
    EventHeader,
    PayloadError,
    Signer,
    decode_event,
    encode_event,
)

# aws-c-auth's sigv4_event_signing_test (tests/sigv4_signing_tests.c at commit
# 3281f8692e6fd10562c4585a4dded5c16b322698), copied as data: the request that opens the stream,
# then the events 'A', 'B', 'C' and the empty one that ends it, one second apart.
AWS_C_AUTH_EVENTS = {
    "access_key": "access",
    "secret_key": "secret",
    "region": "us-east-1",
    "service": "demo",
    "request": {
        "method": "POST",
        "url": "https://demo.us-east-1.amazonaws.com/streaming",
        "headers": {"host": "demo.us-east-1.amazonaws.com",
                    "Content-Encoding": "application/vnd.amazon.eventstream"},
        "date": "19810116T063000Z",  # Fri, 16 Jan 1981 06:30:00 GMT
        "authorization": (
            "AWS4-HMAC-SHA256 Credential=access/19810116/us-east-1/demo/aws4_request, "
            "SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date, "
            "Signature=e1d8e8c8815e60969f2a34765c9a15945ffc0badbaa4b7e3b163ea19131e949b"),
        "signature": "e1d8e8c8815e60969f2a34765c9a15945ffc0badbaa4b7e3b163ea19131e949b",
    },
    "events": [
        (b"A", "19810116T063001Z", "7aabf85b765e6a4d0d500b6e968657b14726fa3e1eb7e839302728ffd77629a5"),
        (b"B", "19810116T063002Z", "f72aa9642f571d24a6e1ae42f10f073ad9448d8a028b6bcd82da081335adda02"),
        (b"C", "19810116T063003Z", "632af120435b57ec241d8bfbb12e496dfd5e2730a1a02ac0ab6eaa230ae02e9a"),
        (b"", "19810116T063004Z", "c6f679ddb3af68f5e82f0cf6761244cb2338cf11e7d01a24130aea1b7c17e53e"),
    ],
}


def test_aws_c_auth_event_signing_vector():
    v = AWS_C_AUTH_EVENTS
    # aws-c-auth's config: single encoding, normalized path, X-Amz-Content-SHA256 signed.
    signer = Signer(Credentials(v["access_key"], v["secret_key"]), v["region"], v["service"],
                    double_encode=False, normalize_path=True, content_sha256_header=True)
    req = v["request"]
    signed = signer.sign(req["method"], req["url"], req["headers"],
                         payload_hash=STREAMING_EVENTS_PAYLOAD, timestamp=req["date"])
    assert signed.headers["Authorization"] == req["authorization"]
    prior = signed.signature
    assert prior == req["signature"]
    for payload, date, expected in v["events"]:
        event = signer.sign_event(payload, prior, timestamp=date)
        assert event.signature == expected, (payload, date)
        assert event.headers[":chunk-signature"] == bytes.fromhex(expected)
        stamp = datetime.datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
        assert event.headers[":date"] == stamp
        # The frame carries them as a timestamp (type 8) and bytes (type 6).
        headers, body = decode_event(event.encode())
        assert headers == event.headers and body == payload
        prior = event.signature


def _botocore_decode(frame: bytes):
    buffer = EventStreamBuffer()
    buffer.add_data(frame)
    (message,) = list(buffer)
    return message.headers, message.payload


def test_frames_decode_in_botocore():
    rng = random.Random(28)
    for _ in range(300):
        headers = {}
        for i in range(rng.randrange(0, 6)):
            kind = rng.randrange(0, 10)
            name = f"h{i}-" + "é" * rng.randrange(0, 3)
            value = {
                0: True, 1: False,
                2: EventHeader(2, rng.randrange(-128, 128)),
                3: EventHeader(3, rng.randrange(-2**15, 2**15)),
                4: EventHeader(4, rng.randrange(-2**31, 2**31)),
                5: rng.randrange(-2**63, 2**63),
                6: rng.randbytes(rng.randrange(0, 300)),
                7: "".join(rng.choice("ab c€𝄞") for _ in range(rng.randrange(0, 40))),
                8: datetime.datetime.fromtimestamp(rng.randrange(0, 2**33) / 1000,
                                                   datetime.timezone.utc).replace(microsecond=0),
                9: uuid.UUID(int=rng.getrandbits(128)),
            }[kind]
            headers[name] = value
        payload = rng.randbytes(rng.choice([0, 1, 100, 5000]))
        frame = encode_event(headers, payload)
        theirs, their_payload = _botocore_decode(frame)
        ours, our_payload = decode_event(frame)
        assert our_payload == their_payload == payload
        plain = {k: (v.value if isinstance(v, EventHeader) else v) for k, v in headers.items()}
        assert ours == plain
        for name, value in plain.items():
            if isinstance(value, datetime.datetime):  # botocore gives milliseconds
                assert theirs[name] == int(value.timestamp() * 1000)
            elif isinstance(value, uuid.UUID):
                assert theirs[name] == value.bytes
            else:
                assert theirs[name] == value, name


def test_botocore_frames_decode_here():
    # A frame as services send it (the layout of botocore's own test messages).
    frame = encode_event({":message-type": "event", ":event-type": "Records",
                          ":content-type": "application/octet-stream"}, b"a,b\n")
    assert _botocore_decode(frame)[0][":event-type"] == "Records"


@pytest.mark.parametrize("mangle, message", [
    (lambda f: f[:-1], "length"),
    (lambda f: f[:8] + b"\0\0\0\0" + f[12:], "prelude CRC"),
    (lambda f: f[:-5] + bytes([f[-5] ^ 1]) + f[-4:], "message CRC"),
    (lambda f: f[:4], "shorter than its prelude"),
])
def test_bad_frames_are_refused(mangle, message):
    frame = encode_event({"a": "b"}, b"payload")
    with pytest.raises(PayloadError, match=message):
        decode_event(mangle(frame))


@pytest.mark.parametrize("headers", [
    {"": "x"}, {"x" * 256: "x"}, {"a": 1.5}, {"a": EventHeader(2, 300)}, {"a": EventHeader(11, 1)},
    {"a": "x" * 40000}, {"a": datetime.datetime(2020, 1, 1)},
])
def test_bad_headers_are_refused(headers):
    with pytest.raises(PayloadError):
        encode_event(headers, b"")


def test_sign_event_refuses_bad_input():
    signer = Signer(Credentials("access", "secret"), "us-east-1", "demo")
    with pytest.raises(PayloadError):
        signer.sign_event(b"x", "not hex")
    with pytest.raises(PayloadError):
        signer.sign_event("text", "0" * 64)
