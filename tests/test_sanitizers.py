"""The compiled core under AddressSanitizer and UBSan: a FASTSIG_DEBUG_BUILD copy of the package
runs the differential tests and fastsig.arrow's in a subprocess, and any sanitizer report fails
the test."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .test_fuzz_regressions import _fuzz_module

pytestmark = pytest.mark.requires_compiled
COMPARES_BACKENDS = True
FUZZ = _fuzz_module()  # benchmarks/fuzz_differential.py: it builds the sanitized copy


@pytest.mark.skipif(FUZZ.libasan() is None, reason="needs gcc and libasan on Linux")
def test_differential_tests_pass_under_asan_and_ubsan(tmp_path):
    error = FUZZ.build_sanitized(tmp_path, also=("tests", "benchmarks"))
    assert error is None, error
    env = dict(os.environ, FASTSIG_DEBUG_BUILD="1")
    env.pop("FASTSIG_NO_EXTENSIONS", None)
    env.update(
        LD_PRELOAD=FUZZ.libasan(),
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:strict_memcmp=1",
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
        PYTHONPATH=str(tmp_path),
    )
    run = subprocess.run(
        # fastsig.arrow's tests too: the core reads and hands out Arrow buffers of others'.
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         "tests/test_differential.py", "tests/test_arrow.py", "-k", "not million",
         # The regressions of defects that only a sanitizer sees (an over-read, a NULL memchr).
         "tests/test_verifier.py::test_d_short_authorization_values_are_refused_without_reading_past_them",
         "tests/test_verifier.py::test_e_a_bodiless_asgi_request_without_a_query_is_checked_cleanly",
         # The differential fuzz's findings, and a short run of the fuzz itself.
         "tests/test_fuzz_regressions.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200,
    )
    output = run.stdout[-3000:] + run.stderr[-3000:]
    assert run.returncode == 0, output
    assert "ERROR: AddressSanitizer" not in output and "runtime error" not in output, output
