"""The request time: epoch seconds of a caller's timestamp.

The pure-Python twin of ``_kernels/timestamp.pxi``: the same names, byte-identical results
and the same exceptions."""

from __future__ import annotations

from typing import Any

from fastsig._timestamp import to_epoch_seconds


def epoch_seconds(timestamp: Any) -> int:
    """Whole seconds since the epoch of a request time (fastsig._timestamp's rule; the
    compiled twin reads the common forms in C)."""
    return to_epoch_seconds(timestamp)
