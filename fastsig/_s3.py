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
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple
from urllib.parse import urlsplit

from ._errors import (
    InvalidBucketNameError,
    InvalidRequestError,
    InvalidURLError,
    MalformedAuthorizationError,
    RequestExpiredError,
    VerificationError,
)

__all__ = ["PresignedPost", "bucket_service", "bucket_url", "check_bucket", "check_endpoint_url",
           "check_post", "post_policy", "presign_bucket_url"]

# Form fields a policy need not name (S3's rule).
_UNCONDITIONED = frozenset({"policy", "x-amz-signature", "file"})

# ---------------------------------------------------------------------------------------------
# Bucket names and addresses (S3 User Guide, "General purpose bucket naming rules" and
# "Directory bucket naming rules"). Checked once per bucket, never per key.

# What would change the URL built from the name: end the path or the host, start a query or
# a fragment, read as an escape; and whatever a URL cannot hold raw.
_STRUCTURE = re.compile(r"[/?#%\s\x00-\x1f\x7f]|[^\x00-\x7f]")
_UNSAFE_IN_URL = re.compile(r"[%\s\x00-\x1f\x7f]|[^\x00-\x7f]")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# Buckets made in us-east-1 before March 2018 may hold capitals and underscores, up to 255
# characters; no host label can hold them, so they are addressed path-style only.
_LEGACY_BUCKET = re.compile(r"[A-Za-z0-9._-]{3,255}")
_IP_ADDRESS = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = (".mrap", "--table-s3", "--x-s3", "-s3alias", "--ol-s3")
# Access point aliases (-s3alias) and Object Lambda access point aliases (--ol-s3) stand in
# a bucket's place wherever S3 takes a bucket name.
_ALIAS_SUFFIXES = ("-s3alias", "--ol-s3")
# bucket-base-name--zone-id--x-s3, such as logs--usw2-az1--x-s3 (or a Local Zone's
# usw2-lax1-az1): served only by its zone's endpoint, s3express-<zone>.<region>.amazonaws.com.
_DIRECTORY_BUCKET = re.compile(
    r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?--(?P<zone>[a-z0-9]+(?:-[a-z0-9]+)*-az[0-9]+)--x-s3")

VIRTUAL_HOSTED = "virtual"
PATH_STYLE_ONLY = "path"
DIRECTORY = "directory"


def _bad_bucket(bucket: str, why: str) -> InvalidBucketNameError:
    return InvalidBucketNameError(f"bucket name {bucket!r} {why}")


def check_bucket(bucket: Any, region: str) -> str:
    """How S3 addresses a valid bucket name: ``"virtual"`` (it can be a host label),
    ``"path"`` (dots, which break TLS wildcard certificates, or a legacy us-east-1 name) or
    ``"directory"`` (an S3 Express directory bucket); raises ``InvalidBucketNameError`` for
    a name S3 refuses or one that would change the URL's structure.

    >>> check_bucket("my-bucket", "eu-west-1"), check_bucket("logs.example.com", "eu-west-1")
    ('virtual', 'path')
    """
    if not isinstance(bucket, str) or not bucket:
        raise InvalidBucketNameError("the bucket name must be a non-empty string")
    odd = _STRUCTURE.search(bucket)
    if odd is not None:
        raise _bad_bucket(bucket, f"holds {odd.group()!r}, which would change the URL")
    directory = _DIRECTORY_BUCKET.fullmatch(bucket)
    if directory is not None:
        if len(bucket) > 63:
            raise _bad_bucket(bucket, "is longer than 63 characters")
        return DIRECTORY
    if _BUCKET.fullmatch(bucket) is None:
        if region == "us-east-1" and _LEGACY_BUCKET.fullmatch(bucket) is not None:
            return PATH_STYLE_ONLY
        if not 3 <= len(bucket) <= 63:
            raise _bad_bucket(bucket, "is not 3 to 63 characters long")
        if bucket.endswith("--x-s3"):
            raise _bad_bucket(bucket, "is not a directory bucket name "
                                      "(bucket-base-name--zone-id--x-s3)")
        raise _bad_bucket(bucket, "may hold only lowercase letters, digits, '.' and '-', and "
                                  "must begin and end with a letter or digit")
    if ".." in bucket:
        raise _bad_bucket(bucket, "holds two adjacent periods")
    if _IP_ADDRESS.fullmatch(bucket):
        raise _bad_bucket(bucket, "is formatted as an IP address")
    for prefix in _RESERVED_PREFIXES:
        if bucket.startswith(prefix):
            raise _bad_bucket(bucket, f"starts with the reserved prefix {prefix!r}")
    if not bucket.endswith(_ALIAS_SUFFIXES):
        if bucket.endswith("--x-s3"):
            raise _bad_bucket(bucket, "ends with '--x-s3' but is not a directory bucket name "
                                      "(bucket-base-name--zone-id--x-s3)")
        for suffix in _RESERVED_SUFFIXES:
            if bucket.endswith(suffix):
                raise _bad_bucket(bucket, f"ends with the reserved suffix {suffix!r}")
    return PATH_STYLE_ONLY if "." in bucket else VIRTUAL_HOSTED


def check_endpoint_url(endpoint_url: Any) -> Tuple[str, str]:
    """(scheme, authority and base path without the final '/') of an S3-compatible endpoint
    such as ``http://127.0.0.1:9000``; raises ``InvalidURLError`` for anything else."""
    if isinstance(endpoint_url, str) and _UNSAFE_IN_URL.search(endpoint_url) is None:
        try:
            parts = urlsplit(endpoint_url)
            if (parts.scheme in ("http", "https") and parts.hostname and not parts.query
                    and not parts.fragment and "@" not in parts.netloc):
                parts.port  # noqa: B018 - raises ValueError for a port out of range
                return parts.scheme, parts.netloc + parts.path.rstrip("/")
        except ValueError:
            pass
    raise InvalidURLError(f"endpoint URL {endpoint_url!r} is not http(s)://host[:port][/path]")


def bucket_url(bucket: str, region: str, *, endpoint_url: Optional[str] = None,
               path_style: bool = False, dualstack: bool = False) -> str:
    """The URL of a bucket's root, ending in '/', once the name passes ``check_bucket``:
    virtual-hosted style unless asked otherwise or the name cannot be a host label, as the
    SDKs do; a directory bucket's zonal endpoint.

    >>> bucket_url("logs--usw2-az1--x-s3", "us-west-2")
    'https://logs--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com/'
    """
    kind = check_bucket(bucket, region)
    if endpoint_url is not None:
        scheme, host = check_endpoint_url(endpoint_url)
        if kind == PATH_STYLE_ONLY or path_style:
            return f"{scheme}://{host}/{bucket}/"
        return f"{scheme}://{bucket}.{host}/"
    if kind == DIRECTORY:
        if path_style or dualstack:
            raise InvalidRequestError(
                f"directory bucket {bucket!r} is served only by its zonal endpoint: "
                "no path-style or dualstack URL")
        zone = _DIRECTORY_BUCKET.fullmatch(bucket).group("zone")  # type: ignore[union-attr]
        return f"https://{bucket}.s3express-{zone}.{region}.amazonaws.com/"
    host = f"s3.dualstack.{region}.amazonaws.com" if dualstack else f"s3.{region}.amazonaws.com"
    if kind == PATH_STYLE_ONLY or path_style:
        return f"https://{host}/{bucket}/"
    return f"https://{bucket}.{host}/"


def presign_bucket_url(bucket: str, region: str, *, endpoint_url: Optional[str] = None,
                       path_style: bool = False, dualstack: bool = False) -> str:
    """``bucket_url`` for presigned URLs and POST forms. A directory bucket on AWS is refused
    with a clear error: its zonal endpoint takes only requests signed with an S3 Express
    session (CreateSession's credentials and ``X-Amz-S3session-Token``), and a URL signed
    with the caller's own credentials would be refused there."""
    url = bucket_url(bucket, region, endpoint_url=endpoint_url, path_style=path_style,
                     dualstack=dualstack)
    if endpoint_url is None and _DIRECTORY_BUCKET.fullmatch(bucket):
        raise InvalidRequestError(
            f"bucket {bucket!r} is a directory bucket ({url}): S3 Express One Zone takes "
            "presigned requests signed with a CreateSession session only, which this does "
            "not make")
    return url


def bucket_service(bucket: str) -> str:
    """The signing name of requests to a (valid) bucket: ``s3express`` for a directory
    bucket, ``s3`` otherwise."""
    return "s3express" if _DIRECTORY_BUCKET.fullmatch(bucket) else "s3"


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
