"""What the HTTP client integrations share: which signer a URL needs, how a body is signed,
and what to do after each answer (retry, redirect, correct the clock). The modules
``fastsig.requests``, ``fastsig.httpx``, ``fastsig.aiohttp`` and ``fastsig.urllib3`` only
move bytes; every decision is made here, once.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple
from urllib.parse import urljoin, urlsplit

from ._errors import ConfigurationError, PayloadError, RedirectRefusedError
from ._http import THROTTLING_CODES, RetryPolicy, origin
from .credentials import default_provider, default_region
from .signer import S3_SERVICES, SignedRequest, Signer
from .sigv4 import UNSIGNED_PAYLOAD

__all__ = ["AWSAuthBase", "Exchange", "STREAM", "aws_redirects", "infer_scope"]

# ---------------------------------------------------------------------------------------------
# Service and region from the host name

_REGION = r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)"
_AWS_DOMAINS = r"amazonaws\.com(?:\.cn)?|api\.aws|on\.aws"
_SUFFIX = rf"\.(?P<suffix>{_AWS_DOMAINS})"
# Tried in order; the first match wins. Compiled on first use (1-2 ms), not at import.
_HOST_PATTERNS = [
    # OpenSearch domains and collections: the region comes before the service.
    r"(?:^|\.)" + _REGION + r"\.(?P<service>es|aoss)" + _SUFFIX + "$",
    # S3's legacy dash-region and global endpoints (bucket.s3-eu-west-1..., s3.amazonaws.com).
    r"(?:^|\.)(?P<service>s3)-" + _REGION + r"\.amazonaws\.com$",
    r"(?:^|\.)(?P<service>s3)(?:-external-1)?\.amazonaws\.com$",
    r"(?:^|\.)(?P<service>s3-accelerate)(?:\.dualstack)?\.amazonaws\.com$",
    # S3 Express zonal endpoints: bucket--usw2-az1--x-s3.s3express-usw2-az1.us-west-2...
    r"(?:^|\.)(?P<service>s3express)(?:-fips)?-[a-z0-9]+(?:-[a-z0-9]+)*-az[0-9]+"
    r"(?:\.dualstack)?\." + _REGION + _SUFFIX + "$",
    # <prefix...>.<service>[-fips][.dualstack].<region>.<suffix>: most services, S3 buckets,
    # access points, API Gateway (<api>.execute-api...), Lambda function URLs.
    r"(?:^|\.)(?P<service>[a-z0-9-]+?)(?:-fips)?(?:\.dualstack)?\." + _REGION + _SUFFIX + "$",
    # Global endpoints without a region (iam.amazonaws.com, sts.amazonaws.com).
    r"^(?P<service>[a-z0-9-]+)" + _SUFFIX + "$",
]
_compiled_host_patterns: List["re.Pattern[str]"] = []
# Endpoint prefixes whose signing name differs (from the services' endpoint metadata).
_SIGNING_NAMES = {
    "email": "ses",
    "s3-accelerate": "s3",
    "s3-accesspoint": "s3",
    "s3-control": "s3",
    "s3express-control": "s3express",
    "lambda-url": "lambda",
    "aps-workspaces": "aps",
}
# Global services sign with us-east-1 in the aws partition and cn-north-1 in China.
_GLOBAL_SERVICES = frozenset({"iam", "sts", "route53", "cloudfront", "organizations",
                              "globalaccelerator", "shield", "waf"})


def infer_scope(host: str) -> Tuple[Optional[str], Optional[str]]:
    """(service, region) that a well-known AWS host name signs with; either is None when the
    host does not tell (a custom domain, an IP address, ``s3-accelerate``, a global endpoint
    of a service that is not global).

    >>> infer_scope("abc123.execute-api.eu-west-1.amazonaws.com")
    ('execute-api', 'eu-west-1')
    >>> infer_scope("my.bucket.s3.dualstack.us-west-2.amazonaws.com")
    ('s3', 'us-west-2')
    >>> infer_scope("logs--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com")
    ('s3express', 'us-west-2')
    >>> infer_scope("search-logs-abc.eu-central-1.es.amazonaws.com")
    ('es', 'eu-central-1')
    >>> infer_scope("localhost")
    (None, None)
    """
    host = host.lower().rstrip(".")
    if not _compiled_host_patterns:
        _compiled_host_patterns.extend(re.compile(text) for text in _HOST_PATTERNS)
    for pattern in _compiled_host_patterns:
        match = pattern.search(host)
        if match:
            break
    else:
        return None, None
    found = match.groupdict()
    service = _SIGNING_NAMES.get(found["service"], found["service"])
    region = found.get("region")
    if region is None and service in _GLOBAL_SERVICES:
        region = "cn-north-1" if found.get("suffix") == "amazonaws.com.cn" else "us-east-1"
    elif region is None and service == "s3" and "accelerate" not in found["service"]:
        region = "us-east-1"  # s3.amazonaws.com and s3-external-1 are us-east-1
    return service, region


# ---------------------------------------------------------------------------------------------
# Redirects

_AWS_DOMAIN = re.compile(rf"(?:^|\.)({_AWS_DOMAINS})$")


def aws_redirects(old_url: str, new_url: str) -> bool:
    """The default redirect policy: follow (signing for the new host) a redirect to the same
    host, or from one AWS endpoint to another in the same domain (S3 sends buckets to their
    region this way); refuse anything else, and any step down from HTTPS to HTTP, because a
    signed request carries the access key ID and the session token."""
    old, new = urlsplit(old_url), urlsplit(new_url)
    if old.scheme == "https" and new.scheme != "https":
        return False
    if old.hostname == new.hostname:
        return True
    old_domain = _AWS_DOMAIN.search(old.hostname or "")
    new_domain = _AWS_DOMAIN.search(new.hostname or "")
    return bool(old_domain and new_domain and old_domain.group(1) == new_domain.group(1))


REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10

# ---------------------------------------------------------------------------------------------
# Answers worth another attempt

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Codes that mean "your clock is off" (the last two from services other than S3).
SKEW_CODES = frozenset({"RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture"})
_XML_CODE = re.compile(rb"<Code>\s*([A-Za-z0-9.]+)\s*</Code>")


def error_code(headers: Any, body: bytes) -> Optional[str]:
    """The AWS error code of an answer: ``x-amzn-ErrorType`` (JSON protocols), else
    ``__type``/``code`` of a JSON body, else ``<Code>`` of an XML body."""
    kind = headers.get("x-amzn-ErrorType")
    if kind:
        return kind.split(":", 1)[0].rpartition("#")[2].strip() or None
    body = body[:65536]
    if body.lstrip()[:1] == b"{":
        import json  # here: only error answers need it

        try:
            document = json.loads(body)
        except ValueError:
            return None
        if isinstance(document, dict):
            code = document.get("__type") or document.get("code") or document.get("Code")
            return code.rpartition("#")[2] if isinstance(code, str) else None
        return None
    match = _XML_CODE.search(body)
    return match.group(1).decode() if match else None


def _is_skew(code: Optional[str], body: bytes) -> bool:
    # DynamoDB and other JSON services say "Signature expired" in an
    # InvalidSignatureException rather than using a code of its own.
    return code in SKEW_CODES or (
        code == "InvalidSignatureException" and b"Signature expired" in body[:65536])


def _http_date(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    import email.utils  # here: only skew corrections and Retry-After dates need it

    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.timestamp() if parsed.tzinfo is not None else None


def retry_after(value: Optional[str], now: float) -> Optional[float]:
    """Seconds a ``Retry-After`` header asks for (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = _http_date(value)
    return None if when is None else max(0.0, when - now)


# ---------------------------------------------------------------------------------------------
# The shared auth object and one request's attempts


class _Stream:
    """The body is a stream the integration cannot rewind or hash in place."""

    def __repr__(self) -> str:
        return "STREAM"


STREAM: Any = _Stream()
_FILE, _BYTES = "file", "bytes"


def _body_kind(body: Any) -> Optional[str]:
    if body is None or body is STREAM:
        return None if body is None else "stream"
    if isinstance(body, (bytes, bytearray, memoryview, str)):
        return _BYTES if len(body) else None
    seekable = getattr(body, "seekable", None)
    if callable(getattr(body, "read", None)) and callable(seekable):
        try:
            if seekable():
                return _FILE
        except (OSError, ValueError):
            pass
    return "stream"


class AWSAuthBase:
    """The signing, retry and redirect settings of one integration object.

    ``signer`` is a ``Signer`` (its region and service are used for every host), or the
    credentials to sign with: ``Credentials``, a provider, or None for
    ``fastsig.default_provider()``. With credentials, ``region`` and ``service`` are taken
    from the host name when not given (see ``infer_scope``); the region then falls back to
    ``AWS_REGION``/``AWS_DEFAULT_REGION``/the profile. ``signer_options`` go to each ``Signer``
    made. ``retry`` is a ``RetryPolicy`` (None: one attempt). ``redirect_policy(old, new)``
    says which redirects may be followed and signed for their new host. ``follow_redirects``
    (where the client leaves redirects to the auth) and ``sleep`` (the wait between attempts,
    a coroutine function for async clients) default to the integration's class settings."""

    # Each integration's defaults: follow redirects in the auth (None: the client follows
    # them and the option is not offered), and how to wait.
    FOLLOW_REDIRECTS: Optional[bool] = True
    SLEEP: Callable[[float], Any] = staticmethod(time.sleep)

    def __init__(
        self,
        signer: Any = None,
        region: Optional[str] = None,
        service: Optional[str] = None,
        *,
        retry: Optional[RetryPolicy] = None,
        follow_redirects: Optional[bool] = None,
        redirect_policy: Callable[[str, str], bool] = aws_redirects,
        sleep: Optional[Callable[[float], Any]] = None,
        **signer_options: Any,
    ) -> None:
        if follow_redirects is not None and self.FOLLOW_REDIRECTS is None:
            raise ConfigurationError(
                f"{type(self).__name__} leaves redirects to the client: no follow_redirects")
        if isinstance(signer, Signer):
            if region is not None or service is not None or signer_options:
                raise ConfigurationError(
                    "pass either a Signer or credentials with region, service and options")
            self._fixed: Optional[Signer] = signer
            self._credentials = None
        else:
            self._fixed = None
            self._credentials = default_provider() if signer is None else signer
            # Fail now, not at the first request, on bad credentials, region or options.
            Signer(self._credentials, region or "us-east-1", service or "s3", **signer_options)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigurationError("retry must be a fastsig.RetryPolicy or None")
        if not callable(redirect_policy):
            raise ConfigurationError("redirect_policy must be callable(old_url, new_url)")
        self.region = region
        self.service = service
        self.retry = retry or RetryPolicy(attempts=1)
        self.follow_redirects = bool(
            self.FOLLOW_REDIRECTS if follow_redirects is None else follow_redirects)
        self.redirect_policy = redirect_policy
        self.sleep = self.SLEEP if sleep is None else sleep
        self._signer_options = signer_options
        self._signers: Dict[Tuple[str, str], Signer] = {}
        self._by_host: Dict[str, Signer] = {}  # inference costs more than signing
        self._lock = threading.Lock()
        self._default_region: Optional[str] = None
        # Seconds to add to the local clock, learnt from a RequestTimeTooSkewed answer.
        self.clock_offset = 0.0

    def __repr__(self) -> str:
        what = repr(self._fixed) if self._fixed else f"region={self.region!r}, service={self.service!r}"
        return f"{type(self).__name__}({what})"

    def signer_for(self, url: str) -> Signer:
        """The signer for a request to ``url``: the fixed one, or one per (region, service)."""
        if self._fixed is not None:
            return self._fixed
        host = urlsplit(url).hostname or ""
        signer = self._by_host.get(host)
        if signer is not None:
            return signer
        region, service = self.region, self.service
        if region is None or service is None:
            inferred_service, inferred_region = infer_scope(host)
            service = service or inferred_service
            region = region or inferred_region or self._fallback_region()
            if service is None:
                raise ConfigurationError(
                    f"cannot tell the AWS service from the host {host!r}: pass service=")
            if region is None:
                raise ConfigurationError(
                    f"cannot tell the region from the host {host!r}, and none is configured: "
                    "pass region=")
        signer = self._signers.get((region, service))
        if signer is None:
            with self._lock:
                signer = self._signers.get((region, service))
                if signer is None:
                    signer = Signer(self._credentials, region, service, **self._signer_options)
                    self._signers[region, service] = signer
        if len(self._by_host) >= 1024:  # a client talking to endless hosts: start over
            self._by_host.clear()
        self._by_host[host] = signer
        return signer

    def _fallback_region(self) -> Optional[str]:
        if self._default_region is None:
            self._default_region = default_region() or ""
        return self._default_region or None

    def allows_redirect(self, old_url: str, new_url: str) -> bool:
        return urlsplit(new_url).scheme in ("http", "https") and self.redirect_policy(old_url, new_url)

    def exchange(self, method: str, url: str, headers: Iterable[Tuple[str, str]],
                 body: Any, *, follow_redirects: Optional[bool] = None) -> "Exchange":
        """The attempts of one request; ``body`` is None, bytes or str, a seekable binary
        file, or ``STREAM`` (or any other one-shot iterable)."""
        follow = self.follow_redirects if follow_redirects is None else follow_redirects
        return Exchange(self, method, url, headers, body, follow)


class Exchange:
    """One logical request and its attempts. ``sign()`` before every send; after each
    answer, ``after_response`` says how long to wait before signing and sending again, or None
    when the answer is final. ``method``, ``url``, ``headers`` and ``body`` are what the next
    attempt sends (a redirect changes them)."""

    def __init__(self, auth: AWSAuthBase, method: str, url: str,
                 headers: Iterable[Tuple[str, str]], body: Any, follow_redirects: bool) -> None:
        self.auth = auth
        self.follow_redirects = follow_redirects
        self.method = method.upper()
        self.url = url
        self.headers: List[Tuple[str, str]] = list(headers)
        self.body = body
        self._kind = _body_kind(body)
        self._start: Optional[int] = body.tell() if self._kind == _FILE else None
        self.attempts = 0
        self.redirects = 0
        self._skew_corrected = False
        self.redirected = False  # whether the last decision was a redirect

    @property
    def replayable(self) -> bool:
        return self._kind != "stream"

    def sign(self) -> SignedRequest:
        signer = self.auth.signer_for(self.url)
        if self.attempts and self._start is not None:
            self.body.seek(self._start)
        self.attempts += 1
        body, payload_hash = self.body, None
        if self._kind is None:
            body = None
        elif self._kind == "stream" or (self._kind == _FILE and signer.service in S3_SERVICES):
            # S3 takes UNSIGNED-PAYLOAD, so its uploads stream without being read twice.
            if signer.service not in S3_SERVICES and not signer.unsigned_payload:
                raise PayloadError(
                    f"a streamed body cannot be hashed before it is sent, and {signer.service} "
                    "needs the hash: pass bytes or a seekable file, or sign with "
                    "unsigned_payload=True if the service accepts UNSIGNED-PAYLOAD")
            body, payload_hash = None, UNSIGNED_PAYLOAD
        offset = self.auth.clock_offset
        timestamp = int(time.time() + offset) if offset else None
        return signer.sign(self.method, self.url, self.headers, body,
                           timestamp=timestamp, payload_hash=payload_hash)

    @staticmethod
    def wants_body(status: int) -> bool:
        """Whether ``after_response`` needs the answer's body (for its error code)."""
        return status in (400, 403)

    def after_response(self, status: int, headers: Any, body: bytes = b"") -> Optional[float]:
        self.redirected = False
        if status in REDIRECT_STATUSES and self.follow_redirects:
            location = headers.get("location")
            if location:
                self._redirect(status, location)
                return 0.0
        code = error_code(headers, body) if self.wants_body(status) else None
        if _is_skew(code, body) and not self._skew_corrected and self.replayable:
            server_time = _http_date(headers.get("date"))
            if server_time is not None:
                self._skew_corrected = True
                self.auth.clock_offset = server_time - time.time()
                return 0.0
        if status in RETRY_STATUSES or (status == 400 and code in THROTTLING_CODES):
            return self._backoff(retry_after(headers.get("retry-after"), time.time()))
        return None

    def after_error(self, error: BaseException) -> Optional[float]:
        """After a connection failure: the wait before the next attempt, or None to give up
        (the caller then raises ``error``)."""
        self.redirected = False
        return self._backoff(None)

    def _backoff(self, asked: Optional[float]) -> Optional[float]:
        policy = self.auth.retry
        tries = self.attempts - self.redirects - self._skew_corrected  # redirects are free
        if tries >= policy.attempts or not self.replayable:
            return None
        if asked is not None and asked > policy.cap:
            return None  # the server wants a longer pause than the policy allows
        delay = policy.delay(tries)
        return delay if asked is None else max(delay, asked)

    def _redirect(self, status: int, location: str) -> None:
        target = urljoin(self.url, location)
        if self.redirects >= MAX_REDIRECTS:
            raise RedirectRefusedError(f"more than {MAX_REDIRECTS} redirects from {origin(self.url)}")
        if not self.auth.allows_redirect(self.url, target):
            raise RedirectRefusedError(
                f"redirect from {origin(self.url)} to {origin(target)} refused by the redirect "
                "policy: a signed request carries the access key ID and session token")
        # Browsers' rules, as requests and httpx follow them: 303 (and 301/302 after a POST)
        # becomes a GET without a body; 307 and 308 repeat the request as it was.
        if (status == 303 and self.method != "HEAD") or (status in (301, 302) and self.method == "POST"):
            self.method = "GET"
            self.body, self._kind, self._start = None, None, None
            self.headers = [(n, v) for n, v in self.headers if n.lower() not in
                            ("content-length", "content-type", "transfer-encoding")]
        elif not self.replayable:
            raise RedirectRefusedError(
                f"a {status} redirect to {origin(target)} needs the streamed body again, and it "
                "cannot be replayed: pass bytes or a seekable file to follow it")
        if urlsplit(target).netloc != urlsplit(self.url).netloc:
            self.headers = [(n, v) for n, v in self.headers if n.lower() != "host"]
        self.url = target
        self.redirects += 1
        self.redirected = True

