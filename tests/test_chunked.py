"""aws-chunked uploads: S3's documented example, both backends byte for byte, real uploads to
moto with authentication enforced, and the verifier's chunk-by-chunk checks."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tracemalloc
import uuid
import zlib

import pytest

from fastsig import (
    ConfigurationError,
    Credentials,
    PayloadError,
    Signer,
    VerificationError,
    Verifier,
    _backend,
)
from fastsig._chunked import CHECKSUMS

EXAMPLE = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
CREDS = Credentials("AKIDCHUNKS", "chunks/secret", "chunk-token")
VERIFIER = Verifier({CREDS.access_key_id: CREDS}.get)
MODES = [(None, True), ("crc32", True), ("crc32c", True), ("sha256", False)]


def upload(data, checksum=None, signed=True, chunk_size=65536, **options):
    signer = Signer(CREDS, "us-east-1", "s3")
    return signer.sign_chunked("PUT", "https://b.s3.amazonaws.com/key", data, checksum=checksum,
                               signed_chunks=signed, chunk_size=chunk_size, **options)


def test_the_s3_documentation_example():
    """"Signature Calculations for the Authorization Header: Transferring Payload in Multiple
    Chunks": 66,560 bytes of 'a' in 64 KiB chunks."""
    signer = Signer(EXAMPLE, "us-east-1", "s3")
    sent = signer.sign_chunked("PUT", "https://s3.amazonaws.com/examplebucket/chunkObject.txt",
                               b"a" * 66560, headers={"x-amz-storage-class": "REDUCED_REDUNDANCY"},
                               timestamp="20130524T000000Z")
    assert sent.signature == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    assert sent.headers["Content-Length"] == "66824"
    assert sent.headers["X-Amz-Decoded-Content-Length"] == "66560"
    assert sent.headers["Content-Encoding"] == "aws-chunked"
    framed = b"".join(sent.body)
    assert len(framed) == 66824
    assert re.findall(rb"chunk-signature=([0-9a-f]{64})", framed) == [
        b"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        b"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        b"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ]
    assert framed.startswith(b"10000;chunk-signature=ad80")
    assert framed.endswith(b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81"
                           b"ceb9323e279d449df9\r\n\r\n")


@pytest.mark.parametrize("name", sorted(CHECKSUMS))
def test_checksums_are_the_standard_ones(name):
    data = bytes(range(256)) * 300 + b"tail"
    checksum = CHECKSUMS[name]()
    checksum.update(data[:1000])
    checksum.update(data[1000:])
    if name in ("crc32c", "crc64nvme"):
        crt = pytest.importorskip("awscrt.checksums")
        width = 4 if name == "crc32c" else 8
        expected = getattr(crt, name)(data).to_bytes(width, "big")
    elif name == "crc32":
        expected = zlib.crc32(data).to_bytes(4, "big")
    else:
        expected = hashlib.new(name, data).digest()
    assert checksum.digest() == expected



@pytest.mark.parametrize("size", [0, 1, 8191, 8192, 65536, 65537, 200_000])
@pytest.mark.parametrize("checksum, signed", MODES)
def test_round_trip_through_the_verifier(size, checksum, signed):
    data = bytes(i % 253 for i in range(size))
    sent = upload(io.BytesIO(data), checksum, signed, chunk_size=8192 if size < 9000 else 65536)
    framed = b"".join(sent.body)
    assert len(framed) == int(sent.headers["Content-Length"])
    reader = VERIFIER.verify_chunked("PUT", sent.url, sent.headers, io.BytesIO(framed))
    assert b"".join(reader) == data
    assert reader.verified.access_key_id == CREDS.access_key_id
    # As a file, in awkward reads.
    reader = VERIFIER.verify_chunked("PUT", sent.url, sent.headers, [framed[:7], framed[7:]])
    assert b"".join(iter(lambda: reader.read(1000), b"")) == data


def test_pieces_of_any_size_make_the_same_chunks():
    data = bytes(i % 241 for i in range(300_000))
    cuts = [0, 1, 65536, 65539, 65540, 200_000, 300_000]
    pieces = [data[a:b] for a, b in zip(cuts, cuts[1:])]
    from_pieces = upload(iter(pieces), "crc32", decoded_length=len(data), timestamp="20261123T120000Z")
    whole = upload(data, "crc32", timestamp="20261123T120000Z")
    framed = b"".join(from_pieces.body)
    assert framed == b"".join(whole.body)
    received = [framed[i:i + 777] for i in range(0, len(framed), 777)]
    from fastsig._timestamp import to_epoch_seconds

    at_signing = Verifier({CREDS.access_key_id: CREDS}.get,
                          clock=lambda: to_epoch_seconds("20261123T120000Z"))
    reader = at_signing.verify_chunked("PUT", whole.url, whole.headers, iter(received))
    assert b"".join(reader) == data


def test_both_backends_frame_byte_for_byte():
    if len(_backend.available) < 2:
        pytest.skip("the compiled backend is not built")
    data = bytes(range(256)) * 1000
    framed = {}
    for name, kernels in _backend.available.items():
        saved = _backend.kernels
        _backend.kernels = kernels
        try:
            framed[name] = [b"".join(upload(data, checksum, signed, timestamp="20261123T120000Z").body)
                            for checksum, signed in MODES]
        finally:
            _backend.kernels = saved
    assert framed["python"] == framed["cython"]


@pytest.mark.parametrize("checksum, signed", MODES)
def test_tampering_is_caught(checksum, signed):
    data = bytes(i % 251 for i in range(150_000))
    sent = upload(data, checksum, signed)
    framed = b"".join(sent.body)
    expected = "BadDigest" if not signed else "SignatureDoesNotMatch"
    for position in (100, 70_000, len(framed) - 40):
        bad = bytearray(framed)
        bad[position] ^= 0x01
        with pytest.raises(VerificationError) as caught:
            b"".join(VERIFIER.verify_chunked("PUT", sent.url, sent.headers, bytes(bad)))
        assert caught.value.code in (expected, "IncompleteBody")
    for broken in (framed[:-5], framed + b"extra", framed[:100]):
        with pytest.raises(VerificationError) as caught:
            b"".join(VERIFIER.verify_chunked("PUT", sent.url, sent.headers, broken))
        assert caught.value.code == "IncompleteBody"
    lying = dict(sent.headers, **{"X-Amz-Decoded-Content-Length": "149999"})
    with pytest.raises(VerificationError):
        b"".join(VERIFIER.verify_chunked("PUT", sent.url, lying, framed))


def test_plain_verify_refuses_a_chunked_upload():
    sent = upload(b"data")
    with pytest.raises(VerificationError) as caught:
        VERIFIER.verify("PUT", sent.url, sent.headers, b"".join(sent.body))
    assert caught.value.code == "NotImplemented" and "verify_chunked" in str(caught.value)


def test_bad_input_is_refused_before_anything_is_sent():
    s3 = Signer(CREDS, "us-east-1", "s3")
    url = "https://b.s3.amazonaws.com/k"
    with pytest.raises(PayloadError):
        s3.sign_chunked("PUT", url, b"x", chunk_size=8191)
    with pytest.raises(PayloadError):
        s3.sign_chunked("PUT", url, b"x", checksum="md5")
    with pytest.raises(PayloadError):
        s3.sign_chunked("PUT", url, iter([b"x"]))  # no decoded_length for a one-shot stream
    with pytest.raises(PayloadError):
        s3.sign_chunked("PUT", url, iter([b"x"]), decoded_length=-1)
    with pytest.raises(PayloadError):
        s3.sign_chunked("PUT", url, "text")
    with pytest.raises(PayloadError, match="holds 3 bytes"):
        s3.sign_chunked("PUT", url, io.BytesIO(b"abc"), decoded_length=4)
    with pytest.raises(PayloadError):
        s3.sign_chunked("PUT", url, b"x", signed_chunks=False)
    with pytest.raises(ConfigurationError):
        Signer(CREDS, "us-east-1", "execute-api").sign_chunked("PUT", url, b"x")
    # A stream shorter or longer than declared is stopped as soon as that shows.
    for declared in (3, 5):
        sent = s3.sign_chunked("PUT", url, iter([b"ab", b"cd"]), decoded_length=declared)
        with pytest.raises(PayloadError, match="decoded_length"):
            b"".join(sent.body)
    sent = s3.sign_chunked("PUT", url, b"once")
    b"".join(sent.body)
    with pytest.raises(PayloadError, match="once"):
        iter(sent.body)


def test_memory_stays_at_a_chunk():
    size = 64 << 20

    def pieces():
        block = b"z" * (1 << 20)
        for _ in range(size >> 20):
            yield block

    sent = upload(pieces(), "crc32", decoded_length=size)
    tracemalloc.start()
    try:
        reader = VERIFIER.verify_chunked("PUT", sent.url, sent.headers, iter(sent.body))
        total = sum(len(chunk) for chunk in reader)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == size
    assert peak < 10 << 20, f"peak {peak} bytes"


@pytest.mark.server
def test_uploads_to_moto(moto, backend):
    requests = pytest.importorskip("requests")
    endpoint, creds = moto
    signer = Signer(creds, "us-east-1", "s3")
    bucket = f"chunked-{backend}-{uuid.uuid4().hex[:8]}"
    made = signer.sign("PUT", f"{endpoint}/{bucket}")
    assert requests.put(made.url, headers=made.headers, timeout=30).status_code == 200
    for size in (0, 1, 65536, 3 * 65536 + 123):
        data = bytes(i % 249 for i in range(size))
        for checksum, signed in MODES:
            url = f"{endpoint}/{bucket}/obj-{size}-{checksum}-{signed}"
            sent = signer.sign_chunked("PUT", url, io.BytesIO(data), checksum=checksum,
                                       signed_chunks=signed)
            answer = requests.put(sent.url, headers=sent.headers, data=sent.body, timeout=30)
            assert answer.status_code == 200, (size, checksum, answer.text[:300])
            fetch = signer.sign("GET", url)
            stored = requests.get(fetch.url, headers=fetch.headers, timeout=30)
            assert stored.status_code == 200 and stored.content == data, (size, checksum)
            if checksum is not None:
                value = base64.b64encode(_digest(checksum, data)).decode()
                assert f"x-amz-checksum-{checksum}:{value}".encode() in b"".join(
                    signer.sign_chunked("PUT", url, data, checksum=checksum,
                                        signed_chunks=signed).body)


def _digest(name, data):
    checksum = CHECKSUMS[name]()
    checksum.update(data)
    return checksum.digest()
