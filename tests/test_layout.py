"""Imports point one way: kernels <- sigv4 <- credentials <- signer. Nothing under
fastsig/credentials/ imports fastsig.signer (or anything that does), and each module of the
package imports first in a fresh interpreter, which an import circle would break."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

import fastsig
import fastsig.credentials

COMPARES_BACKENDS = True  # imports, not signatures: once is enough
PACKAGE = pathlib.Path(fastsig.credentials.__file__).parent
MODULES = sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__")
# What the package may import from fastsig: the kernels, the low-level layer and plumbing.
ALLOWED = {"_backend", "_errors", "_http", "_timestamp", "sigv4", "credentials"}


def _fastsig_imports(path: pathlib.Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 2:  # from .. import x / from ..x import y
                if node.module:
                    yield node.module.split(".")[0]
                else:
                    yield from (alias.name for alias in node.names)
            elif node.level == 0 and (node.module or "").split(".")[0] == "fastsig":
                parts = (node.module or "").split(".")
                if len(parts) > 1:
                    yield parts[1]
                else:  # from fastsig import a, b
                    yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("fastsig"):
                    parts = alias.name.split(".")
                    yield parts[1] if len(parts) > 1 else "fastsig"


def test_the_package_has_one_module_per_source():
    assert {"assume_role", "base", "chain", "config", "container", "env", "imds", "mfa",
            "process", "profiles", "sso", "sts", "web_identity"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_credentials_never_import_the_signer(module):
    found = set(_fastsig_imports(PACKAGE / f"{module}.py"))
    assert found <= ALLOWED, f"fastsig/credentials/{module}.py imports {found - ALLOWED}"


@pytest.mark.parametrize("module", ["fastsig.credentials", "fastsig.signer", "fastsig.cli"] + [
    f"fastsig.credentials.{name}" for name in MODULES])
def test_each_module_imports_first_in_a_fresh_interpreter(module):
    # A circle shows as "partially initialized module" when the first import enters it from
    # the wrong end; fastsig's own __init__ runs first, so every entry point is tried.
    code = (f"import {module}; import fastsig, fastsig.signer; "
            "assert fastsig.Credentials is fastsig.credentials.Credentials")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


def test_public_names_stay_importable():
    from fastsig import Credentials, default_provider  # noqa: F401
    from fastsig.credentials import (  # noqa: F401
        AssumeRoleProvider, ChainProvider, ContainerProvider, CredentialsProvider,
        EnvironmentProvider, InstanceMetadataProvider, ProcessProvider, SessionTokenProvider,
        SharedFilesProvider, SSOProvider, StaticProvider, WebIdentityProvider, default_region,
        region_source)

    for name in fastsig.credentials.__all__:
        assert getattr(fastsig.credentials, name) is not None


KERNELS = PACKAGE.parent / "_kernels"
# Kernels with no pure twin: C plumbing (the byte buffer) and the compiled ASGI entry, whose
# pure-backend behaviour is the middleware's own Python path. (wsgi's one-call environ check has
# a twin: the pure backend takes the same path.)
C_ONLY = {"buffer", "asgi"}


def test_each_kernel_step_has_its_twin_of_the_same_name():
    compiled = {path.stem for path in KERNELS.glob("*.pxi")} - C_ONLY
    pure = {path.stem for path in KERNELS.glob("*.py")} - {"__init__"}
    assert compiled == pure, f"without a twin: {sorted(compiled ^ pure)}"


def test_no_kernel_file_outgrows_a_reading():
    long = {path.name: n for path in [*KERNELS.glob("*.pxi"), *KERNELS.glob("*.py"),
                                      KERNELS.parent / "_speedups.pyx"]
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 800}
    assert not long, f"split these by spec step: {long}"
