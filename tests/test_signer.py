"""The Signer's contract: defaults, inputs, outputs, and a clear error for every bad input."""

from __future__ import annotations

import datetime
import io
import pickle
import threading
import warnings
from urllib.parse import urlsplit

import pytest

import fastsig
from fastsig import (
    ConfigurationError,
    Credentials,
    CredentialsError,
    ExpiringCredentialsWarning,
    InvalidHeaderError,
    InvalidRequestError,
    InvalidURLError,
    PayloadError,
    Signer,
    SigningError,
    sigv4,
)
from fastsig._key_cache import signing_keys

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzEXAMPLETOKEN//////////wEaDA=="
CREDS = Credentials("AKIDEXAMPLE", SECRET)
WHEN = "20150830T123600Z"


def s3_signer(**options):
    return Signer(CREDS, "us-east-1", "s3", **options)


def service_signer(**options):
    return Signer(CREDS, "us-east-1", "service", **options)


# -- secrets -----------------------------------------------------------------------------------


def test_credentials_never_show_secrets():
    creds = Credentials("AKIDEXAMPLE", SECRET, TOKEN, datetime.datetime(2030, 1, 1))
    for text in (repr(creds), str(creds), repr(Signer(creds, "us-east-1", "s3"))):
        assert SECRET not in text and TOKEN not in text
    assert "AKIDEXAMPLE" in repr(creds)
    signed = Signer(creds, "us-east-1", "s3").sign("GET", "https://b.s3.amazonaws.com/k")
    assert TOKEN not in repr(signed) and signed.headers["X-Amz-Security-Token"] == TOKEN


def test_credentials_are_immutable_and_picklable():
    creds = Credentials("AKIDEXAMPLE", SECRET, TOKEN)
    with pytest.raises(AttributeError):
        creds.secret_access_key = "x"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(creds)) == creds
    assert creds != Credentials("AKIDEXAMPLE", SECRET + "x", TOKEN)


@pytest.mark.parametrize(
    "args",
    [
        ("", SECRET),
        (None, SECRET),
        ("AKID", ""),
        ("AKID", None),
        ("AK ID", SECRET),
        ("AKID/x", SECRET),
        ("AKID", "sec\ud800ret"),
        ("AKID", SECRET, "tok en"),
        ("AKID", SECRET, ""),
        ("AKID", SECRET, None, "tomorrow"),
    ],
)
def test_malformed_credentials(args):
    with pytest.raises(CredentialsError) as info:
        Credentials(*args)
    assert SECRET not in str(info.value)


def test_no_secret_in_any_error_message():
    secret = "S3CR3T/very+secret+key+value+0123456789"
    signer = Signer(Credentials("AKID", secret, "T0K3N-secret-token"), "us-east-1", "s3")
    bad_calls = [
        lambda: signer.sign("GET", "ftp://x/"),
        lambda: signer.sign("GET", "https://h/", {"X-Bad": "v\r\nInjected: 1"}),
        lambda: signer.presign("GET", "https://h/", expires_in=0),
        lambda: signer.sign("GET", "https://h/", body=object()),
    ]
    for call in bad_calls:
        with pytest.raises(SigningError) as info:
            call()
        assert secret not in str(info.value) and "T0K3N" not in str(info.value)


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["s3", "s3-object-lambda", "s3express"])
def test_s3_family_defaults(service):
    signer = Signer(CREDS, "us-east-1", service)
    assert (signer.double_encode, signer.normalize_path, signer.content_sha256_header) == (
        False, False, True)
    url = signer.presign("GET", "https://b.s3.amazonaws.com/a//b/../c d", timestamp=WHEN)
    assert url.startswith("https://b.s3.amazonaws.com/a//b/../c%20d?")
    signed = signer.sign("PUT", "https://b.s3.amazonaws.com/k", body=b"hello")
    assert signed.headers["X-Amz-Content-SHA256"] == sigv4.sha256_hex(b"hello")


def test_other_services_defaults():
    signer = service_signer()
    assert (signer.double_encode, signer.normalize_path, signer.content_sha256_header) == (
        True, True, False)
    signed = signer.sign("GET", "https://example.amazonaws.com/a//b/../c%20d", timestamp=WHEN)
    assert signed.canonical_request.split("\n")[1] == "/a/c%2520d"
    assert signed.url == "https://example.amazonaws.com/a//b/../c%20d"
    assert "X-Amz-Content-SHA256" not in signed.headers


@pytest.mark.parametrize("region", ["", "us east", "us/east", None, 5])
def test_bad_region(region):
    with pytest.raises(ConfigurationError):
        Signer(CREDS, region, "s3")


@pytest.mark.parametrize("service", ["", "s 3", None])
def test_bad_service(service):
    with pytest.raises(ConfigurationError):
        Signer(CREDS, "us-east-1", service)


def test_bad_credentials_object():
    with pytest.raises(CredentialsError):
        Signer(("AKID", SECRET), "us-east-1", "s3")


def test_excluded_headers_are_sent_not_signed():
    signed = service_signer().sign(
        "GET", "https://example.amazonaws.com/", {"User-Agent": "x/1", "X-Amzn-Trace-Id": "t"}
    )
    assert signed.headers["User-Agent"] == "x/1"
    assert "user-agent" not in signed.canonical_request
    signed = service_signer(excluded_headers=["X-Skip"]).sign(
        "GET", "https://example.amazonaws.com/", {"User-Agent": "x/1", "X-Skip": "1"}
    )
    assert "user-agent:x/1" in signed.canonical_request and "x-skip" not in signed.canonical_request


def test_unsigned_payload_and_payload_hash():
    signed = s3_signer(unsigned_payload=True).sign("PUT", "https://b.s3.amazonaws.com/k", body=b"x")
    assert signed.headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    signed = s3_signer().sign("PUT", "https://b.s3.amazonaws.com/k", body=b"x",
                              payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    assert signed.canonical_request.endswith("\nSTREAMING-UNSIGNED-PAYLOAD-TRAILER")
    # A caller's X-Amz-Content-SHA256 is the payload hash when there is no body.
    signed = s3_signer().sign("PUT", "https://b.s3.amazonaws.com/k",
                              {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    assert signed.canonical_request.endswith("\nUNSIGNED-PAYLOAD")
    assert [k for k in signed.headers if k.lower() == "x-amz-content-sha256"] == [
        "X-Amz-Content-SHA256"]


@pytest.mark.parametrize("bad", ["", "abc", "A" * 64, "unsigned payload", "X\nY", 5])
def test_bad_payload_hash(bad):
    with pytest.raises(PayloadError):
        s3_signer().sign("PUT", "https://b.s3.amazonaws.com/k", payload_hash=bad)


def test_omit_session_token():
    signer = Signer(Credentials("AKID", SECRET, TOKEN), "us-east-1", "iotdevicegateway",
                    omit_session_token=True)
    signed = signer.sign("GET", "https://x.iot.us-east-1.amazonaws.com/mqtt")
    assert signed.headers["X-Amz-Security-Token"] == TOKEN
    assert "x-amz-security-token" not in signed.canonical_request
    url = signer.presign("GET", "wss://x.iot.us-east-1.amazonaws.com/mqtt")
    assert url.rpartition("&")[2].startswith("X-Amz-Security-Token=")
    assert url.index("X-Amz-Signature=") < url.index("X-Amz-Security-Token=")


# -- bodies ------------------------------------------------------------------------------------


def test_body_kinds_hash_alike():
    data = bytes(range(256)) * 1000
    want = sigv4.sha256_hex(data)
    signer = service_signer()
    for body in (data, bytearray(data), memoryview(data), io.BytesIO(data)):
        signed = signer.sign("POST", "https://example.amazonaws.com/", body=body)
        assert signed.canonical_request.endswith(want)
    text = "héllo ☃"
    assert signer.sign("POST", "https://example.amazonaws.com/", body=text).canonical_request.endswith(
        sigv4.sha256_hex(text.encode()))


def test_file_body_position_restored():
    body = io.BytesIO(b"skip-this|hash-this")
    body.seek(10)
    signed = service_signer().sign("POST", "https://example.amazonaws.com/", body=body)
    assert signed.canonical_request.endswith(sigv4.sha256_hex(b"hash-this"))
    assert body.tell() == 10


class _Unseekable(io.RawIOBase):
    def readable(self):
        return True

    def readinto(self, b):
        return 0

    def tell(self):
        raise OSError("not seekable")


class _Broken(io.BytesIO):
    def read(self, *args):
        raise OSError("disk on fire")


@pytest.mark.parametrize(
    "body", [object(), 12, "bad \ud800 text", io.StringIO("text"), _Unseekable(), _Broken(b"x")]
)
def test_unreadable_body(body):
    with pytest.raises(PayloadError):
        service_signer().sign("POST", "https://example.amazonaws.com/", body=body)


# -- URLs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "example.amazonaws.com/",
        "/path",
        "",
        "ftp://example.amazonaws.com/",
        "https:///path",
        "https://user@/path",
        "https://exa mple.com/",
        "https://example.com:port/",
        "https://example.com:0/",
        "https://example.com:65536/",
        "https://[::1/",
        "https://[::1]x/",
        "https://[zz]/",
        "https://example.com/a\nb",
        "https://example.com/a\x00b",
        "https://example.com/a?b=\x7f",
        "https://example.com/\ud800",
        "https://example.com/?a=%zz",
        "https://example.com/?a=%",
        "https://b.s3.amazonaws.com/%",
        b"https://example.com/",
        None,
    ],
)
def test_bad_urls(url):
    signer = s3_signer() if "s3" in str(url) else service_signer()
    with pytest.raises(InvalidURLError):
        signer.sign("GET", url)
    with pytest.raises(InvalidURLError):
        signer.presign("GET", url)


def test_hosts_and_ports():
    signer = service_signer()

    def host_of(url):
        return signer.sign("GET", url).headers["Host"]

    assert host_of("https://Example.AmazonAWS.com/") == "example.amazonaws.com"
    assert host_of("https://example.com:443/") == "example.com"
    assert host_of("http://example.com:80/") == "example.com"
    assert host_of("https://example.com:8443/") == "example.com:8443"
    assert host_of("http://example.com:443/") == "example.com:443"
    assert host_of("https://example.com:08443/") == "example.com:8443"
    assert host_of("https://[::1]/") == "[::1]"
    assert host_of("http://[::1]:9000/") == "[::1]:9000"
    assert host_of("https://user:pw@example.com/") == "example.com"
    signed = signer.sign("GET", "HTTPS://user:pw@Example.com:443/p?q#frag")
    assert signed.url == "https://example.com/p?q="
    assert "pw" not in signed.canonical_request


def test_caller_host_header_wins():
    signed = service_signer().sign("GET", "https://127.0.0.1:9000/", {"Host": "svc.example.com"})
    assert signed.headers["Host"] == "svc.example.com"
    assert "host:svc.example.com\n" in signed.canonical_request
    assert signed.url.startswith("https://127.0.0.1:9000/")


def test_query_is_sent_canonical():
    signed = service_signer().sign("GET", "https://example.com/?b=2&a=x+y&a=%7e&c&&e=%2f")
    # "+" is a literal plus; "%7e" is "~", unreserved, so sent bare; "&&" is no parameter.
    assert signed.url == "https://example.com/?a=x%2By&a=~&b=2&c=&e=%2F"
    assert signed.canonical_request.split("\n")[2] == "a=x%2By&a=~&b=2&c=&e=%2F"
    url = s3_signer().presign("GET", "https://b.s3.amazonaws.com/k?versionId=a+b", timestamp=WHEN)
    assert urlsplit(url).query.startswith("X-Amz-Algorithm=")
    assert "&versionId=a%2Bb&X-Amz-Signature=" in url  # sorted: "X" < "v"


def test_presign_replaces_old_auth_parameters():
    signer = s3_signer()
    first = signer.presign("GET", "https://b.s3.amazonaws.com/k", timestamp=WHEN)
    again = signer.presign("GET", first, timestamp=WHEN)
    assert again == first


def test_s3_paths_sent_in_canonical_encoding():
    signer = s3_signer()
    cases = {
        "/photos/img 1.jpg": "/photos/img%201.jpg",
        "/a+b": "/a%2Bb",
        "/a%2bb": "/a%2Bb",
        "/%7Euser/": "/~user/",
        "/ሴ/😀": "/%E1%88%B4/%F0%9F%98%80",
        "/a%2Fb": "/a/b",
        "//x//": "//x//",
        "/.././": "/.././",
        "": "/",
    }
    for path, sent in cases.items():
        signed = signer.sign("GET", "https://b.s3.amazonaws.com" + path)
        assert urlsplit(signed.url).path == sent, path
        assert signed.canonical_request.split("\n")[1] == sent, path


# -- headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"": "v"},
        {"Bad Name": "v"},
        {"Bad:Name": "v"},
        {"Naïve": "v"},
        {"X-Null": "a\x00b"},
        {"X-CR": "a\rb"},
        {"X-LF": "a\nb"},
        {"X-CRLF": "a\r\nInjected: yes"},
        {"X-Bell": "a\x07b"},
        {"X-Unicode": "é"},
        {"X-Bytes": b"v"},
        {"X-None": None},
        [("X-Pair",)],
        [1, 2],
    ],
)
def test_bad_headers(headers):
    with pytest.raises(InvalidHeaderError):
        service_signer().sign("GET", "https://example.com/", headers)
    with pytest.raises(InvalidHeaderError):
        service_signer().presign("GET", "https://example.com/", headers=headers)


def test_folded_and_repeated_headers():
    signed = service_signer().sign(
        "GET",
        "https://example.com/",
        [("My-Header", "a\r\n  b"), ("my-header", " c  d "), ("X-Tab", "\tx\t\ty\t")],
    )
    assert "my-header:a b,c d\n" in signed.canonical_request
    assert "x-tab:x y\n" in signed.canonical_request
    assert signed.headers["My-Header"] == "a b,c d"
    assert signed.headers["X-Tab"] == "\tx\t\ty\t"


def test_owned_headers_are_replaced():
    signed = Signer(Credentials("AKID", SECRET, TOKEN), "us-east-1", "s3").sign(
        "GET",
        "https://b.s3.amazonaws.com/k",
        {"authorization": "old", "X-Amz-Date": "19700101T000000Z",
         "X-Amz-Security-Token": "stale", "X-Amz-Content-SHA256": "e" * 64},
        timestamp=WHEN,
    )
    lower = {k.lower(): v for k, v in signed.headers.items()}
    assert len(lower) == len(signed.headers)
    assert lower["x-amz-date"] == WHEN and lower["x-amz-security-token"] == TOKEN
    assert lower["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKID/20150830/")


# -- method, time, expiry ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["", "GE T", "GET\n", None, "ΓET"])
def test_bad_method(method):
    with pytest.raises(InvalidRequestError):
        service_signer().sign(method, "https://example.com/")


def test_method_is_uppercased():
    assert service_signer().sign("get", "https://example.com/").method == "GET"


def test_timestamp_forms_agree():
    signer = service_signer()
    forms = [
        WHEN,
        1440938160,
        1440938160.9,
        datetime.datetime(2015, 8, 30, 12, 36, 0),
        datetime.datetime(2015, 8, 30, 12, 36, 0, tzinfo=datetime.timezone.utc),
        datetime.datetime(2015, 8, 30, 14, 36, 0,
                          tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
    ]
    signatures = {signer.sign("GET", "https://example.com/", timestamp=t).signature for t in forms}
    assert len(signatures) == 1


@pytest.mark.parametrize("bad", ["2015-08-30", "20151330T123600Z", -1, float("nan"), True, [], 1e20])
def test_bad_timestamp(bad):
    with pytest.raises(InvalidRequestError):
        service_signer().sign("GET", "https://example.com/", timestamp=bad)


@pytest.mark.parametrize("bad", [0, -1, 604801, 3.5, "3600", None, True,
                                 datetime.timedelta(days=8)])
def test_bad_expiry(bad):
    with pytest.raises(InvalidRequestError):
        s3_signer().presign("GET", "https://b.s3.amazonaws.com/k", expires_in=bad)
    with pytest.raises(InvalidRequestError):
        s3_signer().presign_many("GET", ["https://b.s3.amazonaws.com/k"], expires_in=bad)


def test_expiry_forms():
    signer = s3_signer()
    for value in (1, 604800, datetime.timedelta(hours=12)):
        url = signer.presign("GET", "https://b.s3.amazonaws.com/k", expires_in=value)
        seconds = value if isinstance(value, int) else 43200
        assert f"X-Amz-Expires={seconds}&" in url


def test_warns_when_credentials_expire_first():
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)
    signer = Signer(Credentials("AKID", SECRET, TOKEN, soon), "us-east-1", "s3")
    with pytest.warns(ExpiringCredentialsWarning):
        signer.presign("GET", "https://b.s3.amazonaws.com/k", expires_in=3600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        signer.presign("GET", "https://b.s3.amazonaws.com/k", expires_in=60)


# -- presign_many, caching, threads ------------------------------------------------------------


def test_presign_many_equals_presign():
    signer = s3_signer()
    urls = [f"https://b.s3.amazonaws.com/photos/img {i}.jpg?v={i}" for i in range(50)]
    assert signer.presign_many("GET", urls, timestamp=WHEN) == [
        signer.presign("GET", u, timestamp=WHEN) for u in urls
    ]
    assert signer.presign_many("GET", iter(urls[:3]), timestamp=WHEN) == [
        signer.presign("GET", u, timestamp=WHEN) for u in urls[:3]
    ]
    assert signer.presign_many("GET", [], timestamp=WHEN) == []


def test_signing_key_cache_is_bounded_and_keyed_without_secret():
    signing_keys.clear()
    signer = service_signer()
    for day in range(1, 400):
        signer.sign("GET", "https://example.com/", timestamp=1440938160 + day * 86400)
    assert len(signing_keys) == signing_keys.maxsize
    for cache_key in list(signing_keys._keys):
        assert SECRET not in repr(cache_key) and SECRET.encode() not in cache_key


def test_threads_share_one_signer():
    signer = s3_signer()
    want = {i: signer.presign("GET", f"https://b.s3.amazonaws.com/{i}", timestamp=WHEN)
            for i in range(200)}
    errors = []

    def work():
        for i in range(200):
            if signer.presign("GET", f"https://b.s3.amazonaws.com/{i}", timestamp=WHEN) != want[i]:
                errors.append(i)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


class _Provider:
    def __init__(self):
        self.calls = 0

    def resolve(self):
        self.calls += 1
        return CREDS


def test_signer_accepts_a_provider():
    provider = _Provider()
    signer = Signer(provider, "us-east-1", "service")
    signed = signer.sign("GET", "https://example.com/", timestamp=WHEN)
    assert signed.signature == service_signer().sign("GET", "https://example.com/",
                                                     timestamp=WHEN).signature
    assert provider.calls == 1


def test_public_api_names():
    for name in fastsig.__all__:
        assert hasattr(fastsig, name), name
    assert fastsig.backend in ("cython", "python")


def test_given_timestamps_sign_their_own_second_on_the_fast_path():
    # A datetime, an epoch int or float and an X-Amz-Date string name the same second; the
    # fast path taken for a given timestamp must never serve a neighbouring second's context.
    moment = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.timezone.utc)
    url = "https://examplebucket.s3.amazonaws.com/a b+c"
    s3, ddb = Signer(CREDS, "us-east-1", "s3"), Signer(CREDS, "us-east-1", "dynamodb")
    forms = [moment, moment.replace(tzinfo=None), 1440938160, 1440938160.75, WHEN]
    urls = {s3.presign("GET", url, timestamp=form) for form in forms}
    signed = {ddb.sign("POST", "https://dynamodb.us-east-1.amazonaws.com/", body=b"{}",
                       timestamp=form).signature for form in forms}
    assert len(urls) == 1 and len(signed) == 1
    later = moment + datetime.timedelta(seconds=1)
    assert "X-Amz-Date=20150830T123601Z" in s3.presign("GET", url, timestamp=later)
    assert "X-Amz-Date=20150830T123600Z" in s3.presign("GET", url, timestamp=moment)
    assert "X-Amz-Date=2015" not in s3.presign("GET", url)  # now, after a given second
    assert s3.presign("GET", url, timestamp=moment) == urls.pop()
    assert ddb.sign("POST", "https://dynamodb.us-east-1.amazonaws.com/", body=b"{}",
                    timestamp=later).headers["X-Amz-Date"] == "20150830T123601Z"
    with pytest.raises(fastsig.InvalidRequestError):
        s3.presign("GET", url, timestamp=float("nan"))


def test_compiled_results_stay_out_of_the_cyclic_gc(backend):
    # 100,000 kept SignedRequests cost a fifth of the signing time in full collections when
    # tracked; the compiled core leaves them untracked (strings and a dict of strings only).
    import gc

    signed = Signer(CREDS, "us-east-1", "dynamodb").sign(
        "POST", "https://dynamodb.us-east-1.amazonaws.com/", {"X-Amz-Target": "T"}, b"{}",
        timestamp=WHEN)
    assert not gc.is_tracked(signed.headers)
    assert gc.is_tracked(signed) == (backend == "python")
    assert signed.headers["X-Amz-Date"] == WHEN and signed.string_to_sign.startswith("AWS4")


def test_explicit_timestamps_take_the_contexts_own_second(backend):
    """A datetime, int or float timestamp is read by the signing context (sign_at,
    presign_at), which signs when it is the context's second and answers None otherwise;
    the Signer's answer is the same whichever way it went."""
    utc = datetime.timezone.utc
    second = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=utc)
    epoch = int(second.timestamp())
    same = [second, second.replace(tzinfo=None), second.replace(microsecond=999_999), epoch,
            epoch + 0.5]
    other = [epoch + 1, epoch - 0.5, second + datetime.timedelta(seconds=1),
             second.astimezone(datetime.timezone(datetime.timedelta(hours=2))), WHEN, True,
             -1, float("nan"), None, "x"]
    for service, url in (("s3", "https://b.s3.amazonaws.com/a b"),
                         ("dynamodb", "https://dynamodb.us-east-1.amazonaws.com/")):
        signer = Signer(CREDS, "us-east-1", service)
        want_url = signer.presign("GET", url, timestamp=WHEN)
        want = signer.sign("POST", url, {"X-Amz-Target": "T"}, b"{}", timestamp=WHEN)
        context = signer._context(WHEN)[3]
        for timestamp in same:
            assert context.presign_at(timestamp, "GET", url, 3600, None,
                                      signer._presign_payload) == want_url
            assert context.sign_at(timestamp, "POST", url, {"X-Amz-Target": "T"}, None,
                                   b"{}") == want
            assert signer.presign("GET", url, timestamp=timestamp) == want_url
            assert signer.sign("POST", url, {"X-Amz-Target": "T"}, b"{}",
                               timestamp=timestamp) == want
        for timestamp in other:
            assert context.presign_at(timestamp, "GET", url, 3600, None, "UNSIGNED-PAYLOAD") is None
            assert context.sign_at(timestamp, "POST", url, None, None, b"") is None
    # The one rule still judges what the context does not read, on both backends alike.
    signer = Signer(CREDS, "us-east-1", "s3")
    signer.presign("GET", "https://b.s3.amazonaws.com/k", timestamp=second)  # a context, fast
    for bad in (-1, float("nan"), "x", True):
        with pytest.raises((TypeError, ValueError)) as first:
            signer.presign("GET", "https://b.s3.amazonaws.com/k", timestamp=bad)
        with pytest.raises(type(first.value)) as again:
            signer.sign("GET", "https://b.s3.amazonaws.com/k", timestamp=bad)
        assert str(again.value) == str(first.value)

    # A context for a second before 1970 is nobody's quick second: quick_epoch answers -1 for
    # what it does not read (True here), and that must not pass for 1969-12-31T23:59:59
    # (the pure twin signed timestamp=True with the 1969 context; found by the fuzz).
    early = datetime.datetime(1969, 12, 31, 23, 59, 59)
    signer.presign("GET", "https://b.s3.amazonaws.com/k", timestamp=early)
    with pytest.raises(InvalidRequestError, match="timestamp must be"):
        signer.presign("GET", "https://b.s3.amazonaws.com/k", timestamp=True)
    with pytest.raises(InvalidRequestError, match="timestamp must be"):
        signer.sign("GET", "https://b.s3.amazonaws.com/k", timestamp=True)
