"""Disagreements between the backends that benchmarks/fuzz_differential.py found (2026-12-05),
each pinned on both backends; and a short run of the fuzz itself, so the harness keeps working.
(The held-out campaign's defects a) to e) of issue 24 are in test_verifier.py.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from fastsig import (Credentials, InvalidRequestError, InvalidURLError, MalformedRequestError,
                     Signer, Verifier, _backend)

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
WHEN = "20240229T235959Z"
METHOD_ERROR = "method must be a non-empty HTTP token such as GET"


class Text(str):
    """A str subclass: the kernels take exactly str, as the compiled ones always did."""


def context(kernels):
    return kernels.SigningContext(b"k" * 32, "AKIDEXAMPLE", WHEN, "us-east-1", "service", None,
                                  kernels.SERVICE_PATHS, False, False, frozenset())


@pytest.mark.parametrize("call, name", [
    (lambda k, v: k.uri_encode(v), "text"),
    (lambda k, v: k.uri_encode(v, True), "text"),
    (lambda k, v: k.normalize_path(v), "path"),
    (lambda k, v: k.S3_PATHS.paths(v), "path"),
    (lambda k, v: k.S3_RECEIVED_PATHS.paths(v), "path"),
    (lambda k, v: k.NORMALIZED_S3_STYLE_PATHS.paths(v), "path"),
    (lambda k, v: k.SERVICE_PATHS.paths(v), "path"),
    (lambda k, v: k.canonical_query(v), "query"),
    (lambda k, v: k.split_auth_query(v), "query"),
])
@pytest.mark.parametrize("value", [None, b"/a", 7, Text("/a")])
def test_a_kernel_given_no_str_raises_the_same_type_error(kernels, call, name, value):
    # The pure twin once answered None with a result, bytes and ints with AttributeError.
    with pytest.raises(TypeError) as info:
        call(kernels, value)
    assert str(info.value) == (
        f"Argument '{name}' has incorrect type (expected str, got {type(value).__name__})")


def test_an_invalid_method_is_named_before_a_str_body_is_hashed(kernels):
    # The compiled context hashed the body first: TypeError instead of the method's error.
    with pytest.raises(InvalidRequestError, match=METHOD_ERROR):
        context(kernels).sign("G E", "https://h/\udfff", [], None, "text body")


@pytest.mark.parametrize("keys", [[], ["a", ""], [None]])
@pytest.mark.parametrize("method", ["ΓET", "G E", ""])
def test_arrow_checks_the_method_before_the_keys(backend, method, keys):
    # The compiled kernel signed an empty column with any method; the pure one named an
    # empty key before a bad method.
    pa = pytest.importorskip("pyarrow")
    from fastsig import arrow

    signer = Signer(CREDS, "us-east-1", "s3")
    with pytest.raises(InvalidRequestError, match=METHOD_ERROR):
        arrow.presign(signer, pa.array(keys, pa.string()), bucket="my-bucket", method=method,
                      timestamp=WHEN)


# A long host, or path, then a control character: the URL pattern once let the host give
# characters back to the path, and refusing such a URL took time quadratic in its length on
# both backends (a 10 kB host: seconds; these: minutes, a test that never ends).
LONG_BAD_URLS = ["https://" + "a" * 100_000 + "\x00", "https://" + "a@" * 50_000 + "\x7f/x",
                 "https://h" + "/a" * 50_000 + "\n", "https://h/?" + "a?" * 50_000 + "\r"]


@pytest.mark.parametrize("url", LONG_BAD_URLS)
def test_a_long_url_with_a_control_character_is_refused_at_once(kernels, url):
    with pytest.raises(InvalidURLError, match="^url contains control characters$"):
        kernels.split_url(url)


@pytest.mark.parametrize("url", LONG_BAD_URLS)
def test_the_verifier_and_the_signer_refuse_it_at_once(backend, url):
    verifier = Verifier({"AKIDEXAMPLE": CREDS}.get)
    headers = {"Host": "h", "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"}
    with pytest.raises(MalformedRequestError, match="^url contains control characters$"):
        verifier.verify("GET", url, headers, b"")
    with pytest.raises(InvalidURLError, match="^url contains control characters$"):
        Signer(CREDS, "us-east-1", "s3").sign("GET", url, timestamp=WHEN)


def _fuzz_module():
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "fuzz_differential.py"
    spec = importlib.util.spec_from_file_location("fuzz_differential", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.requires_compiled
def test_a_short_differential_fuzz_finds_nothing(backend):
    if backend != "cython":
        pytest.skip("the fuzz compares both backends itself: once is enough")
    fuzz = _fuzz_module()
    saved = _backend.kernels, _backend.backend
    backends = fuzz.Backends()
    try:
        for index in range(3000):
            case = fuzz.generate(2026, index)
            assert fuzz.check(backends, case) is None, case
    finally:
        _backend.kernels, _backend.backend = saved
