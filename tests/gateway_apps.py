"""The applications behind the gateway tests (test_gateway.py), importable by a gunicorn
subprocess as ``tests.gateway_apps:wsgi_entry``: an echo app behind each middleware, with the
bytes the middleware took from the server counted outside it. ``GET /__read`` answers that
count (and resets it) without going through the middleware."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Dict, List, Optional

from fastsig import Credentials, Verifier
from fastsig.middleware import ASGIMiddleware, WSGIMiddleware

CREDS = Credentials("AKIDGATEWAY", "gateway/secret+key/EXAMPLEKEY")
TEMP = Credentials("ASIAGATEWAY", "gateway/temporary/secret", "gateway-session-token-value")
KEYS = {c.access_key_id: c for c in (CREDS, TEMP)}
READ = [0]  # bytes of body the middleware read from the server
SEEN: List[Dict[str, Any]] = []  # what the apps were told, in this process


def _answer(verified: Any, body: bytes, path: str, complete: bool = True,
            encoding: Optional[str] = None) -> bytes:
    SEEN.append({"sha256": hashlib.sha256(body).hexdigest(), "length": len(body),
                 "complete": complete, "payload": verified.payload_hash})
    return json.dumps({
        "key": verified.access_key_id,
        "service": verified.service,
        "payload": verified.payload_hash,
        "sha256": hashlib.sha256(body).hexdigest(),
        "length": len(body),
        "path": path,
        "complete": complete,
        "encoding": encoding,
    }).encode()


def echo_wsgi(environ: dict, start_response: Callable[..., Any]) -> List[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    # Reading exactly CONTENT_LENGTH bytes is all an app may do: that is the whole body.
    SEEN.append({"length": len(body), "complete": len(body) == length})
    out = _answer(environ["fastsig.verified"], body, environ.get("PATH_INFO", ""),
                  encoding=environ.get("HTTP_CONTENT_ENCODING"))
    if "Boto" in environ.get("HTTP_USER_AGENT", ""):
        out = b""  # boto3 parses a PutObject body as an S3 error
    start_response("200 OK", [("Content-Type", "application/json"), ("ETag", '"e"'),
                              ("x-sha256", hashlib.sha256(body).hexdigest()),
                              ("Content-Length", str(len(out)))])
    return [out]


class _CountingInput:
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, *args: Any) -> bytes:
        data = self._stream.read(*args)
        READ[0] += len(data)
        return data  # type: ignore[no-any-return]

    def readline(self, *args: Any) -> bytes:
        data = self._stream.readline(*args)
        READ[0] += len(data)
        return data  # type: ignore[no-any-return]


def counting_wsgi(app: Callable[..., Any]) -> Callable[..., Any]:
    def entry(environ: dict, start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == "/__read":
            out = str(READ[0]).encode()
            READ[0] = 0
            start_response("200 OK", [("Content-Length", str(len(out)))])
            return [out]
        environ["wsgi.input"] = _CountingInput(environ["wsgi.input"])
        return app(environ, start_response)

    return entry


async def echo_asgi(scope: dict, receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        verified = scope["fastsig.verified"]
        await send({"type": "websocket.send", "text": f"hello {verified.access_key_id}"})
        await send({"type": "websocket.close", "code": 1000})
        return
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            SEEN.append({"length": len(body), "complete": False})
            return  # the body never completed: nothing to answer
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    SEEN.append({"length": len(body), "complete": True})
    encoding = next((v.decode() for n, v in scope["headers"] if n == b"content-encoding"), None)
    out = _answer(scope["fastsig.verified"], body, scope["path"], encoding=encoding)
    if any(n == b"user-agent" and b"Boto" in v for n, v in scope["headers"]):
        out = b""  # boto3 parses a PutObject body as an S3 error
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"etag", b'"e"'),
                            (b"content-length", str(len(out)).encode())]})
    await send({"type": "http.response.body", "body": out})


def counting_asgi(app: Callable[..., Any]) -> Callable[..., Any]:
    async def entry(scope: dict, receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "http" and scope["path"] == "/__read":
            out = str(READ[0]).encode()
            READ[0] = 0
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", str(len(out)).encode())]})
            await send({"type": "http.response.body", "body": out})
            return

        async def counted() -> dict:
            message = await receive()
            READ[0] += len(message.get("body", b""))
            return message  # type: ignore[no-any-return]

        await app(scope, counted, send)

    return entry


def verifier() -> Verifier:
    return Verifier(KEYS.get, debug_errors=True)


wsgi_entry = counting_wsgi(WSGIMiddleware(echo_wsgi, verifier(), memory_limit=1 << 16))
asgi_entry = counting_asgi(ASGIMiddleware(echo_asgi, verifier(), memory_limit=1 << 16))
