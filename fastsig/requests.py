"""SigV4 for ``requests``: ``requests.get(url, auth=AWSAuth(...))``.

>>> import requests
>>> from fastsig import Credentials
>>> from fastsig.requests import AWSAuth
>>> auth = AWSAuth(Credentials("AKIDEXAMPLE", "secret"))  # service and region from the host
>>> request = requests.Request("GET", "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/items",
...                            auth=auth).prepare()
>>> request.headers["Authorization"].split("/")[2:4]
['eu-west-1', 'execute-api']

Requires ``pip install fastsig[requests]``.
"""

from __future__ import annotations

from typing import Any, cast

import requests
from requests.structures import CaseInsensitiveDict

from ._integration import AWSAuthBase, Exchange

__all__ = ["AWSAuth"]


class AWSAuth(AWSAuthBase, requests.auth.AuthBase):
    """Signs each request ``requests`` sends, and handles what comes back.

    Takes a ``Signer``, or credentials (``Credentials``, a provider, or None for the default
    chain) with optional ``region`` and ``service`` (inferred from the host when left out) and
    ``Signer`` options. Signs the final URL, the headers ``requests`` will send (``Host`` with
    its port) and the body: bytes are hashed; a seekable file is hashed in place (S3 sends it
    as ``UNSIGNED-PAYLOAD`` instead); a generator can only go to S3.

    - ``retry``: a ``fastsig.RetryPolicy``; 5xx, 429, throttling errors and connection failures
      of the attempts it sends are tried again, each with a new signature, honouring
      ``Retry-After``. A connection failure of the very first attempt is raised by ``requests``
      before any auth object sees it: mount an ``HTTPAdapter(max_retries=...)`` for that.
    - ``RequestTimeTooSkewed``: the clock offset is taken from the server's ``Date`` and the
      request signed again, once.
    - ``follow_redirects`` (default True): redirects are followed here, each signed for its new
      host, within ``redirect_policy`` (``RedirectRefusedError`` otherwise). With False, the 3xx
      comes back with the signature removed from its request, so that ``requests`` following it
      sends no stale signature.
    - ``sleep`` waits between attempts (tests pass their own).
    """

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        exchange = self.exchange(request.method or "GET", request.url or "",
                                 cast(Any, request.headers).items(), request.body)
        _apply(request, exchange)

        def on_response(response: requests.Response, **send_options: Any) -> requests.Response:
            # requests copies hooks onto the requests of redirects it follows itself: only the
            # answer to the request signed here is ours to handle.
            if response.request is not request:
                return response
            return self._settle(exchange, response, send_options)

        request.register_hook("response", on_response)
        return request

    def _settle(self, exchange: Exchange, response: requests.Response,
                send_options: Any) -> requests.Response:
        adapter = response.connection
        while True:
            status = response.status_code
            delay = exchange.after_response(
                status, response.headers, response.content if exchange.wants_body(status) else b"")
            if delay is None:
                if response.is_redirect:
                    _unsign(response.request, exchange)
                return response
            response.close()
            following = exchange.redirected
            while True:
                if delay:
                    self.sleep(delay)
                retry = response.request.copy()
                _apply(retry, exchange)
                try:
                    answer = adapter.send(retry, **send_options)
                except (requests.ConnectionError, requests.Timeout) as error:
                    delay = exchange.after_error(error)
                    if delay is None:
                        raise
                    continue
                break
            if following:
                answer.history = [*response.history, response]
            else:
                answer.history = response.history
            response = answer


# What a signature adds to the caller's headers.
_SIGNATURE_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256")


def _unsign(request: requests.PreparedRequest, exchange: Exchange) -> None:
    callers = {name.lower() for name, _ in exchange.headers}
    for name in _SIGNATURE_HEADERS:
        if name.lower() not in callers:
            request.headers.pop(name, None)


def _apply(request: requests.PreparedRequest, exchange: Exchange) -> None:
    signed = exchange.sign()
    request.method = exchange.method
    request.url = signed.url
    request.headers = CaseInsensitiveDict(signed.headers)
    request.body = exchange.body
