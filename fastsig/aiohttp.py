"""SigV4 for ``aiohttp``: a client middleware (aiohttp 3.12 or newer).

.. code-block:: python

    from fastsig.aiohttp import AWSAuth

    async with aiohttp.ClientSession(middlewares=(AWSAuth(),)) as session:
        async with session.get("https://sqs.eu-west-1.amazonaws.com/...") as response:
            ...

Requires ``pip install fastsig[aiohttp]``.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any, Awaitable, Callable, Optional, Tuple
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from ._errors import RedirectRefusedError
from ._http import origin
from ._integration import REDIRECT_STATUSES, STREAM, AWSAuthBase

__all__ = ["AWSAuth"]

# A redirect the policy refused, as (from, to): the session follows redirects itself and calls
# the middleware again for the next request, in the same task, so the refusal waits here for
# it. With allow_redirects=False no next request comes, and the 3xx is simply returned.
_refused: ContextVar[Optional[Tuple[str, str]]] = ContextVar("fastsig_refused_redirect", default=None)


class AWSAuth(AWSAuthBase):
    """A client middleware that signs every request a session sends, redirects included (aiohttp
    calls middlewares again for each one), and handles what comes back.

    Takes a ``Signer``, or credentials (``Credentials``, a provider, or None for the default
    chain) with optional ``region`` and ``service`` (inferred from the host when left out) and
    ``Signer`` options. Bodies given as bytes, str, JSON or a form are hashed; a file or an
    async iterator streams with ``UNSIGNED-PAYLOAD``, which S3 accepts; other services need
    bytes.

    - ``retry``: a ``fastsig.RetryPolicy``; 5xx, 429, throttling errors and connection failures
      are tried again, each with a new signature, honouring ``Retry-After``.
    - ``RequestTimeTooSkewed``: the clock offset is taken from the server's ``Date`` and the
      request signed again, once.
    - Redirects are followed by the session (``allow_redirects``), each signed for its new
      host; one outside ``redirect_policy`` raises ``RedirectRefusedError`` before it is sent.
    - ``sleep`` waits between attempts (tests pass their own).
    """

    FOLLOW_REDIRECTS = None  # the session follows them, calling the middleware again
    SLEEP = staticmethod(asyncio.sleep)

    async def __call__(self, request: aiohttp.ClientRequest,
                       handler: Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]],
                       ) -> aiohttp.ClientResponse:
        url = str(request.url)
        refused = _refused.get()
        if refused is not None:
            _refused.set(None)
            if _same_origin(refused[1], url):
                raise RedirectRefusedError(
                    f"redirect from {origin(refused[0])} to {origin(url)} refused by the "
                    "redirect policy: a signed request carries the access key ID and session token")
        body: Any = request.body
        if isinstance(body, aiohttp.payload.BytesPayload):
            body = await body.as_bytes()
        elif body != b"":
            body = STREAM
        exchange = self.exchange(request.method, url, request.headers.items(), body)
        while True:
            signed = exchange.sign()
            request.url = URL(signed.url, encoded=True)
            request.headers = CIMultiDict(signed.headers)
            try:
                response = await handler(request)
            except aiohttp.ClientConnectionError as error:
                delay = exchange.after_error(error)
                if delay is None:
                    raise
            else:
                answer = await response.read() if exchange.wants_body(response.status) else b""
                delay = exchange.after_response(response.status, response.headers, answer)
                if delay is None:
                    self._note_redirect(url, response)
                    return response
                response.release()
            if delay:
                await self.sleep(delay)

    def _note_redirect(self, url: str, response: aiohttp.ClientResponse) -> None:
        location = response.headers.get("Location")
        if response.status in REDIRECT_STATUSES and location:
            target = urljoin(url, location)
            if not self.allows_redirect(url, target):
                _refused.set((url, target))


def _same_origin(a: str, b: str) -> bool:
    first, second = urlsplit(a), urlsplit(b)
    return (first.scheme, first.hostname, first.port) == (second.scheme, second.hostname, second.port)
