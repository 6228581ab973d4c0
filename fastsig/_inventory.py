"""S3 Inventory reports as bulk presigning input: CSV, Parquet and ORC, given as a data file
or as the report's ``manifest.json``.

S3 URL-encodes the keys of CSV reports only (``+`` for a space); Parquet and ORC hold them
raw, and decoding them would corrupt keys holding ``%`` or ``+``. Parquet and ORC need
pyarrow (``pip install 'fastsig[parquet]'``), imported only when such a report is read.
"""

from __future__ import annotations

import io
import json
import os
import sys
from typing import IO, Any, Iterator, List, Optional, Tuple

from ._bulk import InputError, input_errors, open_input, row_blocks

__all__ = ["inventory_blocks", "sniff"]

Block = Tuple[List[Tuple[int, str]], int]
_ROWS_PER_BLOCK = 8192


def sniff(head: bytes) -> str:
    """The format of a report file from its first bytes: ``parquet``, ``orc``,
    ``manifest`` (JSON) or ``csv`` (gzipped or not)."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"ORC"):
        return "orc"
    if head.lstrip()[:1] == b"{":
        return "manifest"
    return "csv"


def _read_manifest(data: bytes, where: str) -> Tuple[str, List[str]]:
    """(format, local paths of the data files) a manifest names. The files are looked up
    where ``aws s3 sync`` of the report's prefix puts them: ``data/`` beside the manifest's
    folder (the report's layout), else in it."""
    try:
        manifest = json.loads(data)
        file_format = str(manifest["fileFormat"]).lower()
        keys = [str(entry["key"]) for entry in manifest["files"]]
    except (ValueError, KeyError, TypeError):
        raise InputError("the input is not an S3 Inventory manifest.json (no fileFormat and "
                         "files)") from None
    if file_format not in ("csv", "parquet", "orc"):
        raise InputError(f"the manifest's fileFormat {file_format!r} is not CSV, Parquet or ORC")
    folder = os.path.dirname(os.path.abspath(where)) if where != "-" else os.getcwd()
    paths = []
    for key in keys:
        name = key.rsplit("/", 1)[-1]
        candidates = [os.path.join(folder, os.pardir, "data", name),
                      os.path.join(folder, "data", name), os.path.join(folder, name)]
        found = next((path for path in candidates if os.path.isfile(path)), None)
        if found is None:
            raise InputError(f"the manifest names {key!r}, not found beside it (looked in "
                             f"{os.path.normpath(candidates[0])} and {folder})")
        paths.append(os.path.normpath(found))
    return file_format, paths


def inventory_blocks(path: Optional[str], bucket_wanted: bool, skip_invalid: bool,
                     skipped: List[int]) -> Iterator[Block]:
    """Numbered entries of a report, in blocks: the key (``bucket_wanted`` False) or
    ``bucket + "\\0" + key``, rows numbered from 1 across the report's files."""
    if path is None or path == "-":
        raw: IO[bytes] = sys.stdin.buffer
    else:
        raw = open(path, "rb")
    data = b""
    with raw:
        kind = sniff(raw.peek(8)[:8])  # type: ignore[attr-defined]
        if kind == "manifest":
            kind, files = _read_manifest(raw.read(), path or "-")
        elif kind == "csv":
            stream, _ = open_input(None if raw is sys.stdin.buffer else path)
            with stream:
                yield from input_errors(row_blocks(stream, "inventory", None, False,
                                                   bucket_wanted, skip_invalid, skipped))
            return
        else:
            files = [path or "-"]
            if raw is sys.stdin.buffer:  # Parquet and ORC are read from the end: keep it
                data = raw.read()
    done = [0]  # rows numbered so far, across files
    for file in files:
        if kind == "csv":
            offset = done[0]
            stream, _ = open_input(file)
            with stream:
                for block, number in input_errors(row_blocks(
                        stream, "inventory", None, False, bucket_wanted, skip_invalid, skipped)):
                    # row_blocks numbers each file's lines from 1: continue the count.
                    yield [(offset + n, entry) for n, entry in block], offset + number
                    done[0] = offset + block[-1][0]
        else:
            source: Any = io.BytesIO(data) if file == "-" else file
            yield from _arrow_blocks(source, kind, bucket_wanted, skip_invalid, skipped, done)


def _check_columns(names: List[str], wanted: Optional[List[str]], kind: str, what: str) -> None:
    if wanted and any(column not in names for column in wanted):
        raise InputError(f"the {kind.upper()} {what} has no "
                         f"{' and '.join(repr(c) for c in wanted)} columns "
                         f"(it has {', '.join(names)[:200]})")


def arrow_batches(source: Any, kind: str, columns: Optional[List[str]] = None,
                  batch_size: int = _ROWS_PER_BLOCK, what: str = "inventory report"
                  ) -> Iterator[Any]:
    """Record batches of a Parquet or ORC file (``columns``, default all), errors as one
    ``InputError`` line: the one reader of inventories and of ``--format parquet``."""
    try:
        if kind == "parquet":
            import pyarrow.parquet as parquet

            table = parquet.ParquetFile(source)
            _check_columns(table.schema_arrow.names, columns, kind, what)
            yield from table.iter_batches(batch_size=batch_size, columns=columns)
        else:
            import pyarrow.orc as orc

            report = orc.ORCFile(source)
            _check_columns(report.schema.names, columns, kind, what)
            for stripe in range(report.nstripes):
                yield report.read_stripe(stripe, columns=columns)
    except ImportError:
        raise InputError(f"reading {kind.upper()} {what}s needs pyarrow: "
                         "pip install 'fastsig[parquet]'") from None
    except (OSError, ValueError, KeyError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(f"the {kind.upper()} {what} cannot be read: "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                         ) from None


def _arrow_blocks(source: Any, kind: str, bucket_wanted: bool, skip_invalid: bool,
                  skipped: List[int], done: List[int]) -> Iterator[Block]:
    number = done[0] + 1
    for batch in arrow_batches(source, kind, ["bucket", "key"]):
        buckets = batch.column(0).to_pylist()
        keys = batch.column(1).to_pylist()
        block: List[Tuple[int, str]] = []
        for bucket, key in zip(buckets, keys):
            if not isinstance(key, str) or not key or (bucket_wanted and not isinstance(bucket, str)):
                if not skip_invalid:
                    raise InputError(f"line {number}: no bucket or key in this row "
                                     "(--skip-invalid skips such rows)")
                skipped.append(number)
            else:  # raw: S3 encodes the keys of CSV reports only
                block.append((number, bucket + "\0" + key if bucket_wanted else key))
            number += 1
        done[0] = number - 1
        if block:
            yield block, block[0][0]
