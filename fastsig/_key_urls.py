"""Presigned URLs for many keys of one bucket: the block step shared by
``Signer.presign_keys``, ``Signer.write_presigned_keys``, ``Signer.presign_upload_parts`` and
the command line's workers.

A block of keys goes to the kernels' ``presign_key_lines`` in one call (no Python object per
URL), which quotes the odd keys itself (in C on the compiled backend); a list of keys is
quoted key by key and goes through ``presign_many``. Both give the same bytes.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Sequence, Tuple, Union
from urllib.parse import quote

from ._errors import InvalidRequestError
# The key-quoting rule lives with the kernels, which quote a block's keys by it (in C on the
# compiled backend).
from ._kernels.keys import KEY_SAFE, NEEDS_QUOTING, quote_key

__all__ = ["encode_params", "part_query", "presign_key_block", "presign_key_list", "presign_parts",
           "quote_key"]

MAX_PARTS = 10_000  # S3's limit on the parts of a multipart upload

Params = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]


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


def _bad_keys() -> InvalidRequestError:
    # An empty key would presign the bucket itself (ListObjects, DeleteBucket...).
    return InvalidRequestError("each key must be a non-empty string")


def presign_key_list(context: Any, method: str, prefix: str, keys: Sequence[str], query: str,
                     expires_in: int, payload_hash: str) -> List[str]:
    """Each key's presigned URL. ``context`` is a signer's signing context, ``prefix`` a
    bucket's URL ending in '/' (checked by the caller), ``query`` the encoded extra
    parameters ('' for none). ``presign_many``: a list of str is wanted anyway, and
    splitting ``presign_lines``' bytes into one costs more than it saves."""
    if "" in keys:
        raise _bad_keys()
    search = NEEDS_QUOTING.search
    try:
        urls = [prefix + (quote(key, safe=KEY_SAFE) if search(key) else key) for key in keys]
    except TypeError:
        raise _bad_keys() from None
    if query:
        urls = [url + "?" + query for url in urls]
    return context.presign_many(method, urls, expires_in, payload_hash)


def presign_key_block(context: Any, method: str, prefix: str, keys: Sequence[str], query: str,
                      expires_in: int, payload_hash: str) -> bytes:
    """``presign_key_list`` as bytes: each URL followed by a newline, in UTF-8, made by
    ``presign_key_lines`` in one call without a Python object per URL."""
    if not keys:
        return b""
    if "" in keys:
        raise _bad_keys()
    try:
        text = "\n".join(keys)
    except TypeError:
        raise _bad_keys() from None
    if not query and text.count("\n") == len(keys) - 1:  # no key holds a newline
        return context.presign_key_lines(method, prefix, text, expires_in, payload_hash)
    urls = presign_key_list(context, method, prefix, keys, query, expires_in, payload_hash)
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

