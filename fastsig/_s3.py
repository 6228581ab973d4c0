"""S3's own pieces: bucket addressing, and browser uploads (presigned POST policies).

A presigned POST is a policy document (expiration and conditions) signed with SigV4's
signing key; the browser sends it with the form fields and the file. ``presign_post``
produces what botocore's ``generate_presigned_post`` produces for the same inputs;
``check_post`` is the other side: the policy's conditions against a submitted form.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional

from ._errors import (
    InvalidRequestError,
    MalformedAuthorizationError,
    RequestExpiredError,
    VerificationError,
)

__all__ = ["PresignedPost", "bucket_url", "check_post", "directory_bucket_zone", "post_policy",
           "zonal_endpoint"]

_DNS_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
# An S3 Express One Zone directory bucket: <name>--<zone id>--x-s3 (usw2-az1, use1-az4, ...).
_DIRECTORY_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]*--([a-z0-9]+(?:-[a-z0-9]+)+)--x-s3")
# Form fields a policy need not name (S3's rule).
_UNCONDITIONED = frozenset({"policy", "x-amz-signature", "file"})


def directory_bucket_zone(bucket: str) -> Optional[str]:
    """The Availability Zone id of an S3 Express One Zone directory bucket, else None.

    >>> directory_bucket_zone("logs--usw2-az1--x-s3")
    'usw2-az1'
    """
    match = _DIRECTORY_BUCKET.fullmatch(bucket) if isinstance(bucket, str) else None
    return match.group(1) if match else None


def zonal_endpoint(bucket: str, region: str, *, fips: bool = False,
                   dualstack: bool = False) -> str:
    """The root URL of a directory bucket: its zone's S3 Express endpoint, where both its
    requests and its CreateSession go (botocore's endpoint rules).

    >>> zonal_endpoint("logs--usw2-az1--x-s3", "us-west-2")
    'https://logs--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com/'
    """
    zone = directory_bucket_zone(bucket)
    if zone is None:
        raise InvalidRequestError(f"{bucket!r} is not a directory bucket (name--zone-id--x-s3)")
    prefix = "s3express-fips-" if fips else "s3express-"
    stack = ".dualstack" if dualstack else ""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{bucket}.{prefix}{zone}{stack}.{region}.{suffix}/"


def bucket_url(bucket: str, region: str, *, endpoint_url: Optional[str] = None,
               path_style: bool = False, dualstack: bool = False) -> str:
    """The URL of a bucket's root, ending in '/': virtual-hosted style unless asked otherwise
    or the name cannot be a host label (dots break TLS wildcards; uppercase), as the SDKs do;
    a directory bucket's zonal endpoint for S3 Express One Zone."""
    if endpoint_url is None and not path_style and directory_bucket_zone(bucket):
        return zonal_endpoint(bucket, region, dualstack=dualstack)
    virtual = not path_style and _DNS_BUCKET.fullmatch(bucket) is not None
    if endpoint_url:
        scheme, _, host = endpoint_url.rstrip("/").partition("://")
        return f"{scheme}://{bucket}.{host}/" if virtual else f"{scheme}://{host}/{bucket}/"
    host = f"s3.dualstack.{region}.amazonaws.com" if dualstack else f"s3.{region}.amazonaws.com"
    return f"https://{bucket}.{host}/" if virtual else f"https://{host}/{bucket}/"


class PresignedPost(NamedTuple):
    """Where a browser form posts (``url``) and the fields it sends before the file."""

    url: str
    fields: Dict[str, str]


def post_policy(bucket: str, key: str, expires_at: int, conditions: Optional[Iterable[Any]],
                fields: Optional[Mapping[str, str]]) -> tuple:
    """(policy document, form fields) before the signing fields, in botocore's order: the
    caller's conditions, the bucket, the key (a ``starts-with`` when the key ends in
    ``${filename}``, which the browser replaces with the file's name)."""
    if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
        raise InvalidRequestError("bucket and key must be non-empty strings")
    conditions = list(conditions or [])
    for condition in conditions:
        if not isinstance(condition, (dict, list, tuple)):
            raise InvalidRequestError(
                "each condition is a {field: value} dict or an [operator, ...] list")
    conditions.append({"bucket": bucket})
    if key.endswith("${filename}"):
        conditions.append(["starts-with", "$key", key[: -len("${filename}")]])
    else:
        conditions.append({"key": key})
    form = dict(fields or {})
    form["key"] = key
    expiration = datetime.datetime.fromtimestamp(expires_at, datetime.timezone.utc)
    policy = {"expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"), "conditions": conditions}
    return policy, form


def encode_policy(policy: dict) -> str:
    # json.dumps' default separators, as botocore, so both produce the same bytes.
    return base64.b64encode(json.dumps(policy).encode("utf-8")).decode("ascii")


class _PolicyViolation(VerificationError):
    code = "AccessDenied"
    status = 403


def check_post(policy_b64: str, form: Mapping[str, str], bucket: str, content_length: int,
               now: float) -> int:
    """The policy's expiration (epoch seconds), once the submitted ``form`` (lowercase field
    names) meets every condition of the policy, the policy has not expired, and every field but
    the exempt ones is named by a condition; raises otherwise."""
    try:
        policy = json.loads(base64.b64decode(policy_b64, validate=True))
        expiration = datetime.datetime.strptime(policy["expiration"][:19], "%Y-%m-%dT%H:%M:%S")
        conditions = policy["conditions"]
        if not isinstance(conditions, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise MalformedAuthorizationError("the policy is not a valid POST policy document") from None
    expires_at = int(expiration.replace(tzinfo=datetime.timezone.utc).timestamp())
    if now > expires_at:
        raise RequestExpiredError("Invalid according to Policy: Policy expired.")
    values = dict(form)
    values["bucket"] = bucket
    named: List[str] = []
    for condition in conditions:
        if isinstance(condition, dict) and len(condition) == 1:
            ((name, expected),) = condition.items()
            operator, name = "eq", name.lower()
        elif isinstance(condition, list) and len(condition) == 3:
            operator, name, expected = condition
            operator = str(operator).lower()
            if operator == "content-length-range":
                if not (isinstance(name, int) and isinstance(expected, int)
                        and name <= content_length <= expected):
                    raise _PolicyViolation(
                        "Your proposed upload is smaller or larger than the policy allows")
                continue
            if not isinstance(name, str) or not name.startswith("$"):
                raise MalformedAuthorizationError(f"bad policy condition {condition!r}")
            name = name[1:].lower()
        else:
            raise MalformedAuthorizationError(f"bad policy condition {condition!r}")
        named.append(name)
        value = values.get(name)
        if operator == "eq":
            ok = value is not None and value == expected
        elif operator == "starts-with":
            ok = value is not None and isinstance(expected, str) and value.startswith(expected)
        else:
            raise MalformedAuthorizationError(f"unknown policy operator {operator!r}")
        if not ok:
            raise _PolicyViolation(f"Invalid according to Policy: Policy Condition failed: "
                                   f"[\"{operator}\", \"${name}\"]")
    for name in values:
        if name not in named and name not in _UNCONDITIONED and name != "bucket" \
                and not name.startswith("x-ignore-"):
            raise _PolicyViolation(
                f"Invalid according to Policy: Extra input fields: {name}")
    return expires_at
