"""``fastsig presign --format parquet``: a column of a Parquet file through fastsig.arrow, out as
lines or as the input's columns plus ``url``, with one and two workers."""

from __future__ import annotations

import pytest

pa = pytest.importorskip("pyarrow")
parquet = pytest.importorskip("pyarrow.parquet")

from fastsig import Signer  # noqa: E402
from fastsig.cli import EXAMPLE_CREDENTIALS  # noqa: E402

from .test_cli import TRICKY_KEYS, WHEN, run_cli  # noqa: E402


def keys(count):
    return [TRICKY_KEYS[i % len(TRICKY_KEYS)] + str(i) if i % 50 == 7 else f"dir/file {i}.txt"
            for i in range(count)]


def expected(key_list, **options):
    return Signer(EXAMPLE_CREDENTIALS, "eu-west-1", "s3").presign_keys(
        "my-bucket", key_list, timestamp=WHEN, **options)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_parquet_to_parquet_keeps_the_columns_and_adds_url(backend, tmp_path, workers):
    key_list = keys(150_000)
    source = tmp_path / "in.parquet"
    parquet.write_table(pa.table({"size": list(range(len(key_list))), "key": key_list}), source,
                        row_group_size=40_000)
    out = tmp_path / "urls.parquet"
    done = run_cli(backend, "presign", str(source), "--example", "--timestamp", WHEN,
                   "--bucket", "my-bucket", "--region", "eu-west-1", "--workers", workers,
                   "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "presigned 150,000 URLs" in done.stderr
    table = parquet.read_table(out)
    assert table.column_names == ["size", "key", "url"]
    assert table.column("key").to_pylist() == key_list
    assert table.column("url").to_pylist() == expected(key_list)


def test_parquet_to_lines_with_another_column_and_params(backend, tmp_path):
    key_list = keys(3000)
    source = tmp_path / "listing.parquet"
    parquet.write_table(pa.table({"name": key_list}), source)
    done = run_cli(backend, "presign", str(source), "--format", "parquet", "--column", "name",
                   "--example", "--timestamp", WHEN, "--bucket", "my-bucket", "--region",
                   "eu-west-1", "--param", "response-content-type=text/plain", "-q")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == expected(
        key_list, params={"response-content-type": "text/plain"})


def test_nulls_are_an_input_error_unless_skipped(backend, tmp_path):
    source = tmp_path / "in.parquet"
    parquet.write_table(pa.table({"key": ["a", None, "b"]}), source)
    out = tmp_path / "urls.parquet"
    args = ["presign", str(source), "--example", "--timestamp", WHEN, "--bucket", "my-bucket",
            "--region", "eu-west-1", "-o", str(out), "-q"]
    done = run_cli(backend, *args)
    assert done.returncode == 1
    assert done.stderr == "fastsig: row 2: no key in column 'key' (--skip-invalid skips such rows)\n"
    done = run_cli(backend, *args, "--skip-invalid")
    assert done.returncode == 0, done.stderr
    urls = parquet.read_table(out).column("url").to_pylist()
    assert urls[1] is None and urls[0] == expected(["a"])[0]


def test_nulls_with_workers_name_the_row_of_the_whole_file(backend, tmp_path):
    # Workers presign row groups of their own: the row named is still counted from the file's
    # first, and rows skipped are counted over all of them.
    key_list = keys(50_000)
    key_list[31_234] = key_list[45_000] = None
    source = tmp_path / "in.parquet"
    parquet.write_table(pa.table({"key": key_list}), source, row_group_size=10_000)
    out = tmp_path / "urls.parquet"
    args = ["presign", str(source), "--example", "--timestamp", WHEN, "--bucket", "my-bucket",
            "--region", "eu-west-1", "--workers", "2", "-o", str(out)]
    done = run_cli(backend, *args, "-q")
    assert done.returncode == 1
    assert done.stderr == ("fastsig: row 31235: no key in column 'key' (--skip-invalid skips "
                           "such rows)\n")
    done = run_cli(backend, *args, "--skip-invalid")
    assert done.returncode == 0, done.stderr
    assert "presigned 49,998 URLs" in done.stderr
    table = parquet.read_table(out)
    present = [key for key in key_list if key is not None]
    urls = iter(expected(present))
    assert table.column("url").to_pylist() == [None if key is None else next(urls)
                                              for key in key_list]


@pytest.mark.parametrize("args, status, message", [
    (["--column", "size"], 1, "fastsig: column 'size' holds int64, not strings\n"),
    (["--column", "nope"], 1, "fastsig: the Parquet file has no column 'nope' (it has: key, size)\n"),
    (["--output-format", "csv"], 2, "--format parquet writes lines or Parquet"),
    (["--output-format", "parquet"], 2, "Parquet output goes to a file"),
])
def test_one_line_errors(backend, tmp_path, args, status, message):
    source = tmp_path / "in.parquet"
    parquet.write_table(pa.table({"key": ["a"], "size": [1]}), source)
    done = run_cli(backend, "presign", str(source), "--example", "--bucket", "my-bucket", "-q",
                   *args)
    assert done.returncode == status
    assert message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    done = run_cli(backend, "presign", str(broken), "--example", "--bucket", "my-bucket", "-q")
    assert done.returncode == 1
    assert done.stderr.startswith("fastsig: the Parquet file cannot be read: ")
    assert done.stderr.count("\n") == 1
