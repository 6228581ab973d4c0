"""Canonical query strings and the presigning parameters (task 1, CanonicalQueryString).

The pure-Python twin of ``_kernels/query.pxi``: the same names, byte-identical results
and the same exceptions."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from fastsig._errors import InvalidURLError

from .uri import _reencode, _unescape, _wrong_type

# The presigning parameters: split from the query, never part of the canonical query.
_AUTH_QUERY_KEYS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    }
)


def _query_pairs(query: str) -> List[Tuple[str, str]]:
    """(key, value) pairs of a query string, each brought to the canonical encoding. Empty
    segments (``a=1&&b=2``) are not parameters; a key without ``=`` has an empty value. A
    ``+`` is a literal plus (RFC 3986), and is sent as ``%2B`` so no server can read a space."""
    pairs = []
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((_reencode(key, False), _reencode(value, False)))
    return pairs


def canonical_query(query: str) -> str:
    """The canonical query string: parameters in the canonical encoding, sorted by key and
    then value, repeated keys kept."""
    if query.__class__ is not str:
        _wrong_type("query", query)
    if not query:
        return ""
    pairs = _query_pairs(query)
    pairs.sort()
    return "&".join([k + "=" + v for k, v in pairs])


def split_auth_query(query: str) -> Tuple[str, dict]:
    """(canonical query without ``X-Amz-Signature``, the presigning parameters) of a received
    query string. The parameters are the ``X-Amz-*`` names of a presigned URL (Algorithm,
    Credential, Date, Expires, SignedHeaders, Security-Token, Signature) with their values
    decoded; a name that appears more than once maps to None."""
    if query.__class__ is not str:
        _wrong_type("query", query)
    if not query:
        return "", {}
    raw: Dict[str, Optional[str]] = {}
    kept = []
    for key, value in _query_pairs(query):
        if key in _AUTH_QUERY_KEYS:
            # A repeated parameter is refused as repeated: none of its values is decoded.
            raw[key] = None if key in raw else value
            if key == "X-Amz-Signature":
                continue
        kept.append((key, value))
    auth: Dict[str, Optional[str]] = {}
    for key, found in raw.items():
        try:
            auth[key] = None if found is None else _unescape(found).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidURLError(f"query parameter {key} is not UTF-8") from None
    kept.sort()
    return "&".join([k + "=" + v for k, v in kept]), auth
