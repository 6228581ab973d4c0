"""Presign whole Arrow columns: one call for an array (or a chunked array, or a stream) of
keys or URLs, giving an Arrow array of presigned URLs.

Input comes through the Arrow PyCapsule interface (``__arrow_c_array__`` or
``__arrow_c_stream__``): pyarrow arrays and chunked arrays, polars Series, nanoarrow, duckdb
relations' columns, pandas Series backed by Arrow strings (``series.array``). The compiled core
reads the keys straight from the Arrow buffers (``utf8``, ``large_utf8`` or ``string_view``,
sliced or not) and writes the URLs into Arrow buffers of its own: no Python object per URL, and
no pyarrow needed. The pure-Python backend does the same through pyarrow.

The result exports itself the same way: ``pyarrow.array(urls)`` (array input) or
``pyarrow.chunked_array(urls)`` (chunked or stream input) take it without a copy,
``polars.from_arrow(urls)`` through the same interface. URLs are ``large_utf8``; a null key
gives a null URL.

>>> import pyarrow as pa
>>> from fastsig import Credentials, Signer
>>> from fastsig import arrow
>>> signer = Signer(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
...                 "eu-west-1", "s3")
>>> urls = pa.array(arrow.presign(signer, pa.array(["a.txt", None, "50% off.txt"]),
...                               bucket="my-bucket", timestamp="20150830T123600Z"))
>>> [url.split("?")[0] if url else url for url in urls.to_pylist()]
['https://my-bucket.s3.eu-west-1.amazonaws.com/a.txt', None, \
'https://my-bucket.s3.eu-west-1.amazonaws.com/50%25%20off.txt']
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Tuple, Union

from ._errors import ConfigurationError
from ._timestamp import Timestamp

if TYPE_CHECKING:
    from ._speedups import ArrowUrls
    from .signer import Signer

__all__ = ["presign"]


def presign(
    signer: "Signer",
    array: Any,
    *,
    bucket: Optional[str] = None,
    method: str = "GET",
    expires_in: Union[int, datetime.timedelta] = 3600,
    timestamp: Optional[Timestamp] = None,
    path_style: bool = False,
    endpoint_url: Optional[str] = None,
    dualstack: bool = False,
    params: Union[Mapping[str, str], Iterable[Tuple[str, str]], None] = None,
) -> "ArrowUrls":
    """Presigned URLs for an Arrow array of keys of ``bucket``, or, with ``bucket=None``, of
    URLs (each presigned as ``Signer.presign_many`` does).

    With a bucket, the options mean what they mean in ``Signer.presign_keys`` and the URLs are
    the same, byte for byte: the bucket name is checked by S3's rules, keys may hold any
    character (``%``, ``+``, ``#``, ``?``, CR/LF...), an empty key is an error, ``params`` are
    extra signed query parameters. All URLs share one timestamp (now, unless given).

    Returns an object exporting ``__arrow_c_stream__`` (and ``__arrow_c_array__`` when the
    input was one array) with ``len()`` and ``null_count``; see the module's example.
    Errors are one line: ``TypeError`` for an input that is not an array of strings,
    ``InvalidRequestError`` for an empty key or bytes that are not UTF-8 (naming the row).
    """
    from ._key_urls import encode_params

    if not hasattr(array, "__arrow_c_array__") and not hasattr(array, "__arrow_c_stream__"):
        from ._kernels.arrow import source_error

        raise TypeError(source_error(array))
    if bucket is None:
        if path_style or endpoint_url is not None or dualstack or params:
            raise ConfigurationError("path_style, endpoint_url, dualstack and params go with a "
                                     "bucket; with bucket=None the array holds URLs")
        prefix = query = ""
    else:
        prefix = signer._bucket_prefix(bucket, endpoint_url, path_style, dualstack)
        query = encode_params(params)
    context, seconds, payload_hash = signer._presign_setup(expires_in, timestamp, None)
    return signer._kernels.presign_arrow(context, method, prefix, query, array, seconds,
                                         payload_hash)
