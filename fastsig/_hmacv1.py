"""S3's legacy signature, "HmacV1" (AWS Signature Version 2 for S3's REST API): an HMAC-SHA1
of a string to sign, sent as ``Authorization: AWS <key>:<signature>`` or, presigned, as the
``AWSAccessKeyId``, ``Expires`` and ``Signature`` query parameters. botocore's ``HmacV1Auth``
and ``HmacV1QueryAuth``; the S3 documentation's "Signing and authenticating REST requests".

The string to sign::

    <METHOD>
    <Content-MD5>
    <Content-Type>
    <Date, or Expires (epoch seconds) when presigned; empty when x-amz-date is sent>
    <x-amz-* headers: lowercase name ':' values (each stripped, repeats joined by ','), sorted>
    <the resource: '/' + bucket (virtual-hosted requests) + path as sent, then the
     sub-resources of the query (acl, versionId, uploadId, response-*, ...) sorted by name,
     their values decoded>

Legacy and rare, so pure Python on either backend: the result is the same by construction.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import re
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote, unquote

from ._errors import InvalidHeaderError, InvalidRequestError
from ._kernels.headers import _check_header, _header_items
from ._kernels.request import _check_method, split_url
from ._kernels.signing import SignedRequest
from ._kernels.uri import S3_PATHS, _reencode

__all__ = ["SUB_RESOURCES", "presign", "sign", "string_to_sign"]

# The query parameters that name a sub-resource and are signed (botocore's list, S3's).
SUB_RESOURCES = frozenset({
    "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory",
    "lifecycle", "location", "logging", "metrics", "notification", "object-lock", "partNumber",
    "policy", "replication", "requestPayment", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires", "restore", "select", "select-type",
    "storageClass", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning",
    "versions", "website",
})
_STANDARD = ("content-md5", "content-type")
# A virtual-hosted S3 endpoint: the bucket is what comes before the endpoint's own name
# (greedy, so a bucket with dots stays whole): bucket.s3.amazonaws.com,
# bucket.s3.us-west-2.amazonaws.com, bucket.s3-us-west-2.amazonaws.com, dualstack, China.
_VIRTUAL_HOST = re.compile(r"(.+)\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?(?::\d+)?")


def _request_parts(url: str) -> Tuple[str, str, str, List[Tuple[str, Optional[str]]]]:
    """(scheme, host, path as sent, query pairs as sent): the path and each key and value in
    S3's canonical encoding, the query in its order, a key without '=' keeping no value."""
    scheme, host, path, query = split_url(url)
    pairs: List[Tuple[str, Optional[str]]] = []
    for part in query.split("&"):
        if part:
            key, eq, value = part.partition("=")
            pairs.append((_reencode(key, False), _reencode(value, False) if eq else None))
    return scheme, host, S3_PATHS.paths(path)[0], pairs


def _query_text(pairs: List[Tuple[str, Optional[str]]]) -> str:
    return "&".join(k if v is None else f"{k}={v}" for k, v in pairs)


def resource(host: str, path: str, pairs: List[Tuple[str, Optional[str]]]) -> str:
    """The string to sign's last line: bucket and path, then the signed sub-resources."""
    virtual = _VIRTUAL_HOST.fullmatch(host)
    text = f"/{virtual.group(1)}{path}" if virtual else path
    subs = [(k, v) for k, v in pairs if k in SUB_RESOURCES]
    if subs:
        subs.sort(key=lambda pair: pair[0])  # stable: repeats keep their order
        text += "?" + "&".join(k if v is None else f"{k}={unquote(v)}" for k, v in subs)
    return text


def _headers(headers: Any) -> Tuple[List[Tuple[str, str]], Dict[str, List[str]]]:
    """(the caller's headers to send, values by lowercase name)."""
    sent: List[Tuple[str, str]] = []
    values: Dict[str, List[str]] = {}
    for item in _header_items(headers):
        name, lname, value = _check_header(item)
        sent.append((name, value))
        values.setdefault(lname, []).append(value)
    for lname in ("content-md5", "content-type", "date"):
        if len(values.get(lname, ())) > 1:
            raise InvalidHeaderError(f"more than one {lname} header")
    return sent, values


def string_to_sign(method: str, date: str, values: Dict[str, List[str]], resource_text: str) -> str:
    """The string to sign, from the request's headers by lowercase name (see the module)."""
    lines = [method]
    for lname in _STANDARD:
        found = values.get(lname)
        lines.append(found[0].strip() if found else "")
    lines.append(date)
    for lname in sorted(n for n in values if n.startswith("x-amz-")):
        lines.append(f"{lname}:{','.join(v.strip() for v in values[lname])}")
    lines.append(resource_text)
    return "\n".join(lines)


def signature(secret_access_key: str, text: str) -> str:
    """Base64 of the HMAC-SHA1 of ``text``."""
    digest = hmac.new(secret_access_key.encode("utf-8"), text.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode("ascii")


def _with_token(sent: List[Tuple[str, str]], values: Dict[str, List[str]],
                token: Optional[str]) -> None:
    if token is not None:
        sent[:] = [(n, v) for n, v in sent if n.lower() != "x-amz-security-token"]
        sent.append(("x-amz-security-token", token))
        values["x-amz-security-token"] = [token]


def sign(credentials: Any, epoch: int, method: str, url: str, headers: Any,
         body: Any) -> SignedRequest:
    """HmacV1 in the Authorization header. ``Date`` is set from ``epoch`` (replacing the
    caller's), unless the caller sends ``x-amz-date``, which S3 then reads instead of Date
    (and the string to sign's date line is empty)."""
    method = _check_method(method)
    scheme, host, path, pairs = _request_parts(url)
    sent, values = _headers(headers)
    _with_token(sent, values, credentials.session_token)
    if "x-amz-date" in values:
        date = ""
    else:
        date = email.utils.formatdate(epoch, usegmt=True)
        sent = [(n, v) for n, v in sent if n.lower() != "date"]
        sent.append(("Date", date))
    text = string_to_sign(method, date, values, resource(host, path, pairs))
    sig = signature(credentials.secret_access_key, text)
    out: Dict[str, str] = {}
    for name, value in sent:
        if name.lower() == "authorization":
            continue
        out[name] = f"{out[name]},{value}" if name in out else value
    out["Authorization"] = f"AWS {credentials.access_key_id}:{sig}"
    query = _query_text(pairs)
    out_url = f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
    return SignedRequest(out_url, out, sig, text, text)


def presign(credentials: Any, epoch: int, method: str, url: str, expires_in: int,
            headers: Any) -> str:
    """A presigned HmacV1 URL: ``Expires`` (epoch seconds) stands in the date line, and the
    signed x-amz-*, Content-MD5 and Content-Type headers travel in the query."""
    method = _check_method(method)
    if expires_in.__class__ is not int or expires_in < 1:
        raise InvalidRequestError("expires_in must be whole seconds, at least 1")
    scheme, host, path, pairs = _request_parts(url)
    sent, values = _headers(headers)
    _with_token(sent, values, credentials.session_token)
    expires = str(epoch + expires_in)
    text = string_to_sign(method, expires, values, resource(host, path, pairs))
    sig = signature(credentials.secret_access_key, text)
    # botocore's order: the key and signature, the signed headers as sent, then Expires.
    params: Dict[str, str] = {"AWSAccessKeyId": credentials.access_key_id, "Signature": sig}
    for name, _ in sent:
        lname = name.lower()
        if lname.startswith("x-amz-") or lname in _STANDARD:
            params[lname] = ",".join(values[lname])
    params["Expires"] = expires
    query = _query_text(pairs)
    auth = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in params.items())
    return f"{scheme}://{host}{path}?" + (f"{query}&{auth}" if query else auth)
