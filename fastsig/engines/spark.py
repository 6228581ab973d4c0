"""PySpark: presign a column with ``mapInArrow`` (Arrow record batches in and out, one call
into the compiled core per batch); the signer travels to the executors without its
credentials.

    from fastsig.engines.spark import presign_column

    frame = spark.read.parquet("inventory/")          # a column "key"
    presign_column(frame, signer, "key", bucket="my-bucket").write.parquet("urls/")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from fastsig import arrow
from . import pyarrow_urls

if TYPE_CHECKING:
    from fastsig.signer import Signer

__all__ = ["presign_column"]


def _batches(batches: Iterator[Any], signer: "Signer", column: str, out: str,
             options: Any) -> Iterator[Any]:
    for batch in batches:
        keys = batch.column(column)
        # Spark reads back the type its schema names: string (utf8) unless large var types.
        urls = pyarrow_urls(arrow.presign(signer, keys, **options)).cast(keys.type)
        yield batch.append_column(out, urls)


def presign_column(frame: Any, signer: "Signer", column: str, out: str = "url",
                   **options: Any) -> Any:
    """``frame`` with a string column ``out`` of presigned URLs for the keys (or URLs) of
    ``column``; ``options`` are ``fastsig.arrow.presign``'s."""
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType([*frame.schema.fields, StructField(out, StringType(), True)])
    return frame.mapInArrow(lambda batches: _batches(batches, signer, column, out, options),
                            schema)
