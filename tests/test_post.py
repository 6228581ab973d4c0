"""Presigned POST (browser uploads): the fields botocore makes, a real upload to moto, and the
verifier's policy checks."""

from __future__ import annotations

import datetime
import uuid
from unittest import mock

import pytest

from fastsig import (
    ConfigurationError,
    Credentials,
    InvalidRequestError,
    Signer,
    VerificationError,
    Verifier,
)
from fastsig._timestamp import to_epoch_seconds

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
TEMP = Credentials("ASIAEXAMPLE", "temporary/secret", "session-token")
WHEN = "20261123T120000Z"
NOW = to_epoch_seconds(WHEN)

CASES = [
    # (credentials, key, conditions, fields)
    (CREDS, "uploads/cat.jpg", None, None),
    (TEMP, "uploads/${filename}", [["content-length-range", 1, 1000], {"acl": "private"}],
     {"acl": "private"}),
    (CREDS, "a key/with ü and +", [["starts-with", "$Content-Type", "image/"]],
     {"Content-Type": "image/png", "success_action_status": "201"}),
]


@pytest.mark.parametrize("creds, key, conditions, fields", CASES)
def test_the_fields_are_botocores(creds, key, conditions, fields):
    botocore_session = pytest.importorskip("botocore.session")
    import botocore.auth
    import botocore.signers
    from botocore.config import Config

    when = datetime.datetime(2026, 11, 23, 12, 0, 0)
    client = botocore_session.get_session().create_client(
        "s3", region_name="eu-west-1", aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key, aws_session_token=creds.session_token,
        config=Config(signature_version="s3v4"))
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda: when), \
            mock.patch.object(botocore.signers, "get_current_datetime", lambda: when):
        theirs = client.generate_presigned_post(
            "my-bucket", key, Fields=dict(fields) if fields else None,
            Conditions=list(conditions) if conditions else None, ExpiresIn=900)
    ours = Signer(creds, "eu-west-1", "s3").presign_post(
        "my-bucket", key, expires_in=900, conditions=conditions, fields=fields, timestamp=WHEN)
    assert list(ours.fields.items()) == list(theirs["fields"].items())
    # botocore posts to the global host; fastsig to the bucket's region. S3 takes both.
    assert ours.url == "https://my-bucket.s3.eu-west-1.amazonaws.com/"


def verifier(**options):
    options.setdefault("clock", lambda: NOW + 60)
    return Verifier({c.access_key_id: c for c in (CREDS, TEMP)}.get, **options)


def code_of(call) -> str:
    with pytest.raises(VerificationError) as info:
        call()
    assert CREDS.secret_access_key not in str(info.value)
    return info.value.code


def test_the_verifier_checks_signature_expiry_and_conditions():
    post = Signer(TEMP, "us-east-1", "s3").presign_post(
        "bucket", "uploads/${filename}", expires_in=600, timestamp=WHEN,
        conditions=[["content-length-range", 1, 1000], ["starts-with", "$Content-Type", "image/"]],
        fields={"Content-Type": "image/png"})
    form = dict(post.fields, key="uploads/cat.png")
    check = verifier()
    verified = check.verify_post(form, bucket="bucket", content_length=500)
    assert (verified.access_key_id, verified.service, verified.session_token) == (
        TEMP.access_key_id, "s3", TEMP.session_token)
    assert verified.expires == NOW + 600

    def refused(changed=None, bucket="bucket", length=500, checker=check):
        return code_of(lambda: checker.verify_post(dict(form, **(changed or {})), bucket=bucket,
                                                   content_length=length))

    assert refused({"key": "elsewhere/cat.png"}) == "AccessDenied"
    assert refused(length=1001) == "AccessDenied"
    assert refused(length=0) == "AccessDenied"
    assert refused({"Content-Type": "text/html"}) == "AccessDenied"
    assert refused({"acl": "public-read"}) == "AccessDenied"  # a field no condition names
    assert refused(bucket="other") == "AccessDenied"
    assert refused(checker=verifier(clock=lambda: NOW + 601)) == "AccessDenied"  # expired
    assert refused({"x-amz-signature": "0" * 64}) == "SignatureDoesNotMatch"
    assert refused({"x-amz-security-token": "another"}) in ("AccessDenied", "InvalidToken")
    # A policy edited to allow more no longer matches its signature.
    import base64
    import json

    policy = json.loads(base64.b64decode(form["policy"]))
    policy["conditions"][0] = ["content-length-range", 1, 10 ** 9]
    edited = base64.b64encode(json.dumps(policy).encode()).decode()
    assert refused({"policy": edited}, length=5000) == "SignatureDoesNotMatch"
    assert refused({"policy": "not base64!"}) == "IncompleteSignature"
    no_signature = {k: v for k, v in form.items() if k != "x-amz-signature"}
    assert code_of(lambda: check.verify_post(no_signature, bucket="bucket",
                                             content_length=5)) == "IncompleteSignature"
    # x-ignore- fields need no condition.
    assert check.verify_post(dict(form, **{"x-ignore-tracking": "1"}), bucket="bucket",
                             content_length=5)


def test_bad_input_is_refused_before_anything_is_signed():
    s3 = Signer(CREDS, "us-east-1", "s3")
    with pytest.raises(ConfigurationError):
        Signer(CREDS, "us-east-1", "execute-api").presign_post("b", "k")
    with pytest.raises(InvalidRequestError):
        s3.presign_post("b", "")
    with pytest.raises(InvalidRequestError):
        s3.presign_post("b", "k", conditions=["not a condition"])
    with pytest.raises(InvalidRequestError):
        s3.presign_post("b", "k", expires_in=604801)


@pytest.mark.server
def test_a_browser_style_upload_to_moto(open_moto, backend):
    """A form POST carries no Authorization header, which moto with authentication enforced
    answers with a 500 whatever the form: the upload goes to the open server, and fastsig's
    verifier checks the form the browser sent."""
    requests = pytest.importorskip("requests")
    endpoint = open_moto
    signer = Signer(CREDS, "us-east-1", "s3")
    bucket = f"post-{backend}-{uuid.uuid4().hex[:8]}"
    created = signer.sign("PUT", f"{endpoint}/{bucket}")
    assert requests.put(created.url, headers=created.headers, timeout=30).status_code == 200
    post = signer.presign_post(bucket, "uploads/${filename}", endpoint_url=endpoint,
                               path_style=True, fields={"success_action_status": "201"},
                               conditions=[["content-length-range", 1, 1 << 20],
                                           {"success_action_status": "201"}])
    data = bytes(range(256)) * 40
    answer = requests.post(post.url, data=post.fields,
                           files={"file": ("photo.bin", data, "application/octet-stream")},
                           timeout=30)
    assert answer.status_code == 201, answer.text
    fetch = signer.sign("GET", f"{endpoint}/{bucket}/uploads/photo.bin")
    stored = requests.get(fetch.url, headers=fetch.headers, timeout=30)
    assert stored.status_code == 200 and stored.content == data
    checker = Verifier({CREDS.access_key_id: CREDS}.get)
    sent = dict(post.fields, key="uploads/photo.bin")
    assert checker.verify_post(sent, bucket=bucket, content_length=len(data))
    assert code_of(lambda: checker.verify_post(sent, bucket=bucket, content_length=2 << 20)) \
        == "AccessDenied"
