"""Polars: presign a column of keys as an expression (``map_batches``).

>>> import polars as pl
>>> from fastsig import Credentials, Signer
>>> from fastsig.engines.polars import presign_expr
>>> signer = Signer(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
...                 "eu-west-1", "s3")
>>> frame = pl.DataFrame({"key": ["a.txt", "b c.txt"]})
>>> out = frame.with_columns(presign_expr(signer, "key", bucket="my-bucket").alias("url"))
>>> out["url"][1].split("?")[0]
'https://my-bucket.s3.eu-west-1.amazonaws.com/b%20c.txt'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastsig import arrow

if TYPE_CHECKING:
    from fastsig.signer import Signer

__all__ = ["presign_expr", "presign_series"]


def presign_series(signer: "Signer", series: Any, **options: Any) -> Any:
    """A ``polars.Series`` of URLs for a Series of keys (or URLs); ``options`` are
    ``fastsig.arrow.presign``'s."""
    import polars

    return polars.from_arrow(arrow.presign(signer, series, **options))


def presign_expr(signer: "Signer", column: str, **options: Any) -> Any:
    """An expression giving the URLs of the keys in ``column``, batch by batch."""
    import polars

    return polars.col(column).map_batches(
        lambda series: presign_series(signer, series, **options), return_dtype=polars.String)
