"""Thin adapters that presign a column on the engines people already run at scale, each on top
of ``fastsig.arrow.presign`` (one call into the compiled core per batch, no Python object per
URL): ``fastsig.engines.polars``, ``.duckdb``, ``.pandas``, ``.dask``, ``.spark``, ``.ray``.

Each imports its engine only when used. Signers sent to workers are pickled without their
credentials: each worker resolves its own from the default chain (its environment, profile,
container or instance role). Where workers have no credentials of their own, send
``signer.portable(include_credentials=True)``, knowing the secret then travels in the task
graph. Pass ``timestamp`` to give every batch the same signing moment.
"""

from typing import Any


def pyarrow_urls(urls: Any) -> Any:
    """``fastsig.arrow.presign``'s result as a pyarrow Array (array input) or ChunkedArray
    (chunked or stream input), without a copy."""
    import pyarrow

    if hasattr(urls, "__arrow_c_array__"):
        return pyarrow.array(urls)
    return pyarrow.chunked_array(urls)
