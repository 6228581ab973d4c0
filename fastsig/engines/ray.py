"""Ray Data: presign a column with ``map_batches(batch_format="pyarrow")``; the signer travels
to the workers without its credentials.

    import ray
    from fastsig.engines.ray import presign_column

    dataset = ray.data.read_parquet("inventory/")      # a column "key"
    presign_column(dataset, signer, "key", bucket="my-bucket").write_parquet("urls/")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastsig import arrow

if TYPE_CHECKING:
    from fastsig.signer import Signer

__all__ = ["presign_column"]


class _AddUrls:
    def __init__(self, signer: "Signer", column: str, out: str, options: Any) -> None:
        self.signer, self.column, self.out, self.options = signer, column, out, options

    def __call__(self, table: Any) -> Any:
        import pyarrow

        urls = pyarrow.chunked_array(arrow.presign(self.signer, table.column(self.column),
                                                   **self.options))
        return table.append_column(self.out, urls)


def presign_column(dataset: Any, signer: "Signer", column: str, out: str = "url",
                   **options: Any) -> Any:
    """``dataset`` with a column ``out`` of presigned URLs for the keys (or URLs) of
    ``column``; ``options`` are ``fastsig.arrow.presign``'s."""
    return dataset.map_batches(_AddUrls(signer, column, out, options), batch_format="pyarrow")
