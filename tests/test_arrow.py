"""fastsig.arrow.presign: whole Arrow columns presigned, byte for byte what presign_keys and
presign_many give, for every input layout, on both backends."""

from __future__ import annotations

import gc
import sys

import pytest

pa = pytest.importorskip("pyarrow")

from fastsig import Credentials, InvalidRequestError, Signer, _backend, arrow  # noqa: E402
from fastsig._errors import ConfigurationError  # noqa: E402

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
TOKEN_CREDS = Credentials("ASIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                          "FQoGZXIvYXdzE//token+/=")
WHEN = "20261204T120000Z"
BUCKET = "my-bucket"
MILLION = 1_000_000
# 1 in 1,000 keys is odd, as in real inventories: every trap of a URL path in turn.
ODD = ["50% off.txt", "a+b=c.txt", "tag#1", "what?.txt", "two  spaces /x", "café/ß.txt",
       "😀 emoji.png", "%2F", "~/.././x", "tab\there", "line\nfeed", "a//b", "+", "%", "#?",
       "%zz", "日本語/ファイル.txt", "q?x=1&y=2", "semi;colon:at@", "del\x7f"]


def make_keys(count: int) -> list:
    keys = []
    for i in range(count):
        if i % 1000 == 500:
            keys.append(f"{ODD[(i // 1000) % len(ODD)]}{i}")
        elif i % 997 == 3:
            keys.append(None)
        else:
            keys.append(f"photos/2024/img {i:07d}.jpg")
    return keys


@pytest.fixture(scope="module")
def million():
    """A million keys and their presign_keys URLs, made once, on the compiled backend when it
    is built (presign_keys' backends are compared with each other elsewhere)."""
    keys = make_keys(MILLION)
    with _backend.using("cython" if "cython" in _backend.available else "python"):
        signer = Signer(CREDS, "eu-west-1", "s3")
    return keys, expected_urls(signer, keys)


def expected_urls(signer, keys, **options):
    present = [key for key in keys if key is not None]
    urls = iter(signer.presign_keys(BUCKET, present, timestamp=WHEN, **options))
    return [None if key is None else next(urls) for key in keys]


def layouts(keys):
    """Each input layout of the same keys: (name, arrow object, whether it is an array)."""
    n = len(keys)
    pad = ["pad-before"] * 7
    sliced = pa.array(pad + keys + ["pad-after"] * 5, pa.string()).slice(7, n)
    view_sliced = pa.array(pad + keys, pa.string_view()).slice(7, n)
    cuts = [0, 1, n // 3, n // 3 + 9, n // 2, n]
    chunked = pa.chunked_array([pa.array(keys[a:b], pa.string()) for a, b in zip(cuts, cuts[1:])],
                               pa.string())
    return [
        ("utf8", pa.array(keys, pa.string()), True),
        ("large_utf8", pa.array(keys, pa.large_string()), True),
        ("string_view", pa.array(keys, pa.string_view()), True),
        ("sliced", sliced, True),
        ("string_view_sliced", view_sliced, True),
        ("chunked", chunked, False),
    ]


def as_list(result, is_array):
    if is_array:
        out = pa.array(result)
    else:
        out = pa.chunked_array(result)
    assert out.type == pa.large_string()
    return out.to_pylist()


def test_a_million_keys_in_each_layout_equal_presign_keys(backend, million):
    million, expected = million
    signer = Signer(CREDS, "eu-west-1", "s3")
    for name, source, is_array in layouts(million):
        result = arrow.presign(signer, source, bucket=BUCKET, timestamp=WHEN)
        assert len(result) == MILLION, name
        assert result.null_count == sum(key is None for key in million), name
        got = as_list(result, is_array)
        if got != expected:
            bad = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
            pytest.fail(f"{name}: row {bad} ({million[bad]!r}) gave {got[bad]!r}, "
                        f"presign_keys {expected[bad]!r}")
        del result, got


@pytest.mark.parametrize("options", [
    {},
    {"method": "PUT", "expires_in": 900},
    {"path_style": True},
    {"dualstack": True},
    {"endpoint_url": "http://127.0.0.1:9000"},
    {"params": {"response-content-disposition": "attachment; filename=\"x y\"",
                "versionId": "3/L4kqtJl40Nr8X8gdRQBpUMLUo"}},
])
def test_options_mean_what_they_mean_in_presign_keys(backend, options):
    keys = make_keys(5000)
    for creds in (CREDS, TOKEN_CREDS):
        signer = Signer(creds, "us-east-1", "s3")
        expected = expected_urls(signer, keys, **options)
        for name, source, is_array in layouts(keys):
            result = arrow.presign(signer, source, bucket=BUCKET, timestamp=WHEN, **options)
            assert as_list(result, is_array) == expected, (name, options)


def test_urls_without_a_bucket_equal_presign_many(backend):
    signer = Signer(CREDS, "eu-west-1", "s3")
    urls = [None if key is None else f"https://b{i % 3}.s3.eu-west-1.amazonaws.com/"
            + key.replace("%", "%25").replace("#", "%23").replace("?", "%3F")
            .replace("\t", "%09").replace("\n", "%0A").replace("\x7f", "%7F")
            + ("?x-id=GetObject" if i % 5 == 0 else "")
            for i, key in enumerate(make_keys(20_000))]
    present = [url for url in urls if url is not None]
    signed = iter(signer.presign_many("GET", present, timestamp=WHEN))
    expected = [None if url is None else next(signed) for url in urls]
    for name, source, is_array in layouts(urls):
        assert as_list(arrow.presign(signer, source, timestamp=WHEN), is_array) == expected, name
    # Another service: presign_many's rules (double encoding, normalization) too.
    sqs = Signer(CREDS, "eu-west-1", "execute-api")
    urls = ["https://api.example.com/a b/../c", "https://api.example.com/%7Euser?b=2&a=1"]
    assert pa.array(arrow.presign(sqs, pa.array(urls), timestamp=WHEN)).to_pylist() == \
        sqs.presign_many("GET", urls, timestamp=WHEN)


def test_results_are_owned_and_exported_without_a_copy(backend):
    signer = Signer(CREDS, "eu-west-1", "s3")
    result = arrow.presign(signer, pa.array(["a", None, "b"]), bucket=BUCKET, timestamp=WHEN)
    first = pa.array(result)
    second = pa.array(result)
    # Both imports read the same buffer: the one the result owns, not a copy of it.
    assert first.buffers()[2].address == second.buffers()[2].address
    expected = expected_urls(signer, ["a", None, "b"])
    del result
    gc.collect()
    assert first.to_pylist() == expected == second.to_pylist()
    stream = arrow.presign(signer, pa.chunked_array([["a"], [None, "b"]]), bucket=BUCKET,
                           timestamp=WHEN)
    assert not hasattr(stream, "__arrow_c_array__")
    assert stream.num_chunks == 2
    chunks = pa.chunked_array(stream)
    assert chunks.num_chunks == 2 and chunks.to_pylist() == expected
    assert repr(stream) == "ArrowUrls(3 URLs, 1 null)"


def test_a_buffer_is_filled_again_only_once_every_consumer_let_go(backend):
    # The compiled core keeps the last data buffer let go for the next call: a result still
    # held (here through a pyarrow import) must keep its URLs, batch after batch.
    signer = Signer(CREDS, "eu-west-1", "s3")
    batches = [make_keys(20_000 + 7 * i)[i:] for i in range(4)]
    held = []
    for keys in batches:
        result = arrow.presign(signer, pa.array(keys), bucket=BUCKET, timestamp=WHEN)
        held.append(pa.array(result))
        del result
        gc.collect()
    for keys, urls in zip(batches, held):
        assert urls.to_pylist() == expected_urls(signer, keys)
    for keys in batches:  # each result dropped before the next is made
        result = arrow.presign(signer, pa.array(keys), bucket=BUCKET, timestamp=WHEN)
        assert pa.array(result).to_pylist() == expected_urls(signer, keys)
        del result
        gc.collect()
    small = arrow.presign(signer, pa.array(["a"]), bucket=BUCKET, timestamp=WHEN)
    assert pa.array(small).to_pylist() == expected_urls(signer, ["a"])


def test_polars_takes_the_result(backend):
    pl = pytest.importorskip("polars")
    signer = Signer(CREDS, "eu-west-1", "s3")
    keys = make_keys(3000)
    series = pl.Series("key", keys, dtype=pl.String)
    result = arrow.presign(signer, series, bucket=BUCKET, timestamp=WHEN)
    assert pl.from_arrow(result).to_list() == expected_urls(signer, keys)


def test_empty_inputs(backend):
    signer = Signer(CREDS, "eu-west-1", "s3")
    for source in (pa.array([], pa.string()), pa.array([None, None], pa.large_string()),
                   pa.chunked_array([], pa.string())):
        result = arrow.presign(signer, source, bucket=BUCKET)
        out = pa.array(result) if hasattr(result, "__arrow_c_array__") else pa.chunked_array(result)
        assert out.to_pylist() == [None] * len(source)


def invalid_utf8_array():
    data = b"okbad\xffend"
    offsets = pa.py_buffer(pa.array([0, 2, 6, 9], pa.int32()).buffers()[1])
    return pa.Array.from_buffers(pa.string(), 3, [None, offsets, pa.py_buffer(data)])


@pytest.mark.parametrize("source, error, message", [
    (lambda: pa.array(["a", "", "b"]), InvalidRequestError,
     "each key must be a non-empty string, got ''"),
    (lambda: pa.chunked_array([["a"], ["b", ""]]), InvalidRequestError,
     "each key must be a non-empty string, got ''"),
    (lambda: pa.array([1, 2]), TypeError,
     "fastsig.arrow.presign takes an array of strings (utf8, large_utf8 or string_view), "
     "got the Arrow format 'l'"),
    (lambda: pa.array([b"x"]), TypeError, "got the Arrow format 'z'"),
    (lambda: pa.array(["a"]).dictionary_encode(), TypeError, "got the Arrow format 'i'"),
    (lambda: pa.table({"key": ["a"]}), TypeError, "got the Arrow format '+s'"),
    (lambda: ["a", "b"], TypeError, "an object with __arrow_c_array__ or __arrow_c_stream__), "
                                    "got list"),
    (invalid_utf8_array, InvalidRequestError, "row 1 of the array is not valid UTF-8"),
    (lambda: pa.chunked_array([pa.array(["x", "y"]), invalid_utf8_array()]), InvalidRequestError,
     "row 3 of the array is not valid UTF-8"),
])
def test_one_line_errors_alike_on_both_backends(backend, source, error, message):
    signer = Signer(CREDS, "eu-west-1", "s3")
    with pytest.raises(error) as caught:
        arrow.presign(signer, source(), bucket=BUCKET)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_option_errors(backend):
    signer = Signer(CREDS, "eu-west-1", "s3")
    keys = pa.array(["a"])
    with pytest.raises(ConfigurationError, match="go with a bucket"):
        arrow.presign(signer, keys, params={"a": "b"})
    with pytest.raises(Exception, match="bucket"):
        arrow.presign(signer, keys, bucket="Not A Bucket!")
    with pytest.raises(InvalidRequestError, match="expires_in"):
        arrow.presign(signer, keys, bucket=BUCKET, expires_in=0)
    with pytest.raises(ConfigurationError, match="S3 signers"):
        arrow.presign(Signer(CREDS, "eu-west-1", "sqs"), keys, bucket=BUCKET)


def test_the_pure_backend_says_it_needs_pyarrow(backend, monkeypatch):
    if backend != "python":
        pytest.skip("the compiled core reads the buffers itself")
    source = pa.array(["a"])
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ImportError, match="needs pyarrow: pip install pyarrow"):
        arrow.presign(Signer(CREDS, "eu-west-1", "s3"), source, bucket=BUCKET)
