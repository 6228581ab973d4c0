"""Chooses the signing kernels once: the compiled ``_speedups`` or its pure-Python twin.

``FASTSIG_NO_EXTENSIONS`` (any non-empty value) forces the pure-Python twin. Nothing else in
fastsig imports either twin; everything reads ``kernels`` from here at the time it needs them.
"""

from __future__ import annotations

import contextlib
import os
from types import ModuleType
from typing import TYPE_CHECKING, Dict, Iterator

from . import _speedups_py

available: Dict[str, ModuleType] = {"python": _speedups_py}
#: Why the pure twin is in use ("" when the compiled core is): for the CLI's first line.
reason: str = ""

if os.environ.get("FASTSIG_NO_EXTENSIONS"):
    reason = "FASTSIG_NO_EXTENSIONS is set"
else:
    try:
        from . import _speedups
    except ImportError as exc:
        reason = f"the compiled core is not built ({exc})"
    else:
        available["cython"] = _speedups

backend: str = "cython" if "cython" in available else "python"
if TYPE_CHECKING:
    # Type checkers read the kernels through their stub, which both twins follow.
    from . import _speedups

    kernels = _speedups
else:
    kernels = available[backend]


@contextlib.contextmanager
def using(name: str) -> Iterator[ModuleType]:
    """Signers built inside the block use backend ``name`` (they read the kernels when
    built): for benchmarks and reference checks that compare the backends in one process."""
    global kernels
    saved = kernels
    kernels = available[name]
    try:
        yield kernels
    finally:
        kernels = saved
