"""Parquet pieces merged into one file (``_parquet_footer``): what the CLI's workers write."""

from __future__ import annotations

import io
import struct

import pytest

pa = pytest.importorskip("pyarrow")
parquet = pytest.importorskip("pyarrow.parquet")

from fastsig import _parquet_footer  # noqa: E402


def table(start, count):
    rows = range(start, start + count)
    return pa.table({
        "size": pa.array(rows, pa.int64()),
        "key": [f"dir/file {i}.txt" for i in rows],
        "kind": ["a" if i % 3 else "b" for i in rows],  # dictionary-encoded
        "url": pa.array([None if i % 7 == 0 else f"https://b/{i}?x={i * i}" for i in rows],
                        pa.large_string()),
    })


def footer_bytes(path):
    with open(path, "rb") as f:
        f.seek(-8, 2)
        length = struct.unpack("<I", f.read(4))[0]
        f.seek(-8 - length, 2)
        return f.read(length)


def test_a_footer_reads_and_writes_back_byte_for_byte(tmp_path):
    path = tmp_path / "one.parquet"
    parquet.write_table(table(0, 50_000), path, row_group_size=2_000)  # 25 row groups: > 15
    footer = footer_bytes(path)
    writer = _parquet_footer._Writer()
    writer.struct(_parquet_footer._Reader(footer).struct())
    assert bytes(writer.out) == footer


@pytest.mark.parametrize("page_index", [False, True])
def test_pieces_merge_into_the_file_one_writer_would_give(tmp_path, page_index):
    paths, parts = [], []
    for number, (start, count) in enumerate([(0, 30_000), (30_000, 1), (30_001, 45_000)]):
        part = table(start, count)
        path = str(tmp_path / f"{number}.parquet")
        parquet.write_table(part, path, row_group_size=10_000, write_page_index=page_index)
        paths.append(path)
        parts.append(part)
    out = tmp_path / "merged.parquet"
    with open(out, "wb", buffering=0) as f:
        merger = _parquet_footer.Merger(f)
        assert [merger.add(path) for path in paths] == [30_000, 1, 45_000]
        merger.close()
    merged = parquet.ParquetFile(out)
    assert merged.metadata.num_rows == 75_001
    assert merged.metadata.num_row_groups == 3 + 1 + 5
    assert merged.read().equals(pa.concat_tables(parts))
    for group in range(merged.metadata.num_row_groups):  # each row group found where it lies
        assert merged.read_row_group(group).num_rows == merged.metadata.row_group(group).num_rows
    # statistics moved with their row groups: a filter skips by them
    assert parquet.read_table(out, filters=[("size", ">=", 74_990)]).num_rows == 11


def test_a_python_file_object_gets_the_bytes_too(tmp_path):
    path = str(tmp_path / "0.parquet")
    parquet.write_table(table(0, 1000), path)
    out = io.BytesIO()
    merger = _parquet_footer.Merger(out)
    merger.add(path)
    merger.close()
    assert parquet.read_table(pa.BufferReader(out.getvalue())).equals(table(0, 1000))


def test_not_parquet_is_refused(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1 not really a parquet file")
    with pytest.raises(ValueError, match="not a Parquet file"):
        _parquet_footer.read_piece(str(path))
