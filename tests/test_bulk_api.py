"""The public bulk API: ``Signer.presign_keys``, ``write_presigned_keys`` and
``presign_upload_parts`` against botocore's ``generate_presigned_url`` (s3v4, same moment),
and part URLs uploading a real multipart upload to moto's S3 on 127.0.0.1."""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import random
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fastsig import Credentials, InvalidRequestError, Signer, SigningError, Verifier
from fastsig._key_urls import quote_key

WHEN = datetime.datetime(2024, 2, 29, 23, 59, 59, tzinfo=datetime.timezone.utc)
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
ODD = ["50%.txt", "100%25 literal", "a+b=c&d.txt", "hash#tag", "what?.txt", "a key with spaces",
       "café/naïve ☃.txt", "emoji 😀.bin", "~user/file", "double//slash", "./dot/../segments",
       "tab\there", "cr\rlf\nkey", "quote\"and'apostrophe", "comma,semi;colon", "trailing/",
       " leading space", "k" * 1024, "ünïcödé/" * 20 + "end", "%2F", "+", "#", "?"]


def thousand_keys() -> list:
    rng = random.Random(26)
    keys = [f"photos/{2000 + i % 25}/img {i:07d}.jpg" for i in range(1000 - len(ODD))]
    for key in ODD:
        keys.insert(rng.randrange(len(keys)), key)
    return keys


@pytest.fixture
def botocore_s3(monkeypatch):
    """A botocore S3 client presigning with s3v4 at WHEN."""
    botocore_auth = pytest.importorskip("botocore.auth")
    import botocore.session
    from botocore.config import Config

    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda: WHEN.replace(tzinfo=None))
    try:  # with awscrt installed, botocore presigns S3 URLs through it
        import botocore.crt.auth as crt_auth
    except ImportError:
        pass
    else:
        monkeypatch.setattr(crt_auth, "get_current_datetime", lambda remove_tzinfo=True: WHEN)

    def client(region, token=None, **config):
        # botocore presigns on the global host (bucket.s3.amazonaws.com) unless told the
        # regional one, which fastsig builds, as the SDKs' current endpoint rules do.
        dualstack = config.pop("use_dualstack_endpoint", False)
        config.setdefault("addressing_style", "virtual")
        host = f"s3.dualstack.{region}" if dualstack else f"s3.{region}"
        session = botocore.session.get_session()
        return session.create_client(
            "s3", region_name=region, endpoint_url=f"https://{host}.amazonaws.com",
            aws_access_key_id=CREDS.access_key_id,
            aws_secret_access_key=CREDS.secret_access_key, aws_session_token=token,
            config=Config(signature_version="s3v4", s3=config))

    return client


def same_url(ours: str, theirs: str) -> None:
    """The same URL: scheme, host and path exactly, the same query parameters (botocore
    lists the operation's parameters first, fastsig in canonical order)."""
    a, b = urlsplit(ours), urlsplit(theirs)
    assert (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path)
    assert sorted(parse_qsl(a.query, keep_blank_values=True)) == \
        sorted(parse_qsl(b.query, keep_blank_values=True))


@pytest.mark.parametrize("token", [None, "FQoGZXIvYXdzE//token+/="])
def test_presign_keys_equals_botocore_on_1000_keys(botocore_s3, token):
    keys = thousand_keys()
    creds = Credentials(CREDS.access_key_id, CREDS.secret_access_key, token)
    client = botocore_s3("eu-west-1", token)
    urls = Signer(creds, "eu-west-1", "s3").presign_keys("my-bucket", keys, expires_in=900,
                                                         timestamp=WHEN)
    assert len(urls) == len(keys)
    for key, url in zip(keys, urls):
        expected = client.generate_presigned_url(
            "get_object", Params={"Bucket": "my-bucket", "Key": key}, ExpiresIn=900)
        assert url == expected or same_url(url, expected) is None, key


def test_presign_keys_options_equal_botocore(botocore_s3):
    keys = ["a b.txt", "x+y%z", "😀"]
    for region, bucket, options, config in [
        ("us-east-1", "bkt", {"path_style": True}, {"addressing_style": "path"}),
        ("eu-west-1", "bkt", {"dualstack": True}, {"use_dualstack_endpoint": True}),
        # Dots and legacy names: path-style, as botocore's own endpoint rules choose.
        ("eu-west-1", "dotted.bucket", {}, {"addressing_style": "path"}),
        ("us-east-1", "Legacy_Bucket", {}, {"addressing_style": "path"}),
    ]:
        client = botocore_s3(region, **config)
        urls = Signer(CREDS, region, "s3").presign_keys(
            bucket, keys, method="PUT", expires_in=60, timestamp=WHEN,
            params={"response-content-type": "text/plain"} if not options else None, **options)
        for key, url in zip(keys, urls):
            params = {"Bucket": bucket, "Key": key}
            if not options:
                params["ResponseContentType"] = "text/plain"
            method = "put_object" if options else "get_object"
            expected = client.generate_presigned_url(method, Params=params, ExpiresIn=60,
                                                     HttpMethod="PUT")
            same_url(url, expected)


def test_write_presigned_keys_streams_the_same_urls(backend):
    keys = thousand_keys()
    signer = Signer(CREDS, "eu-west-1", "s3")
    out = io.BytesIO()
    written = signer.write_presigned_keys(out, "my-bucket", iter(keys), timestamp=WHEN,
                                          block_size=97)
    assert written == len(keys)
    assert out.getvalue().decode().split("\n")[:-1] == signer.presign_keys(
        "my-bucket", keys, timestamp=WHEN)


def test_presign_keys_refuses_what_would_be_a_wrong_url(backend):
    signer = Signer(CREDS, "eu-west-1", "s3")
    for keys in ([""], ["ok", ""], [None], [b"bytes"]):
        with pytest.raises(InvalidRequestError, match="key"):
            signer.presign_keys("my-bucket", keys)
    assert signer.presign_keys("my-bucket", []) == []
    with pytest.raises(Exception, match="S3 signers"):
        Signer(CREDS, "eu-west-1", "sqs").presign_keys("my-bucket", ["k"])


def test_upload_part_urls_equal_botocore(botocore_s3):
    client = botocore_s3("eu-west-1")
    upload_id = "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA--~.x/y+z="
    for key in ["big file.iso", "50%+#?.bin"]:
        urls = Signer(CREDS, "eu-west-1", "s3").presign_upload_parts(
            "my-bucket", key, upload_id, 10_000, expires_in=3600, timestamp=WHEN)
        assert len(urls) == 10_000
        for number in (1, 2, 9_999, 10_000):
            expected = client.generate_presigned_url(
                "upload_part", Params={"Bucket": "my-bucket", "Key": key, "UploadId": upload_id,
                                       "PartNumber": number}, ExpiresIn=3600)
            same_url(urls[number - 1], expected)
    signer = Signer(CREDS, "eu-west-1", "s3")
    for count in (0, 10_001, True, 2.0):
        with pytest.raises(InvalidRequestError, match="part_count"):
            signer.presign_upload_parts("my-bucket", "k", "id", count)
    with pytest.raises(InvalidRequestError, match="upload_id"):
        signer.presign_upload_parts("my-bucket", "k", "", 1)


@pytest.mark.server
def test_part_urls_upload_to_moto(backend, open_moto):
    requests = pytest.importorskip("requests")
    endpoint = open_moto
    creds = Credentials("AKIDMOTO", "moto-secret")
    s3 = Signer(creds, "us-east-1", "s3")
    bucket = f"parts-{backend}-{os.getpid()}"
    key = "videos/big file+100%.bin"
    path = f"{endpoint}/{bucket}/{quote(key, safe='/')}"

    def call(method, url, body=None):
        signed = s3.sign(method, url, None, body)
        response = requests.request(method, signed.url, headers=signed.headers, data=body,
                                    timeout=30)
        assert response.status_code == 200, response.text
        return response

    call("PUT", f"{endpoint}/{bucket}")
    created = call("POST", path + "?uploads").text
    upload_id = created.split("<UploadId>")[1].split("</UploadId>")[0]
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(5 * 1024 * 1024), b"tail" * 1000]
    urls = s3.presign_upload_parts(bucket, key, upload_id, len(parts), expires_in=600,
                                   endpoint_url=endpoint, path_style=True)
    # moto does not check presigned signatures: fastsig's verifier does, pinned to the scope.
    verifier = Verifier({creds.access_key_id: creds}.get, region="us-east-1", service="s3")
    etags = []
    for number, (url, data) in enumerate(zip(urls, parts), 1):
        verified = verifier.verify("PUT", url)
        assert verified.region == "us-east-1" and verified.service == "s3"
        assert f"partNumber={number}&" in url
        response = requests.put(url, data=data, timeout=60)
        assert response.status_code == 200, response.text
        etags.append(response.headers["ETag"])
    complete = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
        for n, etag in enumerate(etags, 1)) + "</CompleteMultipartUpload>"
    call("POST", f"{path}?uploadId={quote(upload_id, safe='')}", complete.encode())
    body = call("GET", path).content
    assert hashlib.sha256(body).digest() == hashlib.sha256(b"".join(parts)).digest()


_KEY_PIECES = st.sampled_from(
    ["a", "/", "//", " ", "   ", "%", "%41", "%2F", "%zz", "+", "?", "#", "&", "=", "~", ".", "..",
     "\t", "\r", "\x7f", "\x00", "é", "ሴ", "写真", "😀", "\ud800", "@", ":", "'", "!"])
_KEY = st.lists(st.one_of(_KEY_PIECES, st.text(max_size=3)), min_size=1, max_size=10).map(
    "".join).filter(lambda key: key and "\n" not in key)


def _key_lines_context(backend):
    signer = Signer(CREDS, "us-east-1", "s3")
    return signer._presign_setup(3600, WHEN, None)


def _outcome(call):
    try:
        return ("ok", call())
    except Exception as exc:
        return ("error", type(exc), str(exc))


def test_presign_key_lines_quotes_exactly_the_lines_that_need_it(backend):
    # presign_key_lines (the CLI's and write_presigned_keys' block step) equals presign_many
    # of prefix + quote_key(key), byte for byte: odd keys are quoted by the kernel itself.
    context, expires_in, payload_hash = _key_lines_context(backend)
    prefix = "https://bkt.s3.us-east-1.amazonaws.com/"
    keys = [key for key in thousand_keys() if "\n" not in key]
    for start in range(0, 40, 3):
        chunk = keys[start:start + 60] + ["%", "a", "?#", "tail\t", "100%/x+y", "写真 😀   x"]
        got = context.presign_key_lines("GET", prefix, "\n".join(chunk), expires_in, payload_hash)
        want = context.presign_many("GET", [prefix + quote_key(key) for key in chunk],
                                    expires_in, payload_hash)
        assert got == ("\n".join(want) + "\n").encode()


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_KEY, min_size=1, max_size=8))
@example(["a\ud800", "b?"])
@example(["%", "#", "?", "+", "a  b", "é", "😀"])
def test_presign_key_lines_equals_presign_many_and_presign(backend, keys):
    context, expires_in, payload_hash = _key_lines_context(backend)
    prefix = "https://bkt.s3.us-east-1.amazonaws.com/"
    got = _outcome(lambda: context.presign_key_lines("GET", prefix, "\n".join(keys),
                                                     expires_in, payload_hash))
    want = _outcome(lambda: context.presign_many(
        "GET", [prefix + quote_key(key) for key in keys], expires_in, payload_hash))
    if want[0] == "ok":
        assert got == ("ok", ("\n".join(want[1]) + "\n").encode())
        one = [context.presign("GET", prefix + quote_key(key), expires_in, None, payload_hash)
               for key in keys]
        assert one == want[1]
    else:  # a lone surrogate: the library's error, not a UnicodeEncodeError
        assert got[0] == "error" and issubclass(got[1], SigningError), got
    # The compiled twin reuses its output buffer: a second call gives the same bytes.
    assert _outcome(lambda: context.presign_key_lines(
        "GET", prefix, "\n".join(keys), expires_in, payload_hash)) == got


_LISTED_KEY = st.lists(st.one_of(_KEY_PIECES, st.text(st.characters(blacklist_categories=("Cs",)),
                                                      max_size=4)),
                       min_size=1, max_size=8).map("".join).filter(
    lambda key: key and "\n" not in key and "\r" not in key and "\ud800" not in key)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_LISTED_KEY, min_size=1, max_size=12))
@example(["plain/a.jpg", "100%/q.csv", "notes#1.txt", "what?.html", "c++/x+y.o", "写真/東京.jpg",
          "\U0001f600 party.png", "old   file  .txt", "tab\there", "%2F%zz"])
def test_cli_block_of_random_unicode_keys_equals_presign_keys(backend, monkeypatch, keys):
    # The command line's worker step on a block as read (bytes, odd keys quoted by the kernel)
    # gives, byte for byte, the URLs presign_keys and Signer.presign give for the same keys.
    from fastsig import _bulk
    from fastsig.cli import EXAMPLE_CREDENTIALS

    # A worker's setup, but not its allocator's tuning: this is pytest's process.
    monkeypatch.setattr(_bulk, "_keep_freed_memory", lambda: None)
    monkeypatch.setattr(_bulk, "_job", None)
    stamp = int(WHEN.timestamp())
    _bulk._setup(_bulk.Job(
        credentials=EXAMPLE_CREDENTIALS, region="eu-west-1", service="s3", method="GET",
        expires_in=600, timestamp=stamp, input_format="lines", field="key", bucket="bkt",
        path_style=False, endpoint_url=None, dualstack=False, query="", output_format="lines",
        skip_invalid=False, expires_text="x"))
    result = _bulk.work(("\n".join(keys) + "\n").encode(), 1)
    signer = Signer(EXAMPLE_CREDENTIALS, "eu-west-1", "s3")
    want = signer.presign_keys("bkt", keys, expires_in=600, timestamp=WHEN)
    assert result.output.decode().splitlines() == want
    assert [signer.presign("GET", f"https://bkt.s3.eu-west-1.amazonaws.com/{quote_key(key)}",
                           expires_in=600, timestamp=WHEN) for key in keys] == want


def test_cli_hot_path_with_odd_keys_equals_presign_keys(backend):
    # A listing without blank lines or CRLF, odd keys mixed in: the block goes to
    # presign_key_lines whole, which quotes the odd keys itself.
    from .test_cli import EXAMPLE, check_keys, presign

    keys = [key for key in thousand_keys() if "\n" not in key and "\r" not in key]
    done = presign(backend, "--bucket", "bkt", "--region", "eu-west-1", "--expires-in", "7d",
                   "--workers", "2", input="\n".join(keys) + "\n")
    assert done.returncode == 0, done.stderr
    urls = done.stdout.splitlines()
    signer = Signer(Credentials(*EXAMPLE), "eu-west-1", "s3")
    assert urls == signer.presign_keys("bkt", keys, expires_in=604800,
                                       timestamp="20150830T123600Z")
    odd = [i for i, key in enumerate(keys) if any(c in key for c in "%?#\t+")]
    check_keys([urls[i] for i in odd], [keys[i] for i in odd])
