"""Presigned URLs for many keys of one bucket: the block step shared by
``Signer.presign_keys``, ``Signer.write_presigned_keys``, ``Signer.presign_upload_parts`` and
the command line's workers.

A block of keys that need no quoting goes to the kernels' ``presign_lines`` in one call (no
Python object per URL); anything else is quoted key by key and goes through
``presign_many``. Both give the same bytes.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, List, Mapping, Sequence, Tuple, Union
from urllib.parse import quote

from ._errors import InvalidRequestError

__all__ = ["encode_params", "part_query", "presign_key_block", "presign_parts", "quote_key"]

# Characters that cannot stay raw in the path of a URL built from a key: '%' would read as an
# escape, '?' and '#' would end the path, control characters are refused by the signer
# (a key may hold CR or LF: S3 allows them).
NEEDS_QUOTING = re.compile(r"[%?#\x00-\x1f\x7f]")
# The same without '\n', for a block of keys joined by newlines.
_NEEDS_QUOTING_IN_BLOCK = re.compile(r"[%?#\x00-\x09\x0b-\x1f\x7f]")
KEY_SAFE = "/~!$&'()*+,;=:@"
MAX_PARTS = 10_000  # S3's limit on the parts of a multipart upload

Params = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]


def quote_key(key: str) -> str:
    """A key as the path after the bucket's '/': raw where the signer can encode it itself
    (its canonical encoding is the one botocore sends), escaped where a raw character would
    change the URL."""
    return quote(key, safe=KEY_SAFE) if NEEDS_QUOTING.search(key) else key


def encode_params(params: Params) -> str:
    """Extra query parameters, encoded as SigV4 wants them (RFC 3986, '~' kept), in order."""
    if not params:
        return ""
    items = params.items() if isinstance(params, Mapping) else params
    parts = []
    for name, value in items:
        if not isinstance(name, str) or not name or not isinstance(value, str):
            raise InvalidRequestError("params are (name, value) pairs of strings, name non-empty")
        parts.append(quote(name, safe="~") + "=" + quote(value, safe="~"))
    return "&".join(parts)


def presign_key_block(context: Any, method: str, prefix: str, keys: Sequence[str], query: str,
                      expires_in: int, payload_hash: str) -> bytes:
    """Each key's presigned URL followed by a newline, in UTF-8. ``context`` is a signer's
    signing context, ``prefix`` a bucket's URL ending in '/' (checked by the caller), ``query``
    the encoded extra parameters ('' for none)."""
    for key in keys:
        if key.__class__ is not str or not key:
            # An empty key would presign the bucket itself (ListObjects, DeleteBucket...).
            raise InvalidRequestError(f"each key must be a non-empty string, got {key!r}")
    if not keys:
        return b""
    text = "\n".join(keys)
    if (not query and _NEEDS_QUOTING_IN_BLOCK.search(text) is None
            and text.count("\n") == len(keys) - 1):
        return context.presign_lines(method, prefix, text, expires_in, payload_hash)
    suffix = "?" + query if query else ""
    urls = context.presign_many(method, [prefix + quote_key(key) + suffix for key in keys],
                                expires_in, payload_hash)
    urls.append("")
    return "\n".join(urls).encode()


def part_query(upload_id: Any, part_count: Any) -> List[str]:
    """The query of each part's URL, parts 1..``part_count``, as botocore's ``upload_part``
    sends it (``partNumber``, ``uploadId``)."""
    if not isinstance(upload_id, str) or not upload_id:
        raise InvalidRequestError("upload_id must be a non-empty string")
    if part_count.__class__ is not int or not 1 <= part_count <= MAX_PARTS:
        raise InvalidRequestError(f"part_count must be 1..{MAX_PARTS}, got {part_count!r}")
    encoded = quote(upload_id, safe="~")
    return [f"partNumber={number}&uploadId={encoded}" for number in range(1, part_count + 1)]


def presign_parts(context: Any, method: str, prefix: str, key: str, upload_id: Any,
                  part_count: Any, expires_in: int, payload_hash: str,
                  extra_query: str = "") -> List[str]:
    """One presigned URL per part of a multipart upload of ``key``."""
    if key.__class__ is not str or not key:
        raise InvalidRequestError(f"the key must be a non-empty string, got {key!r}")
    base = prefix + quote_key(key) + "?"
    tail = "&" + extra_query if extra_query else ""
    return context.presign_many(
        method, [base + query + tail for query in part_query(upload_id, part_count)],
        expires_in, payload_hash)

