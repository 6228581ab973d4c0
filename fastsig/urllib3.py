"""SigV4 for ``urllib3``: a ``PoolManager`` that signs what it sends.

>>> from fastsig import Credentials
>>> from fastsig.urllib3 import AWSPoolManager
>>> http = AWSPoolManager(Credentials("AKIDEXAMPLE", "secret"))  # scope from each host
>>> http.signer_for("https://dynamodb.eu-north-1.amazonaws.com/")
Signer('AKIDEXAMPLE', region='eu-north-1', service='dynamodb')

Requires ``pip install fastsig[urllib3]``.
"""

from __future__ import annotations

from typing import Any, Optional

import urllib3
from urllib3.exceptions import ConnectTimeoutError, ProtocolError, ReadTimeoutError

from ._errors import ConfigurationError
from ._integration import AWSAuthBase
from .signer import _body_length

__all__ = ["AWSPoolManager"]


class AWSPoolManager(AWSAuthBase, urllib3.PoolManager):
    """``urllib3.PoolManager`` whose ``request``/``urlopen`` sign every attempt.

    Takes a ``Signer``, or credentials (``Credentials``, a provider, or None for the default
    chain) with optional ``region`` and ``service`` (inferred from the host when left out);
    ``pool_options`` go to ``PoolManager`` (``num_pools``, ``timeout``, ``ca_certs``...) and
    ``signer_options`` to each ``Signer``. Bodies: bytes are hashed; a seekable file is hashed
    in place (S3 sends it as ``UNSIGNED-PAYLOAD`` instead); an iterator can only go to S3.

    - ``retry``: a ``fastsig.RetryPolicy``; 5xx, 429, throttling errors and connection failures
      are tried again, each with a new signature, honouring ``Retry-After``. urllib3's own
      ``retries`` would resend the old signature, so they are not accepted.
    - ``RequestTimeTooSkewed``: the clock offset is taken from the server's ``Date`` and the
      request signed again, once.
    - ``redirect=True`` (per request, as in urllib3) follows redirects here, each signed for its
      new host, within ``redirect_policy`` (``RedirectRefusedError`` otherwise).
    - ``sleep`` waits between attempts (tests pass their own).
    """

    FOLLOW_REDIRECTS = None  # urlopen(redirect=...) says, per request, as in urllib3

    def __init__(self, *args: Any, pool_options: Optional[dict] = None, **options: Any) -> None:
        AWSAuthBase.__init__(self, *args, **options)
        urllib3.PoolManager.__init__(self, **(pool_options or {}))

    def urlopen(self, method: str, url: str, redirect: bool = True,  # type: ignore[override]
                **kw: Any) -> urllib3.BaseHTTPResponse:
        if kw.get("retries") not in (None, False):
            raise ConfigurationError("urllib3 retries would resend a stale signature: "
                                     "pass retry=fastsig.RetryPolicy(...) to AWSPoolManager")
        kw["retries"] = False
        headers = dict(kw.pop("headers", None) or self.headers)
        body = kw.pop("body", None)
        length = _body_length(body) if callable(getattr(body, "read", None)) else None
        if length is not None and not {"content-length", "transfer-encoding"} & {
                name.lower() for name in headers}:
            # urllib3 would send a file chunked; AWS services want its length, as requests sends.
            headers["Content-Length"] = str(length)
        exchange = self.exchange(method, url, headers.items(), body, follow_redirects=redirect)
        while True:
            signed = exchange.sign()
            try:
                response = super().urlopen(exchange.method, signed.url, redirect=False,
                                           headers=signed.headers, body=exchange.body, **kw)
            except (ConnectTimeoutError, ProtocolError, ReadTimeoutError) as error:
                delay = exchange.after_error(error)
                if delay is None:
                    raise
            else:
                status = response.status
                delay = exchange.after_response(
                    status, response.headers, response.data if exchange.wants_body(status) else b"")
                if delay is None:
                    return response
                response.drain_conn()
                response.release_conn()
            if delay:
                self.sleep(delay)
