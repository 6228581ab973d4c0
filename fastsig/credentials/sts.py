"""The STS calls the credential providers make, signed with the low-level SigV4 layer
(``fastsig.sigv4``, not ``fastsig.Signer``: imports point one way, kernels <- signer <-
credentials would otherwise close a circle) and sent with the standard library:
``AssumeRole``, ``GetSessionToken`` and ``AssumeRoleWithWebIdentity`` (the last one unsigned:
the web identity token is the proof)."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlencode, urlsplit

from fastsig import _http, sigv4
from fastsig._errors import CredentialsError
from fastsig._timestamp import amz_date, parse_iso8601
from .base import Credentials

__all__ = ["assume_role", "assume_role_with_web_identity", "endpoint", "get_session_token",
           "sign_post"]

RETRY = _http.RetryPolicy(attempts=4, timeout=10.0, base=0.5, cap=8.0)

# Where AWS_STS_REGIONAL_ENDPOINTS=legacy still means the global endpoint.
_LEGACY_GLOBAL_REGIONS = frozenset({
    "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "aws-global",
    "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3",
    "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
})


def endpoint(environ: Mapping[str, str], region: Optional[str]) -> Tuple[str, str]:
    """(endpoint URL, signing region) for STS, as the SDKs choose them:
    ``AWS_ENDPOINT_URL_STS``, else ``AWS_ENDPOINT_URL``, else the regional endpoint (the
    global one without a region, or with ``AWS_STS_REGIONAL_ENDPOINTS=legacy`` in the
    regions that used it)."""
    signing_region = region or "us-east-1"
    explicit = environ.get("AWS_ENDPOINT_URL_STS") or environ.get("AWS_ENDPOINT_URL")
    if explicit:
        return explicit.rstrip("/") + "/", signing_region
    mode = (environ.get("AWS_STS_REGIONAL_ENDPOINTS") or "regional").lower()
    if region is None or region == "aws-global" or (
        mode == "legacy" and region in _LEGACY_GLOBAL_REGIONS
    ):
        return "https://sts.amazonaws.com/", "us-east-1"
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://sts.{region}.{suffix}/", region


def _is_throttled(response: _http.Response) -> bool:
    error = _error(response.body)
    return response.status == 400 and error is not None and error[0] in _http.THROTTLING_CODES


def _xml() -> Any:
    # Imported on the first STS answer, not with fastsig: it costs milliseconds at import.
    import xml.etree.ElementTree as ElementTree

    return ElementTree


def _error(body: bytes) -> Optional[Tuple[Optional[str], str]]:
    """(code, message) of an AWS XML error answer; None if the answer is not XML."""
    try:
        root = _xml().fromstring(body)
    except _xml().ParseError:
        return None
    message = (root.findtext(".//{*}Error/{*}Message") or "").strip()
    return root.findtext(".//{*}Error/{*}Code"), message


def _call(action: str, params: Dict[str, str], *, region: Optional[str], environ: Mapping[str, str],
          source: Optional[Credentials], what: str) -> Credentials:
    url, signing_region = endpoint(environ, region)
    body = urlencode({"Action": action, "Version": "2011-06-15", **params}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
               "Accept": "text/xml"}
    if source is not None:
        headers = sign_post(source, signing_region, "sts", url, headers, body)
    try:
        response = _http.request("POST", url, headers=headers, body=body, policy=RETRY,
                                 retryable=_is_throttled)
    except _http.HTTPFailure as exc:
        raise CredentialsError(f"{what}: {exc}") from None
    if response.status != 200:
        raise CredentialsError(f"{what}: HTTP {response.status} {_error_summary(response.body)}")
    return credentials_from_xml(response.body, what)


def sign_post(credentials: Credentials, region: str, service: str, url: str,
              headers: Mapping[str, str], body: bytes,
              clock: Callable[[], float] = time.time) -> Dict[str, str]:
    """``headers`` plus Host, X-Amz-Date, X-Amz-Security-Token and the SigV4 Authorization
    for a POST of ``body`` to ``url`` (a form-encoded query API call: no path to normalize
    beyond ``/``, no query string)."""
    parts = urlsplit(url)
    date_time = amz_date(int(clock()))
    signed = {"Host": parts.netloc, "X-Amz-Date": date_time, **headers}
    if credentials.session_token:
        signed["X-Amz-Security-Token"] = credentials.session_token
    canonical, names = sigv4.canonical_headers(signed)
    scope = sigv4.credential_scope(date_time[:8], region, service)
    request = sigv4.canonical_request("POST", sigv4.canonical_uri(parts.path or "/"),
                                      sigv4.canonical_query(parts.query), canonical, names,
                                      sigv4.sha256_hex(body))
    # kDate -> kRegion -> kService -> kSigning, then HMAC of the string to sign.
    key = sigv4.derive_signing_key(credentials.secret_access_key, date_time[:8], region, service)
    signature = sigv4.signature(key, sigv4.string_to_sign(date_time, scope, request))
    signed["Authorization"] = (f"{sigv4.ALGORITHM} Credential={credentials.access_key_id}/"
                               f"{scope}, SignedHeaders={names}, Signature={signature}")
    return signed


def _error_summary(body: bytes) -> str:
    error = _error(body)
    if error is None:
        return "(no AWS error in the answer)"
    code, message = error[0] or "?", error[1]
    return f"{code}: {message[:300]}" if message else code


def assume_role(
    source: Credentials,
    role_arn: str,
    session_name: str,
    *,
    region: Optional[str],
    environ: Mapping[str, str],
    external_id: Optional[str] = None,
    duration_seconds: Optional[int] = None,
    mfa_serial: Optional[str] = None,
    mfa_code: Optional[str] = None,
) -> Credentials:
    params: Dict[str, str] = {"RoleArn": role_arn, "RoleSessionName": session_name}
    if external_id is not None:
        params["ExternalId"] = external_id
    if duration_seconds is not None:
        params["DurationSeconds"] = str(duration_seconds)
    if mfa_serial is not None:
        params["SerialNumber"] = mfa_serial
        params["TokenCode"] = mfa_code or ""
    return _call("AssumeRole", params, region=region, environ=environ, source=source,
                 what=f"STS AssumeRole for {role_arn}")


def get_session_token(
    source: Credentials,
    *,
    region: Optional[str],
    environ: Mapping[str, str],
    serial_number: Optional[str] = None,
    token_code: Optional[str] = None,
    duration_seconds: Optional[int] = None,
) -> Credentials:
    params: Dict[str, str] = {}
    if duration_seconds is not None:
        params["DurationSeconds"] = str(duration_seconds)
    if serial_number is not None:
        params["SerialNumber"] = serial_number
        params["TokenCode"] = token_code or ""
    return _call("GetSessionToken", params, region=region, environ=environ, source=source,
                 what="STS GetSessionToken" + (f" with MFA {serial_number}" if serial_number else ""))


def assume_role_with_web_identity(
    role_arn: str,
    session_name: str,
    token: str,
    *,
    region: Optional[str],
    environ: Mapping[str, str],
    duration_seconds: Optional[int] = None,
) -> Credentials:
    params = {"RoleArn": role_arn, "RoleSessionName": session_name, "WebIdentityToken": token}
    if duration_seconds is not None:
        params["DurationSeconds"] = str(duration_seconds)
    return _call("AssumeRoleWithWebIdentity", params, region=region, environ=environ,
                 source=None, what=f"STS AssumeRoleWithWebIdentity for {role_arn}")


def credentials_from_xml(body: bytes, what: str) -> Credentials:
    """The temporary ``Credentials`` (with their expiration) in an STS or S3 CreateSession
    answer: a ``Credentials`` element of AccessKeyId, SecretAccessKey, SessionToken and
    Expiration, whatever the namespace."""
    try:
        root = _xml().fromstring(body)
    except _xml().ParseError:
        raise CredentialsError(f"{what}: the answer is not XML") from None
    found = root.find(".//{*}Credentials")
    fields = {} if found is None else {child.tag.rpartition("}")[2]: (child.text or "").strip()
                                       for child in found}
    missing = [name for name in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")
               if not fields.get(name)]
    if missing:
        raise CredentialsError(f"{what}: the answer lacks {', '.join(missing)}")
    expiration = parse_iso8601(fields["Expiration"])
    if expiration is None:
        raise CredentialsError(f"{what}: Expiration {fields['Expiration']!r} is not an ISO 8601 time")
    return Credentials(fields["AccessKeyId"], fields["SecretAccessKey"], fields["SessionToken"],
                       expiration)
