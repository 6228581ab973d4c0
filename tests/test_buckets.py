"""Bucket names by S3's rules, through every entry point that builds an S3 URL: the command
line, ``presign_post`` and ``presign_keys`` (and ``presign_upload_parts``). No bad name yields
a URL."""

from __future__ import annotations

import pytest

from fastsig import Credentials, InvalidBucketNameError, InvalidRequestError, Signer, infer_scope
from fastsig._s3 import bucket_url, check_bucket

from .test_cli import run_cli

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
WHEN = "20150830T123600Z"

# (bucket, region, the URL of key "k", or None: refused)
VALID = [
    ("my-bucket", "eu-west-1", "https://my-bucket.s3.eu-west-1.amazonaws.com/k"),
    ("abc", "eu-west-1", "https://abc.s3.eu-west-1.amazonaws.com/k"),
    ("a" * 63, "eu-west-1", f"https://{'a' * 63}.s3.eu-west-1.amazonaws.com/k"),
    ("0-9", "us-east-1", "https://0-9.s3.us-east-1.amazonaws.com/k"),
    # Dots: a valid name, but no TLS wildcard covers it: path-style, as the SDKs do.
    ("logs.example.com", "eu-west-1", "https://s3.eu-west-1.amazonaws.com/logs.example.com/k"),
    # Access point aliases stand in a bucket's place.
    ("my-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias", "us-east-1",
     "https://my-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias.s3.us-east-1.amazonaws.com/k"),
    ("my-olap-abcdefghijklmnopqrstuvwxyz012345--ol-s3", "us-west-2",
     "https://my-olap-abcdefghijklmnopqrstuvwxyz012345--ol-s3.s3.us-west-2.amazonaws.com/k"),
    # Legacy us-east-1 names: path-style only.
    ("My_Legacy.Bucket", "us-east-1", "https://s3.us-east-1.amazonaws.com/My_Legacy.Bucket/k"),
    ("UPPER", "us-east-1", "https://s3.us-east-1.amazonaws.com/UPPER/k"),
    ("under_score", "us-east-1", "https://s3.us-east-1.amazonaws.com/under_score/k"),
]
DIRECTORY = [
    ("logs--usw2-az1--x-s3", "us-west-2",
     "https://logs--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com/k"),
    ("media--usw2-lax1-az1--x-s3", "us-west-2",
     "https://media--usw2-lax1-az1--x-s3.s3express-usw2-lax1-az1.us-west-2.amazonaws.com/k"),
]
# (bucket, region, the rule it breaks: a word of the message)
INVALID = [
    ("ab", "eu-west-1", "3 to 63"),
    ("a" * 64, "eu-west-1", "3 to 63"),
    ("My-Bucket", "eu-west-1", "lowercase"),  # capitals: legacy names exist in us-east-1 only
    ("under_score", "eu-west-1", "lowercase"),
    ("-starts-with-dash", "eu-west-1", "begin and end"),
    ("ends-with-dash-", "eu-west-1", "begin and end"),
    (".starts-with-dot", "eu-west-1", "begin and end"),
    ("two..periods", "eu-west-1", "adjacent periods"),
    ("192.168.5.4", "eu-west-1", "IP address"),
    ("xn--punycode", "eu-west-1", "xn--"),
    ("sthree-bucket", "eu-west-1", "sthree-"),
    ("sthree-configurator", "eu-west-1", "sthree-"),
    ("amzn-s3-demo-bucket", "eu-west-1", "amzn-s3-demo-"),
    ("bucket.mrap", "eu-west-1", ".mrap"),
    ("bucket--table-s3", "eu-west-1", "--table-s3"),
    ("not-a-directory--x-s3", "us-west-2", "directory bucket"),
    ("a!b", "us-east-1", "lowercase"),
    ("a@b.c", "us-east-1", "lowercase"),
    # What would change the URL's structure: an error everywhere, legacy region or not.
    ("logs#x", "us-east-1", "'#'"),
    ("a?b", "us-east-1", "'?'"),
    ("a/b", "us-east-1", "'/'"),
    ("a%2Fb", "us-east-1", "'%'"),
    ("a b", "us-east-1", "' '"),
    ("tab\tname", "us-east-1", "'\\t'"),
    ("line\nbreak", "us-east-1", "'\\n'"),
    ("bücket", "eu-west-1", "'ü'"),
    ("", "eu-west-1", "non-empty"),
]


@pytest.mark.parametrize("bucket,region,url", VALID)
def test_valid_names_through_presign_keys(bucket, region, url):
    signer = Signer(CREDS, region, "s3")
    (presigned,) = signer.presign_keys(bucket, ["k"], timestamp=WHEN)
    assert presigned.split("?")[0] == url
    assert infer_scope(url.split("/")[2]) == ("s3", region)


@pytest.mark.parametrize("bucket,region,url", DIRECTORY)
def test_directory_buckets_get_their_zonal_endpoint_or_a_clear_error(backend, bucket, region, url):
    # The zonal endpoint, whose scope infer_scope names s3express...
    assert bucket_url(bucket, region) + "k" == url
    assert infer_scope(url.split("/")[2]) == ("s3express", region)
    # ...takes only requests signed with an S3 Express session: no presigned URL is made
    # with the caller's own credentials, and never a regional one.
    signer = Signer(CREDS, region, "s3")
    for call in (lambda: signer.presign_keys(bucket, ["k"]),
                 lambda: signer.presign_post(bucket, "k"),
                 lambda: signer.presign_upload_parts(bucket, "k", "id", 1)):
        with pytest.raises(InvalidRequestError, match="directory bucket .*CreateSession"):
            call()
    for options in ({"path_style": True}, {"dualstack": True}):
        with pytest.raises(InvalidRequestError, match="zonal endpoint"):
            signer.presign_keys(bucket, ["k"], **options)
    done = run_cli(backend, "presign", "-", "--example", f"--bucket={bucket}", "--region", region,
                   input="k\n")
    assert done.returncode == 2 and done.stdout == "" and done.stderr.count("\n") == 1
    assert "directory bucket" in done.stderr and "CreateSession" in done.stderr


@pytest.mark.parametrize("bucket,region,url", VALID)
def test_valid_names_through_presign_post(bucket, region, url):
    post = Signer(CREDS, region, "s3").presign_post(bucket, "k", timestamp=WHEN)
    assert post.url + "k" == url


@pytest.mark.parametrize("bucket,region,why", INVALID)
def test_invalid_names_yield_no_url(bucket, region, why):
    with pytest.raises(InvalidBucketNameError, match="bucket") as caught:
        check_bucket(bucket, region)
    assert why in str(caught.value) and "\n" not in str(caught.value)
    signer = Signer(CREDS, region, "s3")
    with pytest.raises(InvalidBucketNameError):
        signer.presign_keys(bucket, ["k"], timestamp=WHEN)
    with pytest.raises(InvalidBucketNameError):
        signer.presign_post(bucket, "k", timestamp=WHEN)
    with pytest.raises(InvalidBucketNameError):
        signer.presign_upload_parts(bucket, "k", "upload", 2, timestamp=WHEN)


CLI_CASES = [(b, r, u) for b, r, u in VALID] + [(b, r, None) for b, r, _ in INVALID
                                                            if b and "\n" not in b]


@pytest.mark.parametrize("bucket,region,url", CLI_CASES)
def test_names_through_the_command_line(backend, bucket, region, url):
    done = run_cli(backend, "presign", "-", "--example", f"--bucket={bucket}", "--region", region,
                   "--timestamp", WHEN, "--method", "DELETE", "--workers", "1", input="k\n")
    if url is None:
        assert done.returncode == 2 and done.stdout == "", done
        assert done.stderr.count("\n") == 1 and "bucket name" in done.stderr
        assert "Traceback" not in done.stderr
    else:
        assert done.returncode == 0, done.stderr
        assert done.stdout.split("?")[0] == url
        assert "all match" in done.stderr


def test_s3_buckets_are_signed_for_s3():
    with pytest.raises(Exception, match="service 's3'"):
        Signer(CREDS, "us-west-2", "s3express").presign_keys("my-bucket", ["k"])


def test_endpoint_url_is_checked():
    assert bucket_url("bkt", "us-east-1", endpoint_url="http://127.0.0.1:9000/") == \
        "http://bkt.127.0.0.1:9000/"
    assert bucket_url("bkt", "us-east-1", endpoint_url="http://[::1]:9000", path_style=True) == \
        "http://[::1]:9000/bkt/"
    for bad in ("http://[::1", "ftp://host", "http://", "http://h:99999", "http://h/?q",
                "http://user@h", "http://h h"):
        with pytest.raises(Exception, match="endpoint URL"):
            Signer(CREDS, "us-east-1", "s3").presign_keys("bkt", ["k"], endpoint_url=bad)
