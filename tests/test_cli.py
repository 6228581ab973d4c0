"""The main job through the real command line, in a subprocess, on each backend."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(backend, *args, input=None, env=None, text=True):
    environ = {k: v for k, v in os.environ.items()
               if k != "FASTSIG_NO_EXTENSIONS" and not k.startswith("AWS_")}
    environ["AWS_EC2_METADATA_DISABLED"] = "true"  # no credentials unless a test gives them
    environ["AWS_CONFIG_FILE"] = environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    environ.update(env or {})
    if backend == "python":
        environ["FASTSIG_NO_EXTENSIONS"] = "1"
    return subprocess.run([sys.executable, "-m", "fastsig", *args], env=environ, input=input,
                          capture_output=True, text=text, timeout=300)


def test_presign_example(backend, tmp_path):
    out = tmp_path / "urls.txt"
    done = run_cli(backend, "presign", "--example", "--count", "25000", "-o", str(out))
    assert done.returncode == 0, done.stderr
    # The first line names the backend in use and, on the pure path, why.
    first = done.stderr.splitlines()[0]
    assert f"{backend} backend" in first
    assert ("FASTSIG_NO_EXTENSIONS is set" in first) == (backend == "python")
    assert "presigned 25,000 URLs" in done.stderr
    assert "all match" in done.stderr and "all valid" in done.stderr
    assert done.stdout == ""
    urls = out.read_text().splitlines()
    assert len(urls) == 25000
    assert urls[0].startswith("https://examplebucket.s3.us-east-1.amazonaws.com/photos/2000/img%200000000.jpg?")
    assert "caf%C3%A9%200000002.jpg?" in urls[2]  # order kept, non-ASCII encoded
    assert all("&X-Amz-Signature=" in u for u in urls[:100])


def test_usage_errors(backend):
    assert run_cli(backend, "presign", "--example", "--expires-in", "8d").returncode == 2
    assert run_cli(backend, "presign", "--example", "--param", "novalue").returncode == 2
    assert run_cli(backend, "nonsense").returncode == 2
    assert run_cli(backend, "--version").stdout.startswith("fastsig ")


def test_verify_command(backend):
    from fastsig import Signer
    from fastsig.cli import EXAMPLE_CREDENTIALS

    url = Signer(EXAMPLE_CREDENTIALS, "us-east-1", "s3").presign(
        "GET", "https://examplebucket.s3.us-east-1.amazonaws.com/a b.txt", expires_in=600)
    done = run_cli(backend, "verify", "--example", url)
    assert done.returncode == 0 and done.stdout.startswith("valid: AKIAIOSFODNN7EXAMPLE"), done
    done = run_cli(backend, "verify", "--example", url.replace("a%20b", "a%20c"))
    assert done.returncode == 1 and done.stdout.startswith("invalid: SignatureDoesNotMatch")
    done = run_cli(backend, "verify", "--example", "--region", "eu-west-1", url)
    assert done.returncode == 1
    assert EXAMPLE_CREDENTIALS.secret_access_key not in done.stdout + done.stderr
    env_less = run_cli(backend, "verify", url)
    assert env_less.returncode in (1, 2)  # no credentials, or the wrong ones from the env


# ------------------------------------------------------------------------- bulk presign

import csv  # noqa: E402
import datetime  # noqa: E402
import gzip  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
from urllib.parse import quote, quote_plus, unquote, urlsplit  # noqa: E402

import pytest  # noqa: E402

WHEN = "20150830T123600Z"
EXAMPLE = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
TRICKY_KEYS = [
    "plain.txt", "a key with spaces.txt", "café/naïve ☃.txt", "emoji 😀.bin", "50%.txt",
    "a+b=c&d.txt", "~user/file", "double//slash", "./dot/../segments", "what?.txt", "hash#tag",
    " leading and trailing ", "k" * 1024, "tab\there", "ünïcödé/" * 20 + "end",
]


def botocore_presign(url: str, region: str, expires: int, method: str = "GET",
                     token: str = None) -> str:
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    when = datetime.datetime(2015, 8, 30, 12, 36)
    request = AWSRequest(method=method, url=url)
    auth = S3SigV4QueryAuth(BotoCredentials(*EXAMPLE, token), "s3", region, expires=expires)
    import botocore.auth as botocore_auth
    original = botocore_auth.get_current_datetime
    botocore_auth.get_current_datetime = lambda: when
    try:
        auth.add_auth(request)
    finally:
        botocore_auth.get_current_datetime = original
    return request.url


def signature(url: str) -> str:
    return url.rpartition("X-Amz-Signature=")[2]


def check_keys(urls, keys, bucket="bkt", region="eu-west-1", expires=604800):
    assert len(urls) == len(keys)
    for url, key in zip(urls, keys):
        parts = urlsplit(url)
        assert parts.hostname == f"{bucket}.s3.{region}.amazonaws.com"
        assert unquote(parts.path[1:]) == key  # order and content kept
        plain = f"https://{parts.hostname}/{quote(key, safe='/~')}"
        assert signature(url) == signature(botocore_presign(plain, region, expires)), key


def presign(backend, *args, input=None, text=True):
    # With --example and no input the listing is generated: '-' reads standard input.
    source = ["-"] if input is not None else []
    return run_cli(backend, "presign", *source, "--example", "--timestamp", WHEN, *args,
                   input=input, text=text)


def test_key_list_with_tricky_keys_blank_lines_and_crlf(backend):
    pytest.importorskip("botocore")
    lines = []
    for i, key in enumerate(TRICKY_KEYS):
        lines.append(key + ("\r" if i % 3 == 0 else ""))
        if i % 4 == 0:
            lines.append("")  # blank lines are skipped and counted
    data = ("\n".join(lines) + "\n").encode()
    done = presign(backend, "--bucket", "bkt", "--region", "eu-west-1", "--expires-in", "7d",
                   "--workers", "2", input=data, text=False)
    assert done.returncode == 0, done.stderr
    stderr = done.stderr.decode()
    assert f"presigned {len(TRICKY_KEYS)} URLs" in stderr and "4 blank lines skipped" in stderr
    check_keys(done.stdout.decode().splitlines(), TRICKY_KEYS)


def test_many_keys_in_order_across_workers_and_blocks(backend, tmp_path):
    keys = [f"dir {i % 7}/file-{i:06d}.dat" for i in range(60000)]
    source = tmp_path / "keys.txt.gz"
    with gzip.open(source, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(keys) + "\n")
    out = tmp_path / "urls.txt"
    done = presign(backend, str(source), "--bucket", "bkt", "--region", "eu-west-1",
                   "--expires-in", "604800", "--workers", "2", "-o", str(out))
    assert done.returncode == 0, done.stderr
    urls = out.read_text().splitlines()
    assert [unquote(urlsplit(u).path[1:]) for u in urls] == keys
    check_keys(urls[::5000], keys[::5000])
    # The workers write into the file after the header the main process wrote.
    done = presign(backend, str(source), "--bucket", "bkt", "--region", "eu-west-1",
                   "--workers", "2", "--output-format", "csv", "-o", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0] == ["key", "url", "expires"] and [row[0] for row in rows[1:]] == keys


def test_url_list_with_queries_and_extra_parameters(backend):
    urls_in = ["https://b.s3.us-west-2.amazonaws.com/x/y%20z.txt",
               "https://s3.us-west-2.amazonaws.com/b/k?versionId=3"]
    done = presign(backend, "--region", "us-west-2", "--expires-in", "1h",
                   "--param", "response-content-disposition=attachment; filename=\"a b\"",
                   input="\n".join(urls_in) + "\n")
    assert done.returncode == 0, done.stderr
    urls = done.stdout.splitlines()
    expected_query = "response-content-disposition=attachment%3B%20filename%3D%22a%20b%22"
    assert "versionId=3" in urls[1]
    for url, given in zip(urls, urls_in):
        assert expected_query in url
        joiner = "&" if "?" in given else "?"
        want = botocore_presign(given + joiner + expected_query, "us-west-2", 3600)
        assert signature(url) == signature(want)


def test_csv_tsv_and_json_lines(backend, tmp_path):
    keys = ["a.txt", "with, comma.txt", 'quote".txt', "ü.txt"]
    csv_file = tmp_path / "listing.csv"
    with open(csv_file, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["size", "key"])
        writer.writerows([[i, key] for i, key in enumerate(keys)])
    tsv_file = tmp_path / "listing.tsv"
    tsv_file.write_text("".join(f"{i}\t{key}\n" for i, key in enumerate(keys)), encoding="utf-8")
    jsonl_file = tmp_path / "listing.jsonl"
    jsonl_file.write_text("".join(json.dumps({"Key": key, "Size": 1}) + "\n" for key in keys))
    for args in ([str(csv_file), "--column", "key"], [str(tsv_file), "--column", "2"],
                 [str(jsonl_file), "--field", "Key"]):
        done = presign(backend, *args, "--bucket", "bkt", "--region", "eu-west-1",
                       "--expires-in", "7d", "--output-format", "jsonl")
        assert done.returncode == 0, (args, done.stderr)
        records = [json.loads(line) for line in done.stdout.splitlines()]
        assert [r["key"] for r in records] == keys
        assert {r["expires"] for r in records} == {"2015-09-06T12:36:00Z"}
        check_keys([r["url"] for r in records], keys)


def test_s3_inventory_report(backend, tmp_path):
    keys = ["photos/a b.jpg", "odd+plus.txt", "ü/100%.txt"]
    report = tmp_path / "inventory.csv.gz"
    with gzip.open(report, "wt", encoding="utf-8") as handle:
        for key in keys:  # Inventory quotes every field and URL-encodes keys (+ for a space)
            handle.write(f'"bkt","{quote_plus(key, safe="/")}","123","2024-01-01T00:00:00.000Z"\n')
    done = presign(backend, str(report), "--format", "inventory", "--region", "eu-west-1",
                   "--expires-in", "7d", "--output-format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["key", "url", "expires"]
    assert [row[0] for row in rows[1:]] == keys
    check_keys([row[1] for row in rows[1:]], keys)


def test_invalid_utf8_is_reported_by_line_or_skipped(backend):
    data = b"good-1\nbad-\xff\ngood-2\n"
    done = presign(backend, "--bucket", "bkt", input=data, text=False)
    assert done.returncode == 1
    assert done.stderr.decode().strip().endswith("line 2: not valid UTF-8 (--skip-invalid skips such lines)")
    assert b"Traceback" not in done.stderr
    done = presign(backend, "--bucket", "bkt", "--skip-invalid", input=data, text=False)
    assert done.returncode == 0
    assert [urlsplit(u).path for u in done.stdout.decode().splitlines()] == ["/good-1", "/good-2"]
    assert "1 invalid lines skipped" in done.stderr.decode()


def test_bad_url_names_its_line(backend):
    done = presign(backend, input="https://b.s3.amazonaws.com/ok\nnot a url\n")
    assert done.returncode == 1 and "line 2:" in done.stderr and "Traceback" not in done.stderr


def test_broken_pipe_ends_quietly(backend):
    environ = {k: v for k, v in os.environ.items() if k != "FASTSIG_NO_EXTENSIONS"}
    if backend == "python":
        environ["FASTSIG_NO_EXTENSIONS"] = "1"
    done = subprocess.run(
        f'"{sys.executable}" -m fastsig presign --example --count 300000 | head -n 2',
        shell=True, env=environ, capture_output=True, text=True, timeout=300)
    assert len(done.stdout.splitlines()) == 2
    assert "Traceback" not in done.stderr and "Error" not in done.stderr


def test_presigned_urls_fetch_objects_from_moto(backend, open_moto, tmp_path):
    # moto with authentication enforced fails with a 500 on any request without an
    # Authorization header, presigned URLs included: this runs against the open server, and
    # the signatures themselves are checked against botocore above.
    requests = pytest.importorskip("requests")
    from fastsig import Credentials, Signer

    endpoint = open_moto
    creds = Credentials("AKIDMOTO", "moto-secret")
    s3 = Signer(creds, "us-east-1", "s3")
    bucket = f"cli-{backend}-{os.getpid()}"
    assert requests.put(**_signed(s3, "PUT", f"{endpoint}/{bucket}")).status_code == 200
    objects = {"plain.txt": b"hello", "dir/my file.txt": "☃ data".encode(), "~user/x": b"\x00" * 999}
    for key, data in objects.items():
        r = requests.put(**_signed(s3, "PUT", f"{endpoint}/{bucket}/{quote(key)}", data))
        assert r.status_code == 200, r.text
    env = {"AWS_ACCESS_KEY_ID": creds.access_key_id, "AWS_SECRET_ACCESS_KEY": creds.secret_access_key}
    done = run_cli(backend, "presign", "--bucket", bucket, "--endpoint-url", endpoint,
                   "--path-style", "--region", "us-east-1", input="\n".join(objects) + "\n", env=env)
    assert done.returncode == 0, done.stderr
    assert creds.secret_access_key not in done.stdout + done.stderr
    urls = done.stdout.splitlines()
    assert len(urls) == len(objects)
    for url, (key, data) in zip(urls, objects.items()):
        r = requests.get(url, timeout=30)
        assert r.status_code == 200 and r.content == data, (key, r.text)


def _signed(signer, method, url, body=None):
    signed = signer.sign(method, url, None, body)
    return {"url": signed.url, "headers": signed.headers, "data": body, "timeout": 30}


# ------------------------------------------------------------------------- sign, help


def test_sign_prints_headers_curl_and_explanation_without_secrets(backend):
    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-value",
           "AWS_SESSION_TOKEN": "token-value"}
    url = "https://sqs.eu-west-1.amazonaws.com/?Action=ListQueues"
    done = run_cli(backend, "sign", "GET", url, "-H", "X-Custom: a  b", env=env)
    assert done.returncode == 0, done.stderr
    assert "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" in done.stdout
    assert "/eu-west-1/sqs/aws4_request" in done.stdout
    assert "X-Amz-Security-Token: $AWS_SESSION_TOKEN" in done.stdout
    explained = run_cli(backend, "sign", "POST", url, "-d", "body", "--explain", env=env)
    assert explained.stdout.startswith("# canonical request\nPOST\n/\n")
    curl = run_cli(backend, "sign", "GET", url, "--curl", env=env)
    assert curl.stdout.startswith("curl -X GET") and "${AWS_SESSION_TOKEN}" in curl.stdout
    for result in (done, explained, curl):
        assert "secret-value" not in result.stdout + result.stderr
        assert "token-value" not in result.stdout + result.stderr
    unknown = run_cli(backend, "sign", "GET", "https://example.com/", env=env)
    assert unknown.returncode == 2 and "--service" in unknown.stderr


@pytest.mark.parametrize("command", ["presign", "sign", "verify", "bench"])
def test_help_shows_examples(backend, command):
    done = run_cli(backend, command, "--help")
    assert done.returncode == 0 and "examples:" in done.stdout


def test_errors_are_one_line_without_traceback(backend, tmp_path):
    done = run_cli(backend, "presign", str(tmp_path / "missing.txt"), "--bucket", "bkt", "--example")
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "missing.txt" in done.stderr
    done = run_cli(backend, "presign", "--bucket", "bkt", input="k\n")  # no credentials anywhere
    assert done.returncode == 1 and "no AWS credentials found" in done.stderr
    assert "Traceback" not in done.stderr


def test_bench_writes_its_figures_and_chart(backend, tmp_path):
    # A smoke run: the figures the README's tables and chart come from, in JSON and SVG.
    import json

    if backend == "python":
        return  # one run covers the command; it measures both backends itself
    done = run_cli(backend, "bench", "--rounds", "1", "--batch", "300", "--group",
                   "sign DynamoDB POST (100-byte body)", "--json", str(tmp_path / "b.json"),
                   "--chart", str(tmp_path / "b.svg"))
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "b.json").read_text())
    figures = report["groups"]["sign DynamoDB POST (100-byte body)"]
    names = {c["name"] for c in figures["contenders"]}
    assert figures["baseline"] == "yardstick" and "fastsig sign, datetime given (cython)" in names
    assert all(c["rate_min"] <= c["rate_median"] <= c["rate_max"] for c in figures["contenders"])
    assert report["machine"]["cpu"] and report["batch"] == 300
    assert (tmp_path / "b.svg").read_text().startswith("<svg")
    assert "| fastsig sign, datetime given (cython) |" in done.stdout
    # In CPU time: what other jobs take from a shared machine's cores stretches no batch.
    done = run_cli(backend, "bench", "--rounds", "1", "--batch", "300", "--group",
                   "sign DynamoDB POST (100-byte body)", "--clock", "cpu", "--json",
                   str(tmp_path / "c.json"))
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "c.json").read_text())["clock"] == "cpu"
    assert "(CPU time, median of 1 interleaved rounds" in done.stdout
