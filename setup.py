"""Builds the compiled core, or falls back loudly to the pure-Python twin.

- ``FASTSIG_NO_EXTENSIONS=1`` skips the compiled core.
- ``FASTSIG_DEBUG_BUILD=1`` builds it with ``-O0 -g`` and AddressSanitizer + UBSan.
- A failed compile leaves a working pure-Python install and says so, except under
  cibuildwheel (``CIBUILDWHEEL=1``), where a wheel without its core is an error.
"""

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
NO_EXTENSIONS = bool(os.environ.get("FASTSIG_NO_EXTENSIONS"))
DEBUG = bool(os.environ.get("FASTSIG_DEBUG_BUILD"))
STRICT = os.environ.get("CIBUILDWHEEL") == "1"
C_SOURCES = ["src_c/sha256.c", "src_c/sha256_x86.c", "src_c/sha256_arm.c", "src_c/uri.c", "src_c/crc.c"]
# MANIFEST.in puts the headers in the sdist.
C_HEADERS = ["src_c/sha256.h", "src_c/uri.h", "src_c/crc.h", "src_c/clock.h", "src_c/arrow_abi.h"]


def compile_args():
    if sys.platform == "win32":
        return (["/Od", "/Zi"] if DEBUG else ["/O2", "/W3"]), []
    if DEBUG:
        flags = ["-O0", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined"]
        return flags + ["-std=c99", "-Wall", "-Wextra"], ["-fsanitize=address,undefined"]
    return ["-O3", "-std=c99", "-Wall", "-Wextra", "-Wno-unused-function"], []


def fall_back(exc):
    """Say loudly that the install goes on without the compiled core (never under
    cibuildwheel, where a wheel without its core is an error)."""
    if STRICT:
        raise exc
    bar = "*" * 78
    sys.stderr.write(
        f"\n{bar}\n"
        f"WARNING: fastsig's compiled core could not be built ({type(exc).__name__}: {exc}).\n"
        "fastsig is installed on its pure-Python path: same results, slower.\n"
        "Install a C compiler and the Python headers, then reinstall, for full speed.\n"
        f"{bar}\n\n"
    )


class OptionalBuildExt(build_ext):
    """build_ext that turns a compile failure into a loud warning and a pure-Python install."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - compiler, headers or Cython missing...
            fall_back(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001 - the same fallback, per extension
            fall_back(exc)


def extensions():
    if NO_EXTENSIONS:
        sys.stderr.write("FASTSIG_NO_EXTENSIONS is set: installing the pure-Python path only.\n")
        return []
    cflags, ldflags = compile_args()
    ext = Extension(
        "fastsig._speedups",
        sources=["fastsig/_speedups.pyx"] + C_SOURCES,
        include_dirs=["src_c"],
        depends=C_HEADERS,
        extra_compile_args=cflags,
        extra_link_args=ldflags,
    )
    try:
        from Cython.Build import cythonize
    except ImportError as exc:
        fall_back(exc)
        return []
    return cythonize(
        [ext],
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
        quiet=True,
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
