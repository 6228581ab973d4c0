"""pandas: presign a Series of keys backed by Arrow strings (``string[pyarrow]`` or
``ArrowDtype``); the URLs come back as an Arrow-backed Series, without a copy.

>>> import pandas as pd
>>> from fastsig import Credentials, Signer
>>> from fastsig.engines.pandas import presign_series
>>> signer = Signer(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
...                 "eu-west-1", "s3")
>>> keys = pd.Series(["a.txt", None], dtype="string[pyarrow]")
>>> urls = presign_series(signer, keys, bucket="my-bucket")
>>> urls[0].split("?")[0], urls.isna().tolist()
('https://my-bucket.s3.eu-west-1.amazonaws.com/a.txt', [False, True])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastsig import arrow

if TYPE_CHECKING:
    from fastsig.signer import Signer

__all__ = ["presign_series"]


def presign_series(signer: "Signer", series: Any, **options: Any) -> Any:
    """A Series of URLs (``ArrowDtype(large_string)``, same index) for a Series of keys (or
    URLs); a Series of Python strings is converted to Arrow first. ``options`` are
    ``fastsig.arrow.presign``'s."""
    import pandas
    import pyarrow

    keys = pyarrow.chunked_array(pyarrow.array(series.array)) if not hasattr(
        series.array, "__arrow_c_stream__") else series.array
    urls = pyarrow.chunked_array(arrow.presign(signer, pyarrow.chunked_array(keys), **options))
    return pandas.Series(pandas.arrays.ArrowExtensionArray(urls), index=series.index,
                         name=series.name)
