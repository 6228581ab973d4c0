"""What users download: the sdist builds and tests on its own, the wheel holds the compiled core
and its stubs but no tests, and an install without a C compiler or Cython works on the pure path
and says so on the main job's first line."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

COMPARES_BACKENDS = True  # builds once, whatever backend the suite is on
ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(),
                                reason="runs from a source tree (a clone or an sdist)")
# The kernels' spec steps: each a compiled .pxi beside its pure twin .py of the same name.
KERNEL_STEPS = ("hashing", "timestamp", "uri", "query", "request", "headers", "signing", "keys",
                "verify", "verify_headers", "arrow")


def _run(*args, **kwargs):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900,
                          **kwargs)
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """The sdist, and the wheel that `python -m build` makes from it."""
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    env = {k: v for k, v in os.environ.items() if k != "FASTSIG_NO_EXTENSIONS"}
    _run(sys.executable, "-m", "build", "--outdir", out, ROOT, env=env)
    (sdist,) = out.glob("fastsig-*.tar.gz")
    (wheel,) = out.glob("fastsig-*.whl")
    return sdist, wheel


def test_sdist_holds_what_building_and_testing_need(dists):
    sdist, _ = dists
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        names = {name.partition("/")[2] for name in tar.getnames()}
    for needed in ("setup.py", "pyproject.toml", "README.md", "LICENSE",
                   "fastsig/_speedups.pyx", "fastsig/_speedups.pyi", "fastsig/_speedups_py.py",
                   *(f"fastsig/_kernels/{step}.{ext}" for step in KERNEL_STEPS for ext in ("pxi", "py")),
                   "fastsig/py.typed", "src_c/sha256.c", "src_c/sha256.h", "src_c/uri.c",
                   "src_c/uri.h", "src_c/crc.h", "src_c/clock.h", "tests/conftest.py",
                   "tests/suite.py", "tests/test_suite_vectors.py", "tests/vectors/README.md",
                   "tests/vectors/SHA256SUMS", "benchmarks/fuzz_differential.py",
                   "tests/vectors/sigv4-suite/aws-c-auth/LICENSE",
                   "tests/vectors/sigv4-suite/botocore/NOTICE"):
        assert needed in names, f"{needed} is not in {sdist.name}"
    listed = (ROOT / "tests" / "vectors" / "SHA256SUMS").read_text().splitlines()
    missing = {f"tests/vectors/{line.split('  ', 1)[1]}" for line in listed} - names
    assert not missing, f"vectors missing from {sdist.name}: {sorted(missing)[:5]}"
    assert "fastsig/_speedups.c" not in names, "generated C belongs to no distribution"
    assert not [n for n in names if n.endswith((".so", ".pyd", ".pyc"))]
    assert top.startswith("fastsig-")


def test_wheel_holds_the_core_and_its_stubs_but_no_tests(dists):
    _, wheel = dists
    names = zipfile.ZipFile(wheel).namelist()
    assert [n for n in names if n.startswith("fastsig/_speedups.") and n.endswith((".so", ".pyd"))]
    for needed in ("fastsig/_speedups.pyi", "fastsig/py.typed", "fastsig/__init__.py",
                   "fastsig/_speedups_py.py", "fastsig/cli.py",
                   *(f"fastsig/_kernels/{step}.py" for step in KERNEL_STEPS)):
        assert needed in names, f"{needed} is not in {wheel.name}"
    assert not [n for n in names if n.startswith("tests/") or "/tests/" in n]
    assert not [n for n in names if n.endswith((".c", ".pyx", ".pxi"))]
    # Every package of the source tree is in the wheel.
    packages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "fastsig").rglob("__init__.py")}
    for package in packages:
        assert f"{package}/__init__.py" in names, f"package {package} is not in the wheel"


def _venv(where: Path) -> Path:
    _run(sys.executable, "-m", "venv", where)
    return where / "bin" / "python"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout and CC")
@pytest.mark.parametrize("how", ["no-compiler", "no-cython"])
def test_sdist_installs_on_the_pure_path_without_a_compiler(dists, tmp_path, how):
    """A user without a C compiler (pip's isolated build still brings Cython), or without Cython
    and a build environment of pip's, gets a working pure-Python install that says so."""
    sdist, _ = dists
    python = _venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items()
           if k not in ("FASTSIG_NO_EXTENSIONS", "PYTHONPATH") and not k.startswith("AWS_")}
    env.update(CC=str(tmp_path / "no-such-cc"), LDSHARED=str(tmp_path / "no-such-cc"))
    args = [python, "-m", "pip", "install", "-v", sdist]
    if how == "no-cython":
        _run(python, "-m", "pip", "install", "-q", "setuptools>=70.1", env=env)
        args.append("--no-build-isolation")
    done = _run(*args, env=env, cwd=tmp_path)
    assert "fastsig is installed on its pure-Python path" in done.stdout + done.stderr
    check = _run(python, "-c", "import fastsig; print(fastsig.backend)", env=env, cwd=tmp_path)
    assert check.stdout.strip() == "python"
    assert not _run(python, "-m", "pip", "list", env=env).stdout.lower().count("cython")
    env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    job = _run(python, "-m", "fastsig", "presign", "--example", "--count", "2000",
               "-o", tmp_path / "urls.txt", env=env, cwd=tmp_path)
    first = job.stderr.splitlines()[0]
    assert "python backend" in first and "pure-Python path: the compiled core is not built" in first
    assert len((tmp_path / "urls.txt").read_text().splitlines()) == 2000
