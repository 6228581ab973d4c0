"""AWS Signature Version 2 for query APIs (EC2, SQS, SimpleDB, ... as botocore's ``SigV2Auth``
and aws.signature's ``signature_v2_auth`` sign them): the request's parameters, in the query
string (GET) or a form body (POST), gain ``AWSAccessKeyId``, ``SignatureVersion=2``,
``SignatureMethod=HmacSHA256``, ``Timestamp`` (or ``Expires`` when presigned),
``SecurityToken`` with session credentials, and ``Signature``: the base64 HMAC of::

    <METHOD>
    <host, lowercase, with a port that is not the scheme's default>
    <path as sent>
    <the parameters but Signature, RFC 3986-encoded, sorted by name, joined with '&'>

Legacy and rare, so pure Python on either backend: the result is the same by construction.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any, Dict, List, Mapping, Tuple
from urllib.parse import parse_qsl

from . import _backend
from ._errors import InvalidRequestError, PayloadError
from ._kernels.headers import _check_header, _header_items
from ._kernels.request import _check_method, split_url
from ._kernels.signing import SignedRequest
from ._kernels.uri import S3_PATHS, _unescape

__all__ = ["presign", "sign", "string_to_sign"]

FORM_TYPE = "application/x-www-form-urlencoded"
_ISO8601 = "%Y-%m-%dT%H:%M:%SZ"
_AUTH_PARAMS = ("AWSAccessKeyId", "SignatureVersion", "SignatureMethod", "Timestamp",
                "Expires", "SecurityToken", "Signature")
_DIGESTS = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}


def _encode(text: str) -> str:
    # RFC 3986: what urllib's quote(text, safe="-_.~") gives, from the kernels (compiled or not).
    return _backend.kernels.uri_encode(text)


def _query_params(query: str) -> List[Tuple[str, str]]:
    """Decoded (name, value) pairs of a query string; '+' is a literal plus, as everywhere in
    fastsig's URLs."""
    pairs = []
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            try:
                pairs.append((_unescape(key).decode("utf-8"), _unescape(value).decode("utf-8")))
            except UnicodeDecodeError:
                raise InvalidRequestError("a query parameter is not UTF-8 once decoded") from None
    return pairs


def form_params(body: Any) -> List[Tuple[str, str]]:
    """Decoded (name, value) pairs of a form body: a mapping, or urlencoded bytes or str
    (where '+' is a space, as HTML forms encode it)."""
    if isinstance(body, Mapping):
        return [(str(k), str(v)) for k, v in body.items()]
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadError("a SigV2 form body must be UTF-8") from None
    if not isinstance(body, str):
        raise PayloadError("a SigV2 body must be form parameters: a mapping, bytes or str")
    return parse_qsl(body, keep_blank_values=True, errors="strict")


def canonical_params(params: Mapping[str, str]) -> str:
    """The parameters but ``Signature``, encoded and sorted by name."""
    return "&".join(f"{_encode(k)}={_encode(params[k])}" for k in sorted(params)
                    if k != "Signature")


def string_to_sign(method: str, host: str, path: str, params: Mapping[str, str]) -> str:
    return f"{method}\n{host}\n{path}\n{canonical_params(params)}"


def _string_to_sign(method: str, host: str, path: str, canonical: str) -> str:
    return f"{method}\n{host}\n{path}\n{canonical}"


def signature(secret_access_key: str, text: str, method: str = "HmacSHA256") -> str:
    digest = hmac.new(secret_access_key.encode("utf-8"), text.encode("utf-8"), _DIGESTS[method])
    return base64.b64encode(digest.digest()).decode("ascii")


def _params(pairs: List[Tuple[str, str]]) -> Dict[str, str]:
    params: Dict[str, str] = {}
    for key, value in pairs:
        if key in params and key not in _AUTH_PARAMS:
            raise InvalidRequestError(f"SigV2 parameters are unique; {key!r} repeats")
        params[key] = value
    for key in _AUTH_PARAMS:  # a retry's old signing parameters go
        params.pop(key, None)
    return params


def _signed(credentials: Any, method: str, host: str, path: str, params: Dict[str, str],
            when: Tuple[str, str]) -> Tuple[str, str, str]:
    """(signature, string to sign, the query or form text that carries them)."""
    params["AWSAccessKeyId"] = credentials.access_key_id
    params["SignatureVersion"] = "2"
    params["SignatureMethod"] = "HmacSHA256"
    params[when[0]] = when[1]
    if credentials.session_token is not None:
        params["SecurityToken"] = credentials.session_token
    canonical = canonical_params(params)
    text = _string_to_sign(method, host, path, canonical)
    sig = signature(credentials.secret_access_key, text)
    params["Signature"] = sig
    return sig, text, f"{canonical}&Signature={_encode(sig)}"


def sign(credentials: Any, epoch: int, method: str, url: str, headers: Any,
         body: Any) -> SignedRequest:
    """SigV2: the parameters of the query (no body) or of the form ``body`` are signed, and
    the request comes back with them (``SignedRequest.url``, or ``SignedRequest.body`` with a
    Content-Type of ``application/x-www-form-urlencoded; charset=utf-8``)."""
    method = _check_method(method)
    scheme, host, path, query = split_url(url)
    path = S3_PATHS.paths(path)[0]
    sent: Dict[str, str] = {}
    for item in _header_items(headers):
        name, _, value = _check_header(item)
        sent[name] = f"{sent[name]},{value}" if name in sent else value
    in_body = body is not None and not (isinstance(body, (bytes, str)) and not body)
    if in_body:
        if query:
            raise InvalidRequestError("SigV2 signs the parameters of the query or of the body, "
                                      "not both")
        params = _params(form_params(body))
    else:
        params = _params(_query_params(query))
    stamp = time.strftime(_ISO8601, time.gmtime(epoch))
    sig, text, encoded = _signed(credentials, method, host, path, params, ("Timestamp", stamp))
    if in_body:
        for name in [n for n in sent if n.lower() in ("content-type", "content-length")]:
            del sent[name]
        sent["Content-Type"] = FORM_TYPE + "; charset=utf-8"
        request = SignedRequest(f"{scheme}://{host}{path}", sent, sig, text, text)
        request._body = encoded.encode("ascii")
        return request
    return SignedRequest(f"{scheme}://{host}{path}?{encoded}", sent, sig, text, text)


def presign(credentials: Any, epoch: int, method: str, url: str, expires_in: int,
            headers: Any) -> str:
    """A SigV2 URL good until ``Expires`` (ISO 8601), instead of ``Timestamp``'s 15 minutes."""
    method = _check_method(method)
    if expires_in.__class__ is not int or expires_in < 1:
        raise InvalidRequestError("expires_in must be whole seconds, at least 1")
    scheme, host, path, query = split_url(url)
    path = S3_PATHS.paths(path)[0]
    params = _params(_query_params(query))
    stamp = time.strftime(_ISO8601, time.gmtime(epoch + expires_in))
    encoded = _signed(credentials, method, host, path, params, ("Expires", stamp))[2]
    return f"{scheme}://{host}{path}?{encoded}"
