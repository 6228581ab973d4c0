"""Dask DataFrame: presign a column partition by partition (``map_partitions``); the signer
travels to the workers without its credentials.

    import dask.dataframe as dd
    from fastsig.engines.dask import presign_column

    frame = dd.read_parquet("inventory/")            # a column "key"
    urls = presign_column(frame, signer, "key", bucket="my-bucket", timestamp=when)
    urls.to_parquet("urls/")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .pandas import presign_series

if TYPE_CHECKING:
    from fastsig.signer import Signer

__all__ = ["presign_column"]


def _add_urls(partition: Any, signer: "Signer", column: str, out: str, options: Any) -> Any:
    return partition.assign(**{out: presign_series(signer, partition[column], **options)})


def presign_column(frame: Any, signer: "Signer", column: str, out: str = "url",
                   **options: Any) -> Any:
    """``frame`` with a column ``out`` of presigned URLs for the keys (or URLs) of ``column``;
    ``options`` are ``fastsig.arrow.presign``'s."""
    import pandas
    import pyarrow

    meta = frame._meta.assign(**{out: pandas.Series(
        [], dtype=pandas.ArrowDtype(pyarrow.large_string()))})
    return frame.map_partitions(_add_urls, signer, column, out, options, meta=meta)
