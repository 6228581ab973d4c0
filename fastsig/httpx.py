"""SigV4 for ``httpx``: one ``AWSAuth`` for ``Client`` and ``AsyncClient``.

>>> import httpx
>>> from fastsig import Credentials
>>> from fastsig.httpx import AWSAuth
>>> auth = AWSAuth(Credentials("AKIDEXAMPLE", "secret"), "us-east-1", "es")
>>> flow = auth.sync_auth_flow(httpx.Request("GET", "https://search-logs.example.com/_search"))
>>> next(flow).headers["Authorization"].split("/")[2:4]
['us-east-1', 'es']

Requires ``pip install fastsig[httpx]``.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncGenerator, Awaitable, Callable, Generator, Optional

import httpx

from ._errors import RedirectRefusedError
from ._http import origin
from ._integration import STREAM, AWSAuthBase, Exchange

__all__ = ["AWSAuth"]


class AWSAuth(AWSAuthBase, httpx.Auth):
    """Signs each request an httpx client sends, and handles what comes back.

    Takes a ``Signer``, or credentials (``Credentials``, a provider, or None for the default
    chain) with optional ``region`` and ``service`` (inferred from the host when left out) and
    ``Signer`` options. Signs the final URL, the headers httpx will send and the body: content
    given as bytes is hashed; a streamed body (a file, an iterator) is sent as it streams,
    with ``UNSIGNED-PAYLOAD``, which S3 accepts; other services need bytes.

    - ``retry``: a ``fastsig.RetryPolicy``; 5xx, 429 and throttling errors are tried again, each
      with a new signature, honouring ``Retry-After`` (a streamed body is sent once).
      Connection failures happen inside the client: use ``httpx.HTTPTransport(retries=...)``.
    - ``RequestTimeTooSkewed``: the clock offset is taken from the server's ``Date`` and the
      request signed again, once.
    - ``follow_redirects`` (default False, as httpx): follow redirects here, each signed for
      its new host, within ``redirect_policy``. A client made with ``follow_redirects=True``
      would resend the old signature; fastsig stops such a request before its headers leave
      (``RedirectRefusedError``) on httpx's own transports.
    - ``sleep`` / ``async_sleep`` wait between attempts (tests pass their own).
    """

    FOLLOW_REDIRECTS = False  # as httpx

    def __init__(self, *args: Any,
                 async_sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 **options: Any) -> None:
        super().__init__(*args, **options)
        self.async_sleep = async_sleep

    def _begin(self, request: httpx.Request) -> Exchange:
        try:
            body: Any = request.content
        except httpx.RequestNotRead:
            body = STREAM
        return self.exchange(request.method, str(request.url), request.headers.multi_items(), body)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        exchange = self._begin(request)
        while True:
            request = _signed(request, exchange, _TraceGuard)
            response = yield request
            body = response.read() if exchange.wants_body(response.status_code) else b""
            delay = exchange.after_response(response.status_code, response.headers, body)
            if delay is None:
                return
            response.read()  # httpx reads it anyway; now, so the connection is free meanwhile
            if delay:
                self.sleep(delay)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        exchange = self._begin(request)
        while True:
            request = _signed(request, exchange, _AsyncTraceGuard)
            response = yield request
            body = await response.aread() if exchange.wants_body(response.status_code) else b""
            delay = exchange.after_response(response.status_code, response.headers, body)
            if delay is None:
                return
            await response.aread()
            if delay:
                await self.async_sleep(delay)


def _signed(request: httpx.Request, exchange: Exchange, guard_type: type) -> httpx.Request:
    """``request`` signed for this attempt, or a new request when a redirect changed the
    method, URL or body."""
    signed = exchange.sign()
    if exchange.method != request.method:  # a redirect that turned into a GET without a body
        request = httpx.Request(exchange.method, signed.url, extensions=request.extensions)
    if signed.url != str(request.url):  # parsing a URL costs as much as signing
        request.url = httpx.URL(signed.url)
    request.headers = httpx.Headers(signed.headers)
    trace = request.extensions.get("trace")
    inner = trace.inner if isinstance(trace, (_TraceGuard, _AsyncTraceGuard)) else trace
    request.extensions = {**request.extensions, "trace": guard_type(request, inner)}
    return request


class _TraceGuard:
    """httpx follows redirects (when the client is told to) without asking the auth, copying
    the signed headers to the next request; Authorization may be dropped, the session token is
    not. httpcore's documented ``trace`` extension sees every request just before its headers
    are written: refuse any that goes to a target other than the one signed."""

    def __init__(self, request: httpx.Request, inner: Optional[Callable[..., Any]]) -> None:
        self.signed = (request.method.encode(), request.url.raw_host, request.url.port,
                       request.url.raw_path)
        self.url = str(request.url)
        self.inner = inner

    def check(self, event: str, info: Any) -> None:
        if event.endswith("send_request_headers.started"):
            sent = info["request"]
            if (sent.method, sent.url.host, sent.url.port, sent.url.target) != self.signed:
                target = f"{sent.url.scheme.decode()}://{sent.url.host.decode()}{sent.url.target.decode()}"
                raise RedirectRefusedError(
                    f"the client followed a redirect itself: {sent.method.decode()} "
                    f"{origin(target)} would carry the signature made for {origin(self.url)}; "
                    "pass follow_redirects=True to AWSAuth instead of the client")

    def __call__(self, event: str, info: Any) -> None:
        self.check(event, info)
        if self.inner is not None:
            self.inner(event, info)


class _AsyncTraceGuard(_TraceGuard):
    async def __call__(self, event: str, info: Any) -> None:  # type: ignore[override]
        self.check(event, info)
        if self.inner is not None:
            await self.inner(event, info)
