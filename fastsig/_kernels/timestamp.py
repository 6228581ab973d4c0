"""The request time: epoch seconds of a caller's timestamp.

The pure-Python twin of ``_kernels/timestamp.pxi``: the same names, byte-identical results
and the same exceptions."""

from __future__ import annotations

import datetime
from typing import Any

from fastsig._timestamp import to_epoch_seconds

_UTC = datetime.timezone.utc
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()


def epoch_seconds(timestamp: Any) -> int:
    """Whole seconds since the epoch of a request time (fastsig._timestamp's rule; the
    compiled twin reads the common forms in C)."""
    return to_epoch_seconds(timestamp)


def quick_epoch(timestamp: Any) -> int:
    """``epoch_seconds`` of what callers pass most (a naive or UTC ``datetime`` after 1970,
    an ``int`` or ``float`` epoch), read as the compiled twin reads it; -1 for anything else."""
    kind = timestamp.__class__
    if kind is datetime.datetime:
        if timestamp.tzinfo is None or timestamp.tzinfo is _UTC:
            secs = ((timestamp.toordinal() - _EPOCH_ORDINAL) * 86400 + timestamp.hour * 3600
                    + timestamp.minute * 60 + timestamp.second)
            if 0 <= secs < 4294967296:
                return secs
    elif kind is int:
        if 0 <= timestamp < 253402300800:
            return int(timestamp)
    elif kind is float:
        if 0.0 <= timestamp < 253402300800.0:  # false for NaN
            return int(timestamp)
    return -1
