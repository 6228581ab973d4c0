"""Differential tests: the compiled and the pure-Python kernels get the same random inputs and
must return identical bytes, or raise the identical exception.

These compare the two backends directly, so they run once (not per backend fixture value).
"""

from __future__ import annotations

import datetime
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fastsig import _backend, _speedups_py as py

pytestmark = pytest.mark.requires_compiled
COMPARES_BACKENDS = True

if "cython" in _backend.available:
    c = _backend.available["cython"]
else:  # pragma: no cover - the marker skips these tests
    c = None

SETTINGS = settings(max_examples=1500, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

# URL pieces that hit every branch: reserved, unreserved, escapes valid and not, dots,
# empty segments, non-BMP characters, controls, surrogates.
_PIECES = st.sampled_from(
    ["", "/", "//", ".", "..", "%", "%2", "%2F", "%2f", "%zz", "%E1%88%B4", "+", "~", " ", "?",
     "#", "&", "=", "&&", "==", "a", "Z", "0", "-", "_", "ሴ", "😀", "\t", "\n", "\x00", "\x7f",
     "\ud800", ":", "@", "[", "]", ";", "$"]
)
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=12).map("".join)
_AUTHORITY = st.sampled_from(
    ["example.com", "Example.COM:443", "example.com:8443", "u:p@example.com", "[::1]", "[::1]:80",
     "", "exa mple.com", "example.com:99999", "[zz]", "host:0", "ex%41mple.com", "ሴ.com"]
)
_SCHEME = st.sampled_from(["https", "http", "HTTPS", "wss", "ftp", "h", ""])
_URL = st.builds(lambda s, a, p: f"{s}://{a}{p}", _SCHEME, _AUTHORITY, _TEXT) | _TEXT
_NAME = st.one_of(
    st.sampled_from(["Host", "host", "X-Amz-Date", "Authorization", "X-Amz-Content-SHA256",
                     "x-amz-security-token", "User-Agent", "X-A", "x-a", "Content-Type", "", "a b",
                     "é", "X_Y"]),
    st.text(max_size=6),
)
_VALUE = st.lists(
    st.sampled_from([" ", "\t", "a", "B", "  ", "\r\n ", "\n\t", "\r", "\n", "\x00", "é", ",", ":", "\x7f"]),
    max_size=10,
).map("".join)
_HEADERS = st.one_of(
    st.none(),
    st.lists(st.tuples(_NAME, _VALUE), max_size=6),
    st.dictionaries(_NAME, _VALUE, max_size=4),
    st.just([("X-Bytes", b"v")]),
    st.just([("only-one",)]),
)
_METHOD = st.sampled_from(["GET", "get", "PoSt", "", "G E", None, "DELETE", "ΓET"])
_PAYLOAD = st.sampled_from(["UNSIGNED-PAYLOAD", py.EMPTY_SHA256, None])
_BODY = st.one_of(st.none(), st.binary(max_size=130), st.just(bytearray(b"{}")))


def outcome(call):
    try:
        return ("ok", call())
    except Exception as exc:
        return ("error", type(exc), str(exc))


def contexts(token, double, normalize, omit, content, excluded):
    args = (b"k" * 32, "AKIDEXAMPLE", "20150830T123600Z", "us-east-1", "service", token)
    return (
        py.SigningContext(*args, py.PathPolicy(double, normalize), omit, content, excluded),
        c.SigningContext(*args, c.PathPolicy(double, normalize), omit, content, excluded),
    )


_SETTINGS_ARGS = (
    st.sampled_from([None, "tok/en+=", "AQoD"]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.sampled_from([frozenset(), frozenset({"user-agent", "x-a"})]),
)


@SETTINGS
@given(_METHOD, _URL, _HEADERS, _PAYLOAD, _BODY, *_SETTINGS_ARGS)
@example("GET", "https://example.com/a b/../%2f?b=1&a=%7e&&c", [("X-A", " a\r\n  b "), ("x-a", "c")],
         None, None, None, True, True, False, False, frozenset())
@example("GET", "https://example.com\u0800/@", None, None, None, None, False, False, False, False,
         frozenset())  # a non-ASCII host: byte and str offsets differ
def test_sign_identical(method, url, headers, payload, body, token, double, normalize, omit,
                        content, excluded):
    pure, compiled = contexts(token, double, normalize, omit, content, excluded)
    want = outcome(lambda: pure.sign(method, url, headers, payload, body))
    got = outcome(lambda: compiled.sign(method, url, headers, payload, body))
    assert got == want
    if want[0] == "ok":
        assert list(got[1].headers) == list(want[1].headers)  # header order too


# The bytes either side of each unreserved range, and %-escapes: the compiled scanner sorts
# bytes sixteen at a time (and the last sixteen of a text as one window), so each is tried
# in every lane and at the tail.
_EDGES = ",/:@[`{^}\x7f\x80" + "-._~09AZaz"


@pytest.mark.parametrize("edge", _EDGES)
def test_escaped_text_scanned_alike_in_every_lane(edge):
    pure, compiled = contexts(None, False, False, False, False, frozenset())
    for position in range(35):
        text = "a" * position + quote(edge, safe="-._~") + "b" * (34 - position)
        raw = "a" * position + edge + "b" * (34 - position)
        for url in (f"https://example.com/{text}%20?{text}=%2F{text}",
                    f"https://example.com/p%20?k={text}&z=%2F{text}",
                    f"https://example.com/{raw}%20?k={raw}%20&z=%2F"):
            for call in ("sign", "presign"):
                args = (url, 60, None, "UNSIGNED-PAYLOAD") if call == "presign" else \
                       (url, None, "UNSIGNED-PAYLOAD")
                want = outcome(lambda: getattr(pure, call)("GET", *args))
                assert outcome(lambda: getattr(compiled, call)("GET", *args)) == want
            for raw in (edge, quote(edge, safe="")):  # as sent, and canonically escaped
                received = ("https://example.com/?X-Amz-Signature=" + "a" * 64 + "&k="
                            + "a" * position + raw + "b" * (34 - position))
                assert (_verify_outcome("python", "GET", received)
                        == _verify_outcome("cython", "GET", received))


def test_header_values_checked_alike_in_every_lane():
    # The compiled check takes sixteen bytes at a time (two overlapping halves from eight,
    # the last sixteen overlapping): each byte is tried in each lane of each length.
    for length in (1, 7, 8, 9, 15, 16, 17, 31, 32, 33):
        for position in range(length):
            for code in range(256):
                value = "a" * position + chr(code) + "b" * (length - position - 1)
                headers = {"X-Value": value}
                assert outcome(lambda: c.canonical_headers(headers)) == outcome(
                    lambda: py.canonical_headers(headers)), (length, position, code)


@SETTINGS
@given(_METHOD, _URL, _HEADERS, st.integers(1, 604800), *_SETTINGS_ARGS)
def test_presign_identical(method, url, headers, expires, token, double, normalize, omit,
                           content, excluded):
    pure, compiled = contexts(token, double, normalize, omit, content, excluded)
    want = outcome(lambda: pure.presign(method, url, expires, headers, "UNSIGNED-PAYLOAD"))
    got = outcome(lambda: compiled.presign(method, url, expires, headers, "UNSIGNED-PAYLOAD"))
    assert got == want


@settings(max_examples=300, deadline=None)
@given(st.lists(_URL, max_size=8), *_SETTINGS_ARGS)
def test_presign_many_identical(urls, token, double, normalize, omit, content, excluded):
    pure, compiled = contexts(token, double, normalize, omit, content, excluded)
    want = outcome(lambda: pure.presign_many("GET", urls, 60, py.EMPTY_SHA256))
    got = outcome(lambda: compiled.presign_many("GET", urls, 60, py.EMPTY_SHA256))
    assert got == want


@settings(max_examples=500, deadline=None)
@given(_METHOD, _URL, st.lists(_TEXT, max_size=6).map("\n".join), *_SETTINGS_ARGS)
@example("GET", "https://bucket.s3.amazonaws.com/", "a b\nc/ሴ\n\nd%41", None, False, False, False,
         True, frozenset())
def test_presign_lines_identical(method, prefix, keys, token, double, normalize, omit, content,
                                 excluded):
    pure, compiled = contexts(token, double, normalize, omit, content, excluded)
    want = outcome(lambda: pure.presign_lines(method, prefix, keys, 60, "UNSIGNED-PAYLOAD"))
    got = outcome(lambda: compiled.presign_lines(method, prefix, keys, 60, "UNSIGNED-PAYLOAD"))
    assert got == want
    # Called twice (the compiled twin reuses its output buffer), the answer is the same.
    assert outcome(lambda: compiled.presign_lines(method, prefix, keys, 60, "UNSIGNED-PAYLOAD")) == want



@settings(max_examples=500, deadline=None)
@given(_METHOD, _URL, st.lists(_TEXT, max_size=6).map("\n".join), *_SETTINGS_ARGS)
@example("GET", "https://bucket.s3.amazonaws.com/", "100%\na?b#c\n+ +\n写真 😀   x\n\ud800?",
         None, False, False, False, True, frozenset())
def test_presign_key_lines_identical(method, prefix, keys, token, double, normalize, omit,
                                     content, excluded):
    # The compiled twin quotes odd keys in C; the pure one with urllib's quote.
    pure, compiled = contexts(token, double, normalize, omit, content, excluded)
    want = outcome(lambda: pure.presign_key_lines(method, prefix, keys, 60, "UNSIGNED-PAYLOAD"))
    got = outcome(lambda: compiled.presign_key_lines(method, prefix, keys, 60, "UNSIGNED-PAYLOAD"))
    assert got == want
    assert outcome(lambda: compiled.presign_key_lines(
        method, prefix, keys, 60, "UNSIGNED-PAYLOAD")) == want


_UTF8_TRAPS = [b"\xc0\xaf", b"\xc1\xbf", b"\xc2", b"\xc2\x41", b"\xe0\x80\xaf", b"\xe0\xa0\x80",
               b"\xed\x9f\xbf", b"\xed\xa0\x80", b"\xef\xbf\xbf", b"\xf0\x8f\xbf\xbf",
               b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80",
               b"\xff", b"\x80", b"\xe2\x82", b"\xf0\x9f\x98", b"\xf0\x9f\x98\x80"]


@settings(max_examples=800, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_UTF8_TRAPS), st.binary(max_size=6),
                          st.sampled_from([b"a", b"/", b"%", b"?", b"#", b"+", b" ", b"\n"])),
                max_size=10).map(b"".join))
def test_presign_key_lines_bytes_identical(keys):
    # The command line passes its blocks as read: the compiled twin checks the UTF-8 itself,
    # as strictly as Python's decoder (the pure twin decodes).
    pure, compiled = contexts(None, False, False, False, True, frozenset())
    prefix = "https://bucket.s3.amazonaws.com/"
    want = outcome(lambda: pure.presign_key_lines("GET", prefix, keys, 60, "UNSIGNED-PAYLOAD"))
    got = outcome(lambda: compiled.presign_key_lines("GET", prefix, keys, 60, "UNSIGNED-PAYLOAD"))
    assert got == want


@pytest.mark.parametrize("trap", _UTF8_TRAPS)
def test_presign_key_lines_utf8_traps_identical(trap):
    pure, compiled = contexts(None, False, False, False, True, frozenset())
    prefix = "https://bucket.s3.amazonaws.com/"
    for keys in (trap, b"k/" + trap + b"/x", b"a\nb" + trap, trap + b"\nz"):
        want = outcome(lambda: pure.presign_key_lines("GET", prefix, keys, 60, "UNSIGNED-PAYLOAD"))
        assert outcome(lambda: compiled.presign_key_lines(
            "GET", prefix, keys, 60, "UNSIGNED-PAYLOAD")) == want, keys
        valid = outcome(lambda: keys.decode("utf-8"))[0] == "ok"
        assert (want[0] == "ok") == valid, (keys, want)

@SETTINGS
@given(_TEXT, st.booleans())
def test_low_level_identical(text, flag):
    for name in ("canonical_query", "normalize_path", "split_url"):
        assert outcome(lambda: getattr(c, name)(text)) == outcome(lambda: getattr(py, name)(text))
    assert outcome(lambda: c.uri_encode(text, flag)) == outcome(lambda: py.uri_encode(text, flag))
    for double in (True, False):
        assert outcome(lambda: c.PathPolicy(double, flag).paths(text)) == outcome(
            lambda: py.PathPolicy(double, flag).paths(text))


@SETTINGS
@given(_HEADERS)
def test_canonical_headers_identical(headers):
    assert outcome(lambda: c.canonical_headers(headers, ("x-a",))) == outcome(
        lambda: py.canonical_headers(headers, ("x-a",)))


_UTC = datetime.timezone.utc
_TIMESTAMPS = st.one_of(
    st.datetimes(timezones=st.sampled_from([None, _UTC, datetime.timezone(
        datetime.timedelta(hours=-5))])),
    st.integers(min_value=-10, max_value=2**64), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.text(max_size=20), st.none())


@settings(max_examples=2000, deadline=None)
@given(_TIMESTAMPS)
@example(datetime.datetime(2106, 2, 7, 6, 28, 15, 999999))  # the last second the C path reads
@example(datetime.datetime(2106, 2, 7, 6, 28, 16))
@example(datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=_UTC))  # float rounding
@example(datetime.datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=_UTC))
@example(253402300800)
@example(-0.5)
@example(True)
def test_timestamps_read_alike(timestamp):
    assert outcome(lambda: c.epoch_seconds(timestamp)) == outcome(
        lambda: py.epoch_seconds(timestamp))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=100), st.text(max_size=20))
def test_crypto_identical(data, key, text):
    assert c.sha256_hex(data) == py.sha256_hex(data)
    assert c.hmac_sha256(key, data) == py.hmac_sha256(key, data)
    assert c.SigningKey(key).sign(text.encode("ascii", "ignore").decode()) == py.SigningKey(
        key).sign(text.encode("ascii", "ignore").decode())
    assert outcome(lambda: c.derive_signing_key(text, "20150830", "r", "s")) == outcome(
        lambda: py.derive_signing_key(text, "20150830", "r", "s"))


def test_same_public_names():
    imported = {"annotations", "hashlib", "hmac", "re", "Any", "Dict", "Iterable", "List",
                "NoReturn", "Optional", "Tuple", "cast", "to_epoch_seconds", "SigningError", "parse_amz_date",
                "InvalidHeaderError", "InvalidRequestError", "InvalidURLError"}
    pure_names = {n for n in dir(py) if not n.startswith("_")} - imported
    compiled_names = {n for n in dir(c) if not n.startswith("_")} - imported
    assert pure_names == compiled_names


# -- verification -------------------------------------------------------------------------------

_WHEN = 1709251199  # 2024-02-29T23:59:59Z
_CREDS = {}


def _lookup(key):
    from fastsig import Credentials

    if key not in _CREDS and key in ("AKIDEXAMPLE", "ASIAEXAMPLE"):
        token = "tok/en+=" if key.startswith("ASIA") else None
        _CREDS[key] = Credentials(key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    return _CREDS.get(key)


def _verify_outcome(backend, method, url):
    """The verdict, and the fast path's answer next to the general path's."""
    from fastsig import Verifier, VerificationError

    with _backend.using(backend):
        verifier = Verifier(_lookup, clock=lambda: _WHEN + 5)
        fast = verifier._fast_paths()[0].check(method, url)
        try:
            general = verifier.verify(method, url, [])  # headers given: the general path
        except VerificationError as error:
            general = None
            verdict = (type(error).__name__, error.code, str(error))
        else:
            verdict = ("ok", tuple(general))
    # The fast path only ever accepts what the general path accepts, with the same result.
    assert fast is None or fast == general, (fast, general)
    return verdict


_MUTATION = st.sampled_from(["%", "%2", "%2F", "%41", "&", "=", "#", "?", "/", ".", "\x00", "é",
                             "0", "a", "A", "Z", "f", "+", " ", "X-Amz-Date=1", ""])


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(["s3", "service", "execute-api"]), _TEXT, st.booleans(),
       st.integers(1, 604800), st.lists(st.tuples(st.integers(0, 10_000), _MUTATION), max_size=3),
       st.sampled_from(["GET", "get", "PUT", "G E"]))
def test_verification_identical(service, path, temporary, expires, mutations, method):
    from fastsig import Signer, SigningError

    creds = _lookup("ASIAEXAMPLE" if temporary else "AKIDEXAMPLE")
    try:
        url = Signer(creds, "us-east-1", service).presign(
            "GET", "https://example.com/" + path.lstrip("/"), expires_in=expires,
            timestamp=_WHEN)
    except SigningError:
        return
    for index, text in mutations:
        index %= len(url) + 1
        url = url[:index] + text + url[index + 1:]
    assert _verify_outcome("python", method, url) == _verify_outcome("cython", method, url)


def _split_sorted_or_none(query):
    """The one-pass scan's split of a query: None (the full rebuild then), or the pure
    twin's split, byte for byte."""
    got = c._split_sorted_query(query)
    assert got is None or got == py.split_auth_query(query), query
    return got


def test_presigned_query_scanned_alike_at_every_offset():
    # The compiled check finds a query's "=", "&" and "%" sixty-four bytes at a time: a first
    # parameter of each length moves every one of them through each offset of a block, and
    # each byte of a few of those queries is then replaced, in each block and in the tail.
    from fastsig import Signer

    signer = Signer(_lookup("AKIDEXAMPLE"), "us-east-1", "service")
    for pad in range(66):
        url = signer.presign("GET", "https://example.com/p?A=" + "x" * pad, expires_in=60,
                             timestamp=_WHEN)
        query = url.split("?", 1)[1]
        assert _split_sorted_or_none(query) is not None, pad  # as presigners write them
        assert _verify_outcome("cython", "GET", url)[0] == "ok"
        if pad not in (0, 1, 17, 63):
            continue
        for index in range(len(query)):
            for text in ("%", "=", "&", "%2F", "%41", "~", "\x80", "&A=", "=&"):
                mutated = query[:index] + text + query[index + 1:]
                _split_sorted_or_none(mutated)
                if pad == 17:  # the whole verdict too, for one of them
                    url = "https://example.com/p?" + mutated
                    assert (_verify_outcome("python", "GET", url)
                            == _verify_outcome("cython", "GET", url)), (pad, index, text)


_PAIR_TEXT = st.text(st.characters(codec="utf-8"), max_size=70)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.tuples(_PAIR_TEXT, _PAIR_TEXT), max_size=6), _TEXT)
def test_sorted_query_scan_takes_canonical_queries_and_hands_on_the_rest(pairs, text):
    # Canonical and in order, as a presigner writes it: taken in one pass; the signature may
    # come last, out of order. Anything else, taken or not, is split as the pure twin splits it.
    canonical = py.canonical_query("&".join(f"{quote(k, safe='')}={quote(v, safe='')}"
                                            for k, v in pairs))
    if canonical:
        assert _split_sorted_or_none(canonical + "&X-Amz-Signature=" + "a" * 64) is not None
    _split_sorted_or_none(text)
    _split_sorted_or_none(canonical + text)


_HEADER_MUTATION = st.sampled_from(["", " ", "\t", ",", ";", "=", "A", "a", "0", "é", "\x00",
                                    "X-Amz-Date", "host", "%", "/"])


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(["s3", "service"]), _TEXT, st.booleans(), st.booleans(),
       st.lists(st.tuples(st.sampled_from(["X-Amz-Meta-Note", "Content-Type", "x-custom"]),
                          st.text(alphabet=" \tabcXYZ09-;=,", max_size=10)), max_size=3),
       st.integers(0, 20), st.integers(0, 10_000), _HEADER_MUTATION, st.booleans(),
       st.booleans())
def test_header_fast_path_accepts_only_what_the_general_path_accepts(
        service, path, temporary, origin_form, extra, which, index, text, unsigned_extra,
        presigned):
    """Header-signed requests, and presigned URLs sent with the headers they sign and a body,
    perhaps changed in one header: the compiled one-call check accepts nothing the general
    path refuses, with its result."""
    from fastsig import Signer, SigningError, Verifier, VerificationError

    creds = _lookup("ASIAEXAMPLE" if temporary else "AKIDEXAMPLE")
    signer = Signer(creds, "us-east-1", service)
    url = "https://example.com/" + path.lstrip("/")
    try:
        if presigned:
            presigned_url = signer.presign("PUT", url, headers=extra, timestamp=_WHEN,
                                           payload_hash=py.sha256_hex(b"body"))
            signed = None
        else:
            signed = signer.sign("PUT", url, extra, b"body", timestamp=_WHEN)
    except SigningError:
        return
    if signed is None:
        headers = [("Host", "example.com")] + list(extra)
        signed = type("Presigned", (), {"url": presigned_url})
    else:
        headers = list(signed.headers.items())
    if unsigned_extra:
        headers.append(("User-Agent", "test"))
    name, value = headers[which % len(headers)]
    index %= len(value) + 1
    headers[which % len(headers)] = (name, value[:index] + text + value[index + 1:])
    url = signed.url.split("example.com", 1)[1] if origin_form else signed.url
    body_hash = py.sha256_hex(b"body")
    verdicts = []
    for backend in ("python", "cython"):
        with _backend.using(backend):
            verifier = Verifier(_lookup, clock=lambda: _WHEN + 5)
            fast = verifier._fast_paths()[1].check("PUT", url, headers, body_hash)
            try:
                general = verifier._verify("PUT", url, headers, None, body_hash)
            except (VerificationError, SigningError):
                general = None
            assert fast is None or fast == general, (fast, general)
            # The same headers as an ASGI server gives them: bytes, lowercase names.
            try:
                raw = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers]
            except UnicodeEncodeError:
                raw = None
            if raw is not None:
                fast = verifier._fast_paths()[1].check("PUT", url, raw, body_hash)
                assert fast is None or fast == general, (fast, general)
            verdicts.append(general)
    assert verdicts[0] == verdicts[1]


_HEADER_NAMES = st.sampled_from(["Host", "host", "HOST", "User-Agent", "Accept", "X-Amz-Date",
                                 "x-amz-meta-a", "Authorization", "X-Forwarded-For", "Hos",
                                 "Hostx", "authorizatio"])
_HEADER_VALUES = st.sampled_from(["example.com", "EXAMPLE.com", "example.com:443", "example.com:80",
                                  "other.example", "", " example.com", "*/*", "a\nb", "é"])


@SETTINGS
@given(st.lists(st.tuples(_HEADER_NAMES, _HEADER_VALUES), max_size=5), st.booleans(),
       st.booleans(), st.booleans())
@example([("Host", "example.com"), ("User-Agent", "curl")], False, False, False)
@example([("User-Agent", "curl")], True, False, False)
def test_presigned_fast_path_with_headers_accepts_only_what_the_general_path_accepts(
        headers, origin_form, as_bytes, as_dict):
    from fastsig import Signer, Verifier, VerificationError

    url = Signer(_lookup("AKIDEXAMPLE"), "us-east-1", "s3").presign(
        "GET", "https://example.com/a b", timestamp=_WHEN)
    target = url.split("example.com", 1)[1] if origin_form else url
    sent = [(n.encode(), v.encode()) for n, v in headers] if as_bytes else headers
    if as_dict:
        sent = dict(sent)
    verdicts = []
    for backend in ("python", "cython"):
        with _backend.using(backend):
            verifier = Verifier(_lookup, clock=lambda: _WHEN + 5)
            fast = verifier._fast_paths()[0].check_headers("GET", target, sent)
            try:
                general = verifier._prepare("GET", target, sent).finish(None, None)
            except VerificationError as exc:
                general = (type(exc), str(exc))
            assert fast is None or fast == general, (fast, general)
            verdicts.append(general)
    assert verdicts[0] == verdicts[1]


_BYTE_MUTATION = st.sampled_from([b"", b"%", b"%4", b"\x00", b"\xff", b"\xc3\xa9", b"A", b"a", b"0",
                                  b" ", b"&", b"=", b"/", b";", b",", b"@", b"?", b"#", b":"])
_EXTRA_HEADER = st.sampled_from([None, (b"content-length", b"0"), (b"content-length", b"5"),
                                 (b"Content-Length", b" 0"), (b"transfer-encoding", b"chunked"),
                                 (b"x-amz-meta-a", b"1"), (b"X-Amz-Date", b"20240229T235959Z"),
                                 (b"user-agent", b"t"), (b"HOST", b"example.com"), (b"", b"")])


def _check_scope(verifier, scope):
    """The ASGI middleware's one call into the kernels."""
    _, check, presigned = verifier._scope_checker()
    return check(scope, presigned)


def _scope_verdict(verifier, scope):
    """What the middleware's general path makes of a scope: its VerifiedRequest, "body" when
    it would read the body first, or None for a refusal."""
    from fastsig import VerificationError
    from fastsig.middleware import ASGIMiddleware

    try:
        verified = ASGIMiddleware(None, verifier)._start(scope)
    except VerificationError:
        return None
    return verified if isinstance(verified, tuple) else "body"


@SETTINGS
@given(st.sampled_from(["s3", "service", "execute-api"]), _TEXT, st.booleans(), st.booleans(),
       st.sampled_from(["raw_path", "query_string", "name", "value", None]),
       st.integers(0, 10_000), _BYTE_MUTATION, _EXTRA_HEADER, st.sampled_from(["GET", "get", "PUT"]))
def test_scope_fast_path_accepts_only_what_the_general_path_accepts(
        service, path, temporary, presigned, part, index, text, extra, method):
    """An ASGI scope as a server gives it (bytes, lowercase names), signed either way, then
    perhaps changed by a byte or given one more header: the compiled and the pure
    ``check_scope`` accept nothing the middleware's general path refuses, with its result."""
    from fastsig import Signer, SigningError, Verifier

    signer = Signer(_lookup("ASIAEXAMPLE" if temporary else "AKIDEXAMPLE"), "us-east-1", service)
    url = "http://example.com/" + path.lstrip("/")
    try:
        if presigned:
            url, headers = signer.presign("GET", url, expires_in=600, timestamp=_WHEN), {}
        else:
            signed = signer.sign("GET", url, timestamp=_WHEN)
            url, headers = signed.url, signed.headers
    except SigningError:
        return
    target = url.split("example.com", 1)[1]
    if "#" in target:
        return
    raw_path, _, query = target.encode().partition(b"?")
    headers = [(b"host", b"example.com")] + [
        (n.lower().encode(), v.encode()) for n, v in headers.items() if n != "Host"]
    if extra is not None:
        headers.append(extra)
    scope = {"type": "http", "method": method, "scheme": "http", "raw_path": raw_path,
             "query_string": query, "headers": headers}
    clean = part is None and extra in (None, (b"content-length", b"0"), (b"user-agent", b"t"))
    if part in ("raw_path", "query_string"):
        value = scope[part]
        index %= len(value) + 1
        scope[part] = value[:index] + text + value[index + 1:]
    elif part is not None:
        which = index % len(headers)
        name, value = headers[which]
        if part == "name":
            name = name[:1] + text + name[2:]
        else:
            value = value[:index % (len(value) + 1)] + text + value[index % (len(value) + 1) + 1:]
        headers[which] = (name, value)
    verdicts = []
    for backend in ("python", "cython"):
        with _backend.using(backend):
            verifier = Verifier(_lookup, clock=lambda: _WHEN + 5)
            fast = _check_scope(verifier, scope)
            general = _scope_verdict(verifier, scope)
            assert fast is None or fast == general, (fast, general)
            if backend == "cython" and clean and method != "PUT":
                # Requests in the usual form take the fast path.
                assert fast is not None and fast == general
            verdicts.append(general)
    assert verdicts[0] == verdicts[1]


@pytest.mark.parametrize("text", [b"\xff", b"\x80", b"\xc3\xa9", b"#", b"?", b"\x00", b"\x7f"])
def test_scope_targets_scanned_alike_in_every_lane(text):
    """A byte put at each place of a target's path and query: the compiled checks take
    sixteen bytes at a time, so each lane and the overlapping tail are tried."""
    from fastsig import Signer, Verifier

    signer = Signer(_lookup("AKIDEXAMPLE"), "us-east-1", "service")
    url = "http://example.com/" + "p" * 37 + "?k=" + "v" * 37
    signed = signer.sign("GET", url, timestamp=_WHEN)
    headers = [(b"host", b"example.com")] + [
        (n.lower().encode(), v.encode()) for n, v in signed.headers.items() if n != "Host"]
    presigned = signer.presign("GET", url, expires_in=600, timestamp=_WHEN)
    for query, sent in ((None, headers), (presigned, headers[:1])):
        raw_path, _, query = (query or url).split("example.com", 1)[1].encode().partition(b"?")
        for part, value in (("raw_path", raw_path), ("query_string", query)):
            for index in range(len(value) + 1):
                scope = {"type": "http", "method": "GET", "scheme": "http", "raw_path": raw_path,
                         "query_string": query, "headers": sent,
                         part: value[:index] + text + value[index:]}
                verdicts = []
                for backend in _backend.available:
                    with _backend.using(backend):
                        verifier = Verifier(_lookup, clock=lambda: _WHEN + 5)
                        fast = _check_scope(verifier, scope)
                        general = _scope_verdict(verifier, scope)
                        assert fast is None or fast == general, (part, index)
                        verdicts.append(general)
                assert verdicts[0] == verdicts[-1], (part, index)


@pytest.mark.parametrize("signed_host, sent_host", [
    ("example.com", b"example.com:"), ("example.com", b"example.com:80"),
    ("example.com:8080", b"example.com:08080"), ("[::1]", b"[::1]:"),
])
def test_scope_fast_path_keeps_the_host_header_as_sent(signed_host, sent_host):
    """A presigned URL's Host header with a port the signers would drop or rewrite: the
    general path signs the header as sent and refuses it, so the fast path must not accept it
    by way of the URL's normalized host."""
    from fastsig import Signer, Verifier

    url = Signer(_lookup("AKIDEXAMPLE"), "us-east-1", "s3").presign(
        "GET", f"http://{signed_host}/k", expires_in=600, timestamp=_WHEN)
    raw_path, _, query = url.split(signed_host, 1)[1].encode().partition(b"?")
    scope = {"type": "http", "method": "GET", "scheme": "http", "raw_path": raw_path,
             "query_string": query, "headers": [(b"host", sent_host)]}
    for backend in _backend.available:
        with _backend.using(backend):
            verifier = Verifier(_lookup, clock=lambda: _WHEN + 5)
            assert _check_scope(verifier, scope) is None
            assert _scope_verdict(verifier, scope) is None


def test_scope_fast_path_leaves_other_scopes_alone():
    from fastsig import Verifier

    for backend in _backend.available:
        with _backend.using(backend):
            verifier = Verifier(_lookup)
            for scope in ({"type": "websocket", "raw_path": b"/", "headers": []},
                          {"type": "lifespan"}, {"type": "http"}, {},
                          {"type": "http", "method": "GET", "raw_path": b"/", "headers": [[b"a"]]},
                          {"type": "http", "method": "GET", "scheme": "ht\udc80tp",
                           "raw_path": b"/", "query_string": b"X-Amz-Signature=0",
                           "headers": [(b"host", b"example.com")]}):
                assert _check_scope(verifier, scope) is None


def test_scope_fast_path_reads_keys_by_value():
    """A scope's keys are read by value: keys that are equal strings but other objects than
    a server's interned literals, and absent optional ones, are read all the same; a key whose
    comparison empties the scope mid-read does not crash the check."""
    from fastsig import Signer, Verifier

    signed = Signer(_lookup("AKIDEXAMPLE"), "us-east-1", "service").sign(
        "GET", "http://example.com/p?q=1", timestamp=_WHEN)
    headers = [(b"host", b"example.com")] + [
        (n.lower().encode(), v.encode()) for n, v in signed.headers.items() if n != "Host"]
    usual = {"type": "http", "method": "GET", "scheme": "http", "raw_path": b"/p",
             "query_string": b"q=1", "headers": headers}
    fresh = {"".join(list(key)): value for key, value in usual.items()}
    assert all(a is not b for a, b in zip(usual, fresh))
    bare = {key: value for key, value in usual.items() if key != "scheme"}

    class Emptying(str):
        __hash__ = str.__hash__

        def __eq__(self, other):
            emptied.clear()
            return str.__eq__(self, other)

    for backend in _backend.available:
        with _backend.using(backend):
            verifier = Verifier(_lookup, clock=lambda: _WHEN + 5)
            expected = _scope_verdict(verifier, dict(usual))
            assert expected is not None
            for scope in (usual, fresh, bare):
                verdict = _check_scope(verifier, dict(scope))
                assert verdict == expected or (verdict is None and backend == "python")
            for key in usual:
                emptied = {Emptying(k) if k == key else k: v for k, v in usual.items()}
                verdict = _check_scope(verifier, emptied)
                assert verdict is None or verdict == expected


@pytest.mark.parametrize("text", ["#", "?", "/", "\x00", "\x1f", "\x7f", "\x80", "é", " "])
def test_urls_scanned_alike_at_every_place(text):
    """A character put at each place of a URL, authority included: the compiled parse finds
    its ends sixteen bytes at a time (fs_url_stop), so each lane and the overlapping tail are
    tried, in presign, presign_many and sign alike."""
    pure, compiled = contexts(None, False, False, False, False, frozenset())
    url = "https://bucket.s3.example.com/" + "p" * 37 + "?k=" + "v" * 21 + "#frag"
    for index in range(len("https://"), len(url) + 1):
        target = url[:index] + text + url[index:]
        for call in (lambda c: c.presign("GET", target, 60, None, py.EMPTY_SHA256),
                     lambda c: c.presign_many("GET", [target] * 3, 60, py.EMPTY_SHA256),
                     lambda c: c.sign("GET", target, {}, py.EMPTY_SHA256)):
            assert outcome(lambda: call(compiled)) == outcome(lambda: call(pure)), (index, text)
