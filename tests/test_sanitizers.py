"""The compiled core under AddressSanitizer and UBSan: a FASTSIG_DEBUG_BUILD copy of the package
runs the differential tests and fastsig.arrow's in a subprocess, and any sanitizer report fails
the test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.requires_compiled
COMPARES_BACKENDS = True
ROOT = Path(__file__).resolve().parent.parent


def _libasan():
    if not sys.platform.startswith("linux") or not shutil.which("gcc"):
        return None
    path = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                          text=True).stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else None


@pytest.mark.skipif(_libasan() is None, reason="needs gcc and libasan on Linux")
def test_differential_tests_pass_under_asan_and_ubsan(tmp_path):
    for name in ("fastsig", "src_c", "tests", "benchmarks"):
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("*.so", "*.pyd", "_speedups.c", "__pycache__"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    env = dict(os.environ, FASTSIG_DEBUG_BUILD="1")
    env.pop("FASTSIG_NO_EXTENSIONS", None)
    build = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
    assert list((tmp_path / "fastsig").glob("_speedups*.so")), build.stderr[-3000:]
    env.update(
        LD_PRELOAD=_libasan(),
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
