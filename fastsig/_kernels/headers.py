"""Canonical headers and the signed-headers list (task 1, CanonicalHeaders, SignedHeaders).

The pure-Python twin of ``_kernels/headers.pxi``: the same names, byte-identical results
and the same exceptions."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Tuple

from fastsig._errors import InvalidHeaderError

from .request import _FIELD_VALUE, _FOLD, _TOKEN


def wsgi_headers(environ: Dict[str, Any]) -> List[Tuple[str, str]]:
    """A WSGI environ's request headers as (name, value) pairs: each ``HTTP_*`` key with its
    underscores back to dashes, and CONTENT_TYPE and CONTENT_LENGTH when not empty."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-"), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-"), value))
    return headers


def _header_items(headers: Any) -> Iterable[Any]:
    if headers is None:
        return ()
    items = getattr(headers, "items", None)
    return items() if items is not None else headers


def _check_header(item: Any) -> Tuple[str, str, str]:
    """(name, lowercase name, value with folds unfolded) of one header, or an error."""
    try:
        name, value = item
    except (TypeError, ValueError):
        raise InvalidHeaderError("headers must be a mapping or (name, value) pairs") from None
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise InvalidHeaderError(f"header name {name!r} is not an HTTP token")
    if not isinstance(value, str):
        raise InvalidHeaderError(f"header {name!r} has a value that is not a str")
    if not _FIELD_VALUE.fullmatch(value):
        raise InvalidHeaderError(
            f"header {name!r} has a value with a control character, a line break that is "
            "not a fold, or a non-ASCII character"
        )
    if "\n" in value:
        value = _FOLD.sub("", value)
    return name, name.lower(), value


def _canonical_value(value: str) -> str:
    # Trim and collapse runs of blanks (space, tab, and the blanks of unfolded lines).
    return " ".join(value.split())


class _Headers:
    """The caller's headers: what to send, and the canonical values of what to sign."""

    __slots__ = ("names", "values", "host", "content_sha256")

    def __init__(self, headers: Any, owned: frozenset) -> None:
        names: dict = {}  # lowercase name -> name as the caller spelt it first
        values: dict = {}  # lowercase name -> [value, ...]
        self.content_sha256: Optional[str] = None
        for item in _header_items(headers):
            name, lname, value = _check_header(item)
            if lname == "x-amz-content-sha256":
                self.content_sha256 = _canonical_value(value)
            if lname in owned:
                continue
            if lname in values:
                values[lname].append(value)
            else:
                names[lname] = name
                values[lname] = [value]
        host = values.get("host")
        self.host = ",".join(map(_canonical_value, host)) if host else None
        self.names = names
        self.values = values

    def to_send(self) -> dict:
        out = {}
        for lname, vals in self.values.items():
            out[self.names[lname]] = vals[0] if len(vals) == 1 else ",".join(map(_canonical_value, vals))
        return out

    def canonical(self, excluded: frozenset, extra: dict) -> Tuple[str, str]:
        """(canonical headers block, signed headers list) of the caller's headers that are not
        excluded, plus ``extra`` (lowercase name -> canonical value)."""
        signed = dict(extra)
        for lname, vals in self.values.items():
            if lname not in excluded:
                signed[lname] = ",".join(map(_canonical_value, vals))
        names = sorted(signed)
        block = "".join([n + ":" + signed[n] + "\n" for n in names])
        return block, ";".join(names)


def canonical_headers(headers: Any, excluded: Iterable[str] = ()) -> Tuple[str, str]:
    """(canonical headers block, signed headers list) of ``headers``, a mapping or (name, value)
    pairs; names in ``excluded`` (lowercase) are left out."""
    skip = frozenset(excluded)
    return _Headers(headers, skip).canonical(skip, {})
