"""Which backend is in use, and proof that a build did not silently fall back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import fastsig
from fastsig import _backend


def _fresh_backend(env_extra):
    env = {k: v for k, v in os.environ.items() if k != "FASTSIG_NO_EXTENSIONS"}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", "import fastsig; print(fastsig.backend)"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_no_extensions_forces_python():
    assert _fresh_backend({"FASTSIG_NO_EXTENSIONS": "1"}) == "python"


def test_compiled_backend_is_used_when_built():
    # With a C compiler on the machine the install must have built the core: a silent fallback
    # to pure Python fails here (CI has a compiler).
    built = "cython" in _backend.available
    if os.environ.get("FASTSIG_NO_EXTENSIONS"):
        assert not built
        return
    if shutil.which("cc") or shutil.which("gcc") or shutil.which("clang"):
        assert built, "a C compiler is present but fastsig._speedups was not built"
    if built:
        assert _fresh_backend({}) == "cython"


def test_backend_attribute_matches_fixture(backend):
    assert fastsig.backend == backend
    assert _backend.backend == backend
