"""Known answers for the primitives, fed in awkward pieces, through every SHA-256
implementation the machine can run (not only the one dispatch picks)."""

from __future__ import annotations

import hashlib
import hmac
import io
import random
import threading

import pytest

from fastsig import _backend, sigv4

NIST = [
    (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    (b"a" * 1_000_000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
]
RFC4231 = [
    (b"\x0b" * 20, b"Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
]
AWKWARD = [0, 1, 55, 56, 63, 64, 65]


def _implementations():
    compiled = _backend.available.get("cython")
    return compiled.sha256_implementations() if compiled else []


@pytest.fixture(params=["default"] + _implementations())
def sha_impl(request, kernels):
    """Each SHA-256 implementation of the compiled core in turn (the pure twin has one)."""
    if request.param == "default":
        yield request.param
        return
    if request.param not in kernels.sha256_implementations():
        pytest.skip(f"{request.param} belongs to the compiled backend")
    before = kernels.select_sha256(request.param)
    try:
        yield request.param
    finally:
        kernels.select_sha256(before)


@pytest.mark.parametrize("data, digest", NIST, ids=["empty", "abc", "448bits", "million-a"])
def test_sha256_nist(kernels, sha_impl, data, digest):
    assert kernels.sha256_hex(data) == digest
    h = kernels.Sha256()
    view = memoryview(data)
    pos = 0
    for i in range(len(data)):
        step = AWKWARD[i % len(AWKWARD)]
        h.update(view[pos:pos + step])
        pos += step
        if pos >= len(data):
            break
    h.update(view[pos:])
    assert h.hexdigest() == digest


def test_sha256_random_lengths(kernels, sha_impl):
    rng = random.Random(1234)
    for length in list(range(300)) + [rng.randrange(300, 10_001) for _ in range(60)]:
        data = rng.randbytes(length)
        h = kernels.Sha256()
        pos = 0
        while pos < len(data):
            step = rng.choice(AWKWARD + [rng.randrange(1, 200)])
            h.update(data[pos:pos + step])
            pos += step
        assert h.hexdigest() == hashlib.sha256(data).hexdigest(), length
        assert kernels.sha256_hex(data) == hashlib.sha256(data).hexdigest(), length


class _Text(str):
    """A str subclass, which the compiled presigning hands to the pure twin."""


def test_bulk_presigning_signs_in_pairs_alike(kernels, sha_impl):
    # Bulk presigning hashes two canonical requests at once (fs_sha256_final_x2): paths of
    # every length, so pairs of unequal block counts, among URLs signed alone (a query, the
    # twin's) that must keep their place, equal presigning one by one.
    pure = _backend.available["python"]
    args = (b"k" * 32, "AKIDEXAMPLE", "20240229T235959Z", "us-east-1", "s3", "token/+=")
    ctx = kernels.SigningContext(*args, kernels.S3_PATHS, True, False, frozenset())
    twin = pure.SigningContext(*args, pure.S3_PATHS, True, False, frozenset())
    urls = [f"https://b.s3.amazonaws.com/{'k' * n}" for n in range(0, 400, 3)]
    urls[5:5] = ["https://b.s3.amazonaws.com/q?x=1"]
    urls[20:20] = [_Text("https://b.s3.amazonaws.com/twin"), "https://b.s3.amazonaws.com/é ü"]
    urls.append("https://b.s3.amazonaws.com/last?y")
    payload = "UNSIGNED-PAYLOAD"
    one_by_one = [twin.presign("GET", str(u), 900, None, payload) for u in urls]
    for cut in range(6):
        assert ctx.presign_many("GET", urls[cut:], 900, payload) == one_by_one[cut:], cut
    assert [ctx.presign("GET", u, 900, None, payload) for u in urls] == one_by_one
    keys = "\n".join(u.split("/", 3)[3] for u in urls if "?" not in u and type(u) is str)
    lines = ctx.presign_lines("GET", "https://b.s3.amazonaws.com/", keys, 900, payload)
    assert lines == twin.presign_lines("GET", "https://b.s3.amazonaws.com/", keys, 900, payload)


def test_sha256_object_semantics(kernels):
    h = kernels.Sha256(b"ab")
    clone = h.copy()
    h.update(b"c")
    assert clone.hexdigest() == hashlib.sha256(b"ab").hexdigest()
    assert h.digest() == hashlib.sha256(b"abc").digest()
    assert h.hexdigest() == h.hexdigest()  # reading does not finalize
    h.update(bytearray(b"d"))
    assert h.hexdigest() == hashlib.sha256(b"abcd").hexdigest()
    with pytest.raises(TypeError):
        h.update("text")
    with pytest.raises(TypeError):
        kernels.sha256_hex("text")


def test_sha256_update_file(kernels):
    data = bytes(range(256)) * 3000
    h = kernels.Sha256()
    assert h.update_file(io.BytesIO(data), chunk_size=4097) == len(data)
    assert h.hexdigest() == hashlib.sha256(data).hexdigest()
    with pytest.raises(TypeError):
        kernels.Sha256().update_file(io.StringIO("text"))


def test_sha256_threads_agree(kernels):
    bodies = [bytes([i]) * (1 << 20) for i in range(4)]
    results = {}

    def work(i):
        results[i] = kernels.sha256_hex(bodies[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: hashlib.sha256(b).hexdigest() for i, b in enumerate(bodies)}


@pytest.mark.parametrize("key, data, mac", RFC4231, ids=["case1", "case2", "case6"])
def test_hmac_rfc4231(kernels, sha_impl, key, data, mac):
    assert kernels.hmac_sha256(key, data).hex() == mac
    assert kernels.SigningKey(key).digest(data).hex() == mac


def test_hmac_against_stdlib(kernels):
    rng = random.Random(99)
    for _ in range(200):
        key = rng.randbytes(rng.randrange(0, 150))
        msg = rng.randbytes(rng.randrange(0, 300))
        assert kernels.hmac_sha256(key, msg) == hmac.new(key, msg, hashlib.sha256).digest()


def test_signing_key_aws_documentation_example(kernels):
    # "Examples of how to derive a signing key for Signature Version 4" (AWS General Reference).
    key = kernels.derive_signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_uri_encode(kernels):
    assert kernels.uri_encode("a b+c/~é") == "a%20b%2Bc%2F~%C3%A9"
    assert kernels.uri_encode("a b/c", True) == "a%20b/c"
    unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    assert kernels.uri_encode(unreserved) == unreserved
    assert kernels.uri_encode("".join(map(chr, range(1, 128)))).count("%") == 128 - 1 - len(
        unreserved)


def test_low_level_layer_matches_signer(kernels):
    from fastsig import Credentials, Signer

    signer = Signer(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                    "us-east-1", "service")
    signed = signer.sign("GET", "https://example.amazonaws.com/?Param1=value1",
                         timestamp="20150830T123600Z")
    key = sigv4.derive_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830",
                                   "us-east-1", "service")
    assert sigv4.signature(key, signed.string_to_sign) == signed.signature


@pytest.mark.parametrize("name, check", [("crc32c", 0xE3069283), ("crc64nvme", 0xAE8B14860A799888)])
def test_crc_known_answers_in_pieces(kernels, name, check):
    """The CRC catalogue's check value of b"123456789", whole and fed in awkward pieces."""
    crc = getattr(kernels, name)
    assert crc(b"123456789") == check
    data = bytes(range(256)) * 9
    whole = crc(data)
    for cut in (0, 1, 7, 8, 9, 63, 64, 65, len(data)):
        assert crc(data[cut:], crc(data[:cut])) == whole
    assert crc(b"") == 0 and crc(memoryview(b"123456789")) == check
