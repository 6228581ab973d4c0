"""``fastsig presign --format parquet``: a column of keys (or URLs) of a Parquet file, presigned
by ``fastsig.arrow.presign`` batch by batch; written as lines, or with ``-o urls.parquet`` as
the input's columns plus ``url``.

Batches are read by the inventories' reader (``_inventory.arrow_batches``). With several
workers (the signer travels with its credentials: these processes are ours):

- to Parquet, each worker reads row groups of the input itself, presigns them and writes them
  as a Parquet file of its own (a piece, in shared memory): encoding and compressing the URLs
  costs about as much as signing them, so it is done where they are made. This process copies
  each piece's bytes into the output in input order (``sendfile``: in the kernel) and writes
  one footer for all (``_parquet_footer``). No array crosses between processes.
- to lines, each worker presigns whole batches and hands the URLs back as an Arrow IPC file in
  shared memory, which this process maps without a copy and writes in input order.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
import shutil
import tempfile
from typing import IO, Any, Callable, Deque, Dict, List, Optional, Tuple

from ._bulk import InputError
from ._inventory import arrow_batches
from .signer import Signer

__all__ = ["presign_parquet"]

BATCH_ROWS = 65536
# A worker's batches, each written as a row group of its own: small enough that a worker's
# memory stays within tens of megabytes beyond its imports (the keys, their URLs, the
# encoded pages), large enough that the per-batch costs do not show.
PIECE_ROWS = 16384
_worker: Dict[str, Any] = {}


def _write_options(schema: Any, column: str) -> Dict[str, Any]:
    """ParquetWriter's options: its defaults (snappy), but no dictionary for the URLs or the
    keys, and no statistics for the URLs: each is unique, so a dictionary is built only to be
    given up, and the URLs' minimum and maximum (one signature's luck) filter nothing."""
    others = [name for name in schema.names if name != "url"]
    return {"use_dictionary": [name for name in others if name != column],
            "write_statistics": others}


def _lean_memory_pool() -> None:
    """Arrow's allocations in a worker from a pool that hands freed memory back at once:
    mimalloc, the default, keeps what a batch freed for later (70 MB held for a few MB in use,
    measured), so each worker's resident set would grow with no gain in speed."""
    import pyarrow

    try:
        pyarrow.set_memory_pool(pyarrow.jemalloc_memory_pool())
        pyarrow.jemalloc_set_decay_ms(0)
    except NotImplementedError:  # a pyarrow built without jemalloc (Windows, macOS)
        pyarrow.set_memory_pool(pyarrow.system_memory_pool())


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


def _start_piece_worker(signer: Signer, options: Dict[str, Any], folder: str, source: str,
                        column: str, skip_invalid: bool) -> None:
    import pyarrow.parquet as parquet

    _lean_memory_pool()
    _worker.update(signer=signer, options=options, folder=folder, column=column,
                   skip_invalid=skip_invalid, file=parquet.ParquetFile(source))


def _null_error(keys: Any, row: int, column: str) -> InputError:
    import pyarrow.compute as compute

    first = compute.index(keys.is_null(), True).as_py()
    return InputError(f"row {row + first + 1}: no key in column {column!r} "
                      "(--skip-invalid skips such rows)")


def _work_piece(groups: List[int], row: int) -> Tuple[str, int, int]:
    """In a worker: row groups ``groups`` of the input (their first row is ``row``, counted
    from 0) presigned and written with their URLs as a Parquet file; returns (its path, URLs,
    rows skipped)."""
    import pyarrow
    import pyarrow.parquet as parquet

    source, column = _worker["file"], _worker["column"]
    schema = source.schema_arrow.append(pyarrow.field("url", pyarrow.large_string()))
    path = os.path.join(_worker["folder"], f"{groups[0]}.parquet")
    count = skipped = 0
    with parquet.ParquetWriter(path, schema, **_write_options(schema, column)) as writer:
        for batch in source.iter_batches(batch_size=PIECE_ROWS, row_groups=groups):
            keys = batch.column(column)
            if keys.null_count:
                if not _worker["skip_invalid"]:
                    raise _null_error(keys, row, column)
                skipped += keys.null_count
            row += len(keys)
            urls = pyarrow.array(_presign(_worker["signer"], keys, _worker["options"]))
            count += len(urls) - urls.null_count
            writer.write_batch(pyarrow.RecordBatch.from_arrays([*batch.columns, urls],
                                                               schema=schema))
    return path, count, skipped


def _presign_pieces(signer: Signer, path: str, column: str, options: Dict[str, Any],
                    workers: int, skip_invalid: bool, parquet_out: str,
                    progress: Callable[[int], None]) -> Tuple[int, int]:
    """Parquet to Parquet with worker processes: a piece per row group, or per run of small
    ones (see the module)."""
    import pyarrow.parquet as parquet

    from ._parquet_footer import Merger

    pieces: List[Tuple[List[int], int]] = []  # (row groups, the first one's first row)
    row = 0
    metadata = parquet.ParquetFile(path).metadata
    for group in range(metadata.num_row_groups):
        # Small row groups are taken together: each piece costs a task and a file.
        if not pieces or row - pieces[-1][1] >= 4 * PIECE_ROWS:
            pieces.append(([], row))
        pieces[-1][0].append(group)
        row += metadata.row_group(group).num_rows
    count = skipped = 0
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    folder = tempfile.mkdtemp(prefix="fastsig-", dir=shm)
    pending: Deque[Any] = collections.deque()
    pool = concurrent.futures.ProcessPoolExecutor(
        min(workers, len(pieces)), initializer=_start_piece_worker,
        initargs=(signer.portable(include_credentials=True), options, folder, path, column,
                  skip_invalid))
    try:
        with open(parquet_out, "wb", buffering=0) as out:
            merger = Merger(out)

            def finish(future: Any) -> None:
                nonlocal count, skipped
                piece, urls, nulls = future.result()
                merger.add(piece)
                os.unlink(piece)
                count += urls
                skipped += nulls
                progress(urls)

            # A few pieces ahead per worker: enough to keep them busy while this process
            # copies, few enough that shared memory holds only those.
            for groups, start in pieces:
                pending.append(pool.submit(_work_piece, groups, start))
                while len(pending) > 2 * workers:
                    finish(pending.popleft())
            while pending:
                finish(pending.popleft())
            merger.close()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        shutil.rmtree(folder, ignore_errors=True)
    return count, skipped


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
    if parquet_out is not None and workers > 1 and parquet.ParquetFile(
            path).metadata.num_row_groups > 1:
        return _presign_pieces(signer, path, column, options, workers, skip_invalid,
                               parquet_out, progress)
    writer = None
    if parquet_out is not None:
        out_schema = schema.append(pyarrow.field("url", pyarrow.large_string()))
        writer = parquet.ParquetWriter(parquet_out, out_schema,
                                       **_write_options(out_schema, column))
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
                    raise _null_error(keys, row, column)
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
