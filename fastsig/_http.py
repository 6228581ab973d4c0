"""A small HTTP client for credential endpoints (STS, instance metadata, containers).

The standard library's ``http.client`` with a timeout on every call and retries with
exponential backoff and full jitter on what is worth retrying: connection failures, timeouts,
5xx and throttling. Any other 4xx is final. No SDK, no third-party dependency.
"""

from __future__ import annotations

import random
import time
from typing import Callable, Mapping, NamedTuple, Optional
from urllib.parse import urlsplit

__all__ = ["HTTPFailure", "Response", "RetryPolicy", "origin", "request"]

# Error codes that AWS services send with a 400 when the caller should slow down.
THROTTLING_CODES = frozenset({
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "IDPCommunicationError",  # STS could not reach the identity provider: transient
})


class RetryPolicy(NamedTuple):
    """How often and how patiently to call an endpoint.

    ``attempts`` counts the first call. Before retry ``n`` (1, 2, ...) the client sleeps a
    random time in ``[0, min(cap, base * 2 ** (n - 1))]`` ("full jitter"), so many clients
    failing together do not retry together."""

    attempts: int = 3
    timeout: float = 1.0
    base: float = 0.1
    cap: float = 2.0

    def delay(self, retry: int) -> float:
        return random.uniform(0.0, min(self.cap, self.base * 2 ** (retry - 1)))


class Response(NamedTuple):
    status: int
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class HTTPFailure(Exception):
    """The endpoint could not be reached, or kept failing, after every attempt.

    ``status`` is the last HTTP status (None when no answer came back); ``response`` the last
    answer, if any."""

    def __init__(self, message: str, response: Optional[Response] = None) -> None:
        super().__init__(message)
        self.response = response

    @property
    def status(self) -> Optional[int]:
        return self.response.status if self.response is not None else None


def _send(method: str, url: str, headers: Mapping[str, str], body: Optional[bytes],
          timeout: float) -> Response:
    import http.client  # here, not at import: it costs 15 ms and only credential fetches use it

    parts = urlsplit(url)
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout)
    elif parts.scheme == "http":
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    else:
        raise ValueError(f"unsupported URL scheme {parts.scheme!r}")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    deadline = time.monotonic() + timeout
    malformed = ""
    try:
        connection.request(method, target, body=body, headers=dict(headers))
        response = connection.getresponse()
        # The socket timeout applies per read; bound the whole answer too, so a server that
        # trickles bytes cannot hold a caller for longer than the timeout allows.
        chunks = []
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError("the response took longer than the timeout")
            chunk = response.read1(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return Response(response.status, b"".join(chunks))
    except http.client.HTTPException as exc:  # a malformed or cut-short answer
        # Its text is the raw first line of the answer: an endpoint that answers credential
        # JSON without a status line would put the secret into every message after this one.
        # Only the kind of problem is kept, and raised outside this clause so that the
        # original is not kept as __context__ either.
        malformed = type(exc).__name__
    finally:
        connection.close()
    raise MalformedAnswer(f"{malformed}: the answer is not valid HTTP or was cut short")


class MalformedAnswer(OSError):
    """The answer was not valid HTTP; retried like a connection failure."""


def request(
    method: str,
    url: str,
    *,
    headers: Optional[Mapping[str, str]] = None,
    body: Optional[bytes] = None,
    policy: RetryPolicy = RetryPolicy(),
    retryable: Optional[Callable[[Response], bool]] = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Response:
    """Send a request, retrying as ``policy`` says; returns the first final answer.

    An answer is final unless it is a 5xx, a 429, or ``retryable(response)`` says otherwise
    (for instance a 400 carrying a throttling error code). Raises ``HTTPFailure`` when every
    attempt failed to connect or got a retryable answer."""
    headers = headers or {}
    last: Optional[Response] = None
    problem = ""
    for attempt in range(policy.attempts):
        if attempt:
            sleep(policy.delay(attempt))
        try:
            response = _send(method, url, headers, body, policy.timeout)
        except OSError as exc:
            # Connection refused or reset, DNS failure, timeout, a malformed answer.
            problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            last = None
            continue
        if response.status >= 500 or response.status == 429 or (
            retryable is not None and retryable(response)
        ):
            last = response
            problem = f"HTTP {response.status}"
            continue
        return response
    raise HTTPFailure(
        f"{method} {origin(url)} failed after {policy.attempts} attempt(s): {problem}", last)


def origin(url: str) -> str:
    """The URL without its query, which could carry a token: safe for messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
