"""``fastsig presign`` never writes a wrong URL: URL lists signed per host, input problems as
one line with the right status whatever the number of workers, CSV that reads back, S3
Inventory in CSV, Parquet and ORC, part URLs; and ``sign``/``verify`` reading the scope from
the host."""

from __future__ import annotations

import csv
import gzip
import json
from urllib.parse import quote_plus, urlsplit

import pytest

from fastsig import Credentials, Verifier, infer_scope
from fastsig.cli import EXAMPLE_CREDENTIALS

from .test_cli import EXAMPLE, TRICKY_KEYS, botocore_presign, presign, run_cli, signature


def problems(stderr: str) -> list:
    """The lines of stderr but the first line that names the backend (printed before a run,
    so a problem found during the run follows it)."""
    return [line for line in stderr.splitlines()
            if not (line.startswith("fastsig ") and " backend" in line)]

MIXED = [
    "https://photos.s3.eu-west-1.amazonaws.com/2024/a%20b.jpg",
    "https://abc123.execute-api.us-east-1.amazonaws.com/prod/items?limit=10",
    "https://s3.us-west-2.amazonaws.com/logs/k%2B1.txt",
    "https://data.s3.ap-south-1.amazonaws.com/x/y.csv",
    "https://def456.execute-api.eu-west-1.amazonaws.com/stage/orders/42",
    "https://photos.s3.eu-west-1.amazonaws.com/2024/c.jpg",
]


def _verify_each(urls, sources):
    lookup = {EXAMPLE_CREDENTIALS.access_key_id: EXAMPLE_CREDENTIALS}.get
    for url, source in zip(urls, sources):
        service, region = infer_scope(urlsplit(source).hostname)
        # The verifier's clock at the signing moment: the URLs are signed for a fixed time.
        verifier = Verifier(lookup, region=region, service=service, clock=lambda: 1440938160)
        verified = verifier.verify("GET", url)
        assert (verified.region, verified.service) == (region, service)
        wrong = Verifier(lookup, region="sa-east-1", service=service, clock=lambda: 1440938160)
        with pytest.raises(Exception):
            wrong.verify("GET", url)
        if service == "s3":
            assert signature(url) == signature(botocore_presign(source, region, 3600)), source


@pytest.mark.parametrize("workers", ["1", "2"])
def test_url_list_of_three_regions_and_two_services(backend, workers):
    pytest.importorskip("botocore")
    done = presign(backend, "--workers", workers, input="\n".join(MIXED) + "\n")
    assert done.returncode == 0, done.stderr
    urls = done.stdout.splitlines()
    assert len(urls) == len(MIXED)
    _verify_each(urls, MIXED)
    assert "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20150830%2Fus-east-1%2Fexecute-api%2F" in urls[1]


def test_url_list_self_check_verifies_each_scope(backend):
    # Without --timestamp the command verifies its samples: one per scope of each block.
    done = run_cli(backend, "presign", "-", "--example", input="\n".join(MIXED) + "\n")
    assert done.returncode == 0, done.stderr
    assert "verified 5 sampled URLs with fastsig.Verifier: all valid" in done.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_url_that_contradicts_a_pinned_scope_names_its_line(backend, workers):
    done = presign(backend, "--region", "eu-west-1", "--workers", workers,
                   input="\n".join(MIXED) + "\n")
    assert done.returncode == 1 and done.stdout == ""
    assert problems(done.stderr) == [
        "fastsig: line 2: host 'abc123.execute-api.us-east-1.amazonaws.com' is in region "
        "'us-east-1', not --region 'eu-west-1'"]
    done = presign(backend, "--region", "eu-west-1", "--workers", workers, "--skip-invalid",
                   input="\n".join(MIXED) + "\n")
    assert done.returncode == 0, done.stderr
    assert "3 invalid lines skipped" in done.stderr
    kept = [MIXED[0], MIXED[4], MIXED[5]]
    _verify_each(done.stdout.splitlines(), kept)
    done = presign(backend, "--service", "s3", input="\n".join(MIXED) + "\n")
    assert done.returncode == 1 and "line 2: host" in done.stderr and "not --service 's3'" in done.stderr


def test_a_host_that_names_no_scope_needs_the_options(backend):
    done = presign(backend, input="http://127.0.0.1:9000/bkt/k\n")
    assert done.returncode == 1
    assert problems(done.stderr) == [
        "fastsig: line 1: cannot tell the service of host '127.0.0.1': pass --service"]
    done = presign(backend, "--service", "s3", "--region", "eu-central-1",
                   input="http://127.0.0.1:9000/bkt/k\n")
    assert done.returncode == 0 and "%2Feu-central-1%2Fs3%2F" in done.stdout


ERROR_CASES = [
    # (arguments, input, status, the message)
    (["--bucket", "bkt1", "--region", "us east"], b"k\n", 2, "--region 'us east' is not a name"),
    (["--bucket", "bkt1", "--endpoint-url", "http://[::1"], b"k\n", 2, "--endpoint-url: endpoint URL"),
    (["--bucket", "logs#x", "--method", "DELETE"], b"k\n", 2, "--bucket: bucket name 'logs#x' holds '#'"),
    (["--bucket", "bkt1", "--service", "bad service"], b"k\n", 2, "--service 'bad service'"),
    (["--bucket", "bkt1"], gzip.compress(b"k1\nk2\n" * 1000)[:40], 1,
     "the input is not a valid gzip file"),
    (["--bucket", "bkt1"], b"\x1f\x8b" + b"\x00" * 30, 1, "the input is not a valid gzip file"),
    # Failures inside a worker process: an unusable line.
    (["--bucket", "bkt1"], b"ok\n" * 5000 + b"bad-\xff\n", 1, "line 5001: not valid UTF-8"),
    (["--format", "inventory"], b'"bkt1","ok"\n"a?b","k"\n', 1, "line 2: bucket name 'a?b'"),
]


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("arguments,data,status,message", ERROR_CASES)
def test_input_problems_are_one_line(backend, workers, arguments, data, status, message):
    done = presign(backend, "--workers", workers, *arguments, input=data, text=False)
    stderr = done.stderr.decode()
    assert done.returncode == status, stderr
    (line,) = problems(stderr)
    assert line.startswith("fastsig: ") and message in line, stderr
    assert "Traceback" not in stderr


def test_a_bad_region_from_the_environment_is_an_input_error(backend):
    done = run_cli(backend, "presign", "-", "--example", "--bucket", "bkt1", "--workers", "2",
                   input="k\n", env={"AWS_REGION": "us east"})
    assert done.returncode == 1 and len(problems(done.stderr)) == 1 and "'us east'" in done.stderr


CSV_KEYS = ["cr\rkey", "lf\nkey", "crlf\r\nkey", 'quote"key', "comma,key", '",\r\n"', "plain"]


def test_csv_output_quotes_what_needs_quoting(backend, tmp_path):
    source = tmp_path / "keys.jsonl"
    source.write_text("".join(json.dumps({"key": key}) + "\n" for key in CSV_KEYS))
    out = tmp_path / "urls.csv"
    done = presign(backend, str(source), "--bucket", "bkt", "--output-format", "csv",
                   "-o", str(out))
    assert done.returncode == 0, done.stderr
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["key", "url", "expires"]
    assert [row[0] for row in rows[1:]] == CSV_KEYS
    pa_csv = pytest.importorskip("pyarrow.csv")
    table = pa_csv.read_csv(str(out), parse_options=pa_csv.ParseOptions(newlines_in_values=True))
    assert table.column("key").to_pylist() == CSV_KEYS
    assert table.column("url").to_pylist() == [row[1] for row in rows[1:]]


# ------------------------------------------------------------------------- S3 Inventory

INVENTORY_KEYS = TRICKY_KEYS + ["100%25 literal", "plus+and space", "a%2Fb", "cr\rlf\nkey"]


def _inventory_csv(path, keys, bucket="bkt"):
    with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
        for key in keys:  # S3 quotes every field and URL-encodes keys (+ for a space)
            handle.write(f'"{bucket}","{quote_plus(key, safe="/")}","123","false"\n')


def _inventory_table(keys, bucket="bkt"):
    pa = pytest.importorskip("pyarrow")
    return pa.table({"bucket": [bucket] * len(keys), "key": keys,  # raw, as S3 writes them
                     "size": [123] * len(keys), "is_latest": [True] * len(keys)})


@pytest.mark.parametrize("kind", ["parquet", "orc"])
def test_parquet_and_orc_inventories_presign_as_the_csv_does(backend, tmp_path, kind):
    table = _inventory_table(INVENTORY_KEYS)
    data = tmp_path / f"data.{kind}"
    if kind == "parquet":
        import pyarrow.parquet as parquet

        parquet.write_table(table, data, row_group_size=7)
    else:
        import pyarrow.orc as orc

        orc.write_table(table, data, stripe_size=64)
    reference = tmp_path / "data.csv.gz"
    _inventory_csv(reference, INVENTORY_KEYS)
    common = ["--format", "inventory", "--region", "eu-west-1", "--output-format", "jsonl"]
    want = presign(backend, str(reference), *common)
    assert want.returncode == 0, want.stderr
    assert [json.loads(line)["key"] for line in want.stdout.splitlines()] == INVENTORY_KEYS
    for workers in ("1", "2"):
        got = presign(backend, str(data), *common, "--workers", workers)
        assert got.returncode == 0, got.stderr
        assert got.stdout == want.stdout
    # From standard input too, and through the report's manifest.json.
    piped = presign(backend, *common, input=data.read_bytes(), text=False)
    assert piped.returncode == 0 and piped.stdout.decode() == want.stdout, piped.stderr
    report = tmp_path / "bkt" / "config"
    (report / "data").mkdir(parents=True)
    (report / "2024-01-01T00-00Z").mkdir()
    first, second = INVENTORY_KEYS[:9], INVENTORY_KEYS[9:]
    files = []
    for number, keys in enumerate((first, second)):
        name = f"part-{number}.{kind}"
        if kind == "parquet":
            parquet.write_table(_inventory_table(keys), report / "data" / name)
        else:
            orc.write_table(_inventory_table(keys), report / "data" / name)
        files.append({"key": f"dest/bkt/config/data/{name}", "size": 1, "MD5checksum": "x"})
    manifest = report / "2024-01-01T00-00Z" / "manifest.json"
    file_format = "ORC" if kind == "orc" else "Parquet"
    manifest.write_text(json.dumps({"sourceBucket": "bkt", "fileFormat": file_format,
                                    "files": files}))
    listed = presign(backend, str(manifest), *common)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == want.stdout


def test_csv_inventory_through_its_manifest(backend, tmp_path):
    report = tmp_path / "report"
    (report / "data").mkdir(parents=True)
    (report / "hour").mkdir()
    _inventory_csv(report / "data" / "a.csv.gz", INVENTORY_KEYS[:5])
    _inventory_csv(report / "data" / "b.csv.gz", INVENTORY_KEYS[5:])
    manifest = report / "hour" / "manifest.json"
    manifest.write_text(json.dumps({"fileFormat": "CSV", "files": [
        {"key": "x/data/a.csv.gz"}, {"key": "x/data/b.csv.gz"}]}))
    done = presign(backend, str(manifest), "--format", "inventory", "--output-format", "jsonl")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["key"] for line in done.stdout.splitlines()] == INVENTORY_KEYS
    (report / "data" / "b.csv.gz").unlink()
    missing = presign(backend, str(manifest), "--format", "inventory")
    assert missing.returncode == 1 and len(problems(missing.stderr)) == 1
    assert "x/data/b.csv.gz" in missing.stderr


def test_a_broken_parquet_inventory_is_one_line(backend, tmp_path):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1" + b"\x00" * 100)
    done = presign(backend, str(broken), "--format", "inventory")
    assert done.returncode == 1 and len(problems(done.stderr)) == 1, done.stderr
    assert "PARQUET inventory report cannot be read" in done.stderr


# ------------------------------------------------------------------------- part URLs


def test_upload_part_urls_from_the_command_line(backend):
    from fastsig import Signer

    done = presign(backend, "big file.iso", "--bucket", "bkt", "--region", "eu-west-1",
                   "--upload-id", "UP+id/1", "--parts", "3")
    assert done.returncode == 0, done.stderr
    urls = done.stdout.splitlines()
    assert urls == Signer(Credentials(*EXAMPLE), "eu-west-1", "s3").presign_upload_parts(
        "bkt", "big file.iso", "UP+id/1", 3, timestamp="20150830T123600Z")
    assert all("uploadId=UP%2Bid%2F1" in url for url in urls)
    for bad in (["--parts", "0"], ["--parts", "10001"], ["--parts", "2", "--method", "GET"]):
        done = presign(backend, "k", "--bucket", "bkt", "--upload-id", "x", *bad)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    done = presign(backend, "k", "--bucket", "bkt", "--parts", "2")
    assert done.returncode == 2 and "go together" in done.stderr


# ------------------------------------------------------------------------- sign, verify


def test_sign_reads_the_scope_from_the_host(backend):
    done = run_cli(backend, "sign", "GET", "https://abc123.execute-api.us-east-1.amazonaws.com/prod/items",
                   "--example")
    assert done.returncode == 0, done.stderr
    assert "/us-east-1/execute-api/aws4_request" in done.stdout
    done = run_cli(backend, "sign", "GET", "wss://abc.execute-api.eu-west-1.amazonaws.com/prod",
                   "--example")
    assert done.returncode == 0 and "/eu-west-1/execute-api/aws4_request" in done.stdout
    done = run_cli(backend, "sign", "GET", "https://example.com/x", "--example",
                   "--service", "execute-api", "--region", "ap-south-1")
    assert done.returncode == 0 and "/ap-south-1/execute-api/aws4_request" in done.stdout
    done = run_cli(backend, "sign", "GET", "https://logs--usw2-az1--x-s3.s3express-usw2-az1."
                   "us-west-2.amazonaws.com/k", "--example")
    assert done.returncode == 0 and "/us-west-2/s3express/aws4_request" in done.stdout
    done = run_cli(backend, "sign", "GET", "ftp://example.com/", "--example")
    assert done.returncode == 2 and done.stderr.count("\n") == 1


def test_verify_pins_the_scope_its_host_names(backend):
    from fastsig import Signer

    signer = Signer(EXAMPLE_CREDENTIALS, "eu-west-1", "s3")
    good = signer.presign("GET", "https://bkt.s3.eu-west-1.amazonaws.com/k", expires_in=600)
    assert run_cli(backend, "verify", "--example", good).returncode == 0
    # Signed for eu-west-1, sent to a us-west-2 host: S3 there would refuse it.
    moved = good.replace("s3.eu-west-1", "s3.us-west-2")
    done = run_cli(backend, "verify", "--example", moved)
    assert done.returncode == 1 and done.stdout.startswith("invalid:"), done
    ws = Signer(EXAMPLE_CREDENTIALS, "eu-west-1", "execute-api").presign(
        "GET", "wss://abc.execute-api.eu-west-1.amazonaws.com/prod", expires_in=600)
    done = run_cli(backend, "verify", "--example", ws)
    assert done.returncode == 0 and "eu-west-1/execute-api" in done.stdout, done
