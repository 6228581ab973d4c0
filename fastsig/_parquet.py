"""``fastsig presign --format parquet``: a column of keys (or URLs) of a Parquet file, presigned
by ``fastsig.arrow.presign`` batch by batch; written as lines, or with ``-o urls.parquet`` as
the input's columns plus ``url``.

Batches are read by the inventories' reader (``_inventory.arrow_batches``). With several
workers, each presigns whole batches in its own process (the signer travels with its
credentials: these processes are ours) and hands the URLs back as an Arrow IPC file in
shared memory, which this process maps without a copy and writes in input order.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
import shutil
import tempfile
from typing import IO, Any, Callable, Deque, Dict, Optional, Tuple

from ._bulk import InputError
from ._inventory import arrow_batches
from .signer import Signer

__all__ = ["presign_parquet"]

BATCH_ROWS = 65536
_worker: Dict[str, Any] = {}


def _presign(signer: Signer, keys: Any, options: Dict[str, Any]) -> Any:
    from . import arrow

    return arrow.presign(signer, keys, **options)


def _start_worker(signer: Signer, options: Dict[str, Any], folder: str) -> None:
    _worker.update(signer=signer, options=options, folder=folder)


def _work(number: int, keys: Any) -> str:
    """In a worker: the URLs of one batch, as an IPC file of one column; returns its path."""
    import pyarrow

    urls = pyarrow.array(_presign(_worker["signer"], keys, _worker["options"]))
    path = os.path.join(_worker["folder"], f"{number}.arrow")
    schema = pyarrow.schema([pyarrow.field("url", pyarrow.large_string())])
    with pyarrow.OSFile(path, "wb") as sink, pyarrow.ipc.new_file(sink, schema) as writer:
        writer.write_batch(pyarrow.record_batch([urls], schema=schema))
    return path


def _read_back(path: str) -> Any:
    import pyarrow

    with pyarrow.memory_map(path) as source:
        urls = pyarrow.ipc.open_file(source).get_batch(0).column(0)
    os.unlink(path)  # the mapping keeps the pages until the array is gone
    return urls


def presign_parquet(signer: Signer, path: str, column: str, options: Dict[str, Any],
                    workers: int, skip_invalid: bool, out: IO[bytes], parquet_out: Optional[str],
                    progress: Callable[[int], None]) -> Tuple[int, int]:
    """Presigns ``column`` of the Parquet file ``path``; returns (URLs, rows skipped).
    ``options`` are ``fastsig.arrow.presign``'s; URLs go to ``parquet_out`` when given (the
    input's columns plus ``url``), else to ``out`` as lines."""
    import pyarrow
    import pyarrow.compute as compute
    import pyarrow.parquet as parquet

    try:
        schema = parquet.read_schema(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"the Parquet file cannot be read: {str(exc).splitlines()[0]}") from None
    if column not in schema.names:
        raise InputError(f"the Parquet file has no column {column!r} (it has: "
                         f"{', '.join(schema.names)})")
    kind = schema.field(column).type
    if not (pyarrow.types.is_string(kind) or pyarrow.types.is_large_string(kind)
            or pyarrow.types.is_string_view(kind)):
        raise InputError(f"column {column!r} holds {kind}, not strings")
    writer = None
    if parquet_out is not None:
        writer = parquet.ParquetWriter(
            parquet_out, schema.append(pyarrow.field("url", pyarrow.large_string())))
    count = skipped = 0
    row = 0
    folder = ""
    pool = None
    pending: Deque[Tuple[Any, Any]] = collections.deque()

    def finish(batch: Any, urls: Any) -> None:
        nonlocal count
        urls = urls if isinstance(urls, pyarrow.Array) else _read_back(urls)
        count += len(urls) - urls.null_count
        if writer is not None:
            writer.write_batch(pyarrow.RecordBatch.from_arrays(
                [*batch.columns, urls], schema=writer.schema))
        else:
            present = urls.drop_null() if urls.null_count else urls
            out.write("".join(url + "\n" for url in present.to_pylist()).encode())
        progress(len(urls) - urls.null_count)

    try:
        if workers > 1:
            # /dev/shm where there is one: the URLs cross between processes in memory.
            shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
            folder = tempfile.mkdtemp(prefix="fastsig-", dir=shm)
            pool = concurrent.futures.ProcessPoolExecutor(
                workers, initializer=_start_worker,
                initargs=(signer.portable(include_credentials=True), options, folder))
        for number, batch in enumerate(arrow_batches(path, "parquet", None, BATCH_ROWS, "file")):
            keys = batch.column(column)
            if keys.null_count:
                if not skip_invalid:
                    first = compute.index(keys.is_null(), True).as_py()
                    raise InputError(f"row {row + first + 1}: no key in column {column!r} "
                                     "(--skip-invalid skips such rows)")
                skipped += keys.null_count
            row += len(keys)
            if pool is None:
                finish(batch, pyarrow.array(_presign(signer, keys, options)))
                continue
            pending.append((batch, pool.submit(_work, number, keys)))
            while len(pending) > 2 * workers:
                done_batch, future = pending.popleft()
                finish(done_batch, future.result())
        while pending:
            done_batch, future = pending.popleft()
            finish(done_batch, future.result())
    finally:
        if pool is not None:
            for _, future in pending:
                future.cancel()
            pool.shutdown(wait=True)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
        if writer is not None:
            writer.close()
    return count, skipped
