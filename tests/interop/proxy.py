"""A tampering proxy: forwards HTTP/1.1 between a real client and a server on 127.0.0.1 and,
when armed, alters one byte of each matching request after the client signed it.

Modes (what is altered, and what AWS answers):
  path      the case of the last letter of the path          403 SignatureDoesNotMatch
  query     a digit or letter of one query value (X-Amz-Expires first; never the signature)
                                                             403 SignatureDoesNotMatch
  header    the last digit of X-Amz-Date (seconds: still within the allowed skew)
                                                             403 SignatureDoesNotMatch
  body      one byte of the payload (the first data byte of an aws-chunked body)
            declared hash: 400 XAmzContentSHA256Mismatch; signed chunk: 403
            SignatureDoesNotMatch; unsigned chunk with a trailing checksum: 400 BadDigest
  trailer   the first character of the trailing x-amz-checksum-* value   400 BadDigest
  chunk-signature  the first hex digit of the first chunk-signature      403 SignatureDoesNotMatch

The proxy terminates TLS with the server's own certificate when the server speaks TLS, so it
works for any client. Requests stream through untouched unless armed; a tampered request's
body is read whole first (the tests tamper small bodies).
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import threading
from typing import List, Optional, Tuple

_DIGIT_NEXT = {str(d): str((d + 1) % 10) for d in range(10)}


def _flip(char: str) -> str:
    if char.isdigit():
        return _DIGIT_NEXT[char]
    return char.swapcase() if char.isalpha() else char


def tamper_target(target: str, mode: str) -> str:
    path, sep, query = target.partition("?")
    if mode == "path":
        for i in range(len(path) - 1, -1, -1):
            inside_escape = (i >= 1 and path[i - 1] == "%") or (i >= 2 and path[i - 2] == "%")
            if path[i].isascii() and path[i].isalpha() and not inside_escape:
                return path[:i] + path[i].swapcase() + path[i + 1:] + sep + query
        raise ValueError(f"no letter to alter in the path {path!r}")
    params = query.split("&")
    order = sorted(range(len(params)), key=lambda i: params[i].lower() != "x-amz-expires" and
                   not params[i].lower().startswith("x-amz-expires="))
    for i in order:
        name, _, value = params[i].partition("=")
        if name.lower() in ("x-amz-signature", "x-amz-algorithm", "x-amz-credential"):
            continue
        for j in range(len(value) - 1, -1, -1):
            if value[j].isascii() and value[j].isalnum():
                params[i] = f"{name}={value[:j]}{_flip(value[j])}{value[j + 1:]}"
                return path + "?" + "&".join(params)
    raise ValueError(f"no query value to alter in {target!r}")


def tamper_body(body: bytes, mode: str, streaming: bool) -> bytes:
    if mode == "body":
        at = body.index(b"\r\n") + 2 if streaming else 0
        return body[:at] + bytes([body[at] ^ 0x01]) + body[at + 1:]
    if mode == "trailer":
        match = re.search(rb"x-amz-checksum-[a-z0-9]+:", body)
        if match is None:
            raise ValueError("no trailing checksum in the body")
        at = match.end()
        return body[:at] + (b"B" if body[at:at + 1] == b"A" else b"A") + body[at + 1:]
    if mode == "chunk-signature":
        at = body.index(b"chunk-signature=") + len(b"chunk-signature=")
        return body[:at] + (b"1" if body[at:at + 1] == b"0" else b"0") + body[at + 1:]
    raise ValueError(mode)


class TamperProxy:
    """Listens on 127.0.0.1:``port`` and forwards to ``upstream_port``.

    asyncio in a thread of its own: a TLS connection is read and written from one thread
    (OpenSSL's connections must not be read in one thread while written in another)."""

    def __init__(self, upstream_port: int, server_tls: Optional[ssl.SSLContext] = None,
                 client_tls: Optional[ssl.SSLContext] = None) -> None:
        self.upstream_port = upstream_port
        self.server_tls = server_tls
        self.client_tls = client_tls
        self.mode: Optional[str] = None
        self.method: Optional[str] = None
        self.tampered: List[str] = []  # request lines as altered
        self._loop = asyncio.new_event_loop()
        listener = socket.create_server(("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, sock=listener, ssl=server_tls))
        threading.Thread(target=self._loop.run_forever, daemon=True).start()

    def arm(self, mode: str, method: Optional[str] = None) -> None:
        """Alter every request from now on (only ``method`` requests when given)."""
        self.mode, self.method, self.tampered = mode, method, []

    def disarm(self) -> None:
        self.mode = None

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)

    async def _serve(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        answers = None
        to_server = None
        try:
            server, to_server = await asyncio.open_connection(
                "127.0.0.1", self.upstream_port, ssl=self.client_tls,
                server_hostname="127.0.0.1" if self.client_tls else None)
            answers = asyncio.ensure_future(self._pipe(server, to_client))
            while await self._forward_request(client, to_server):
                pass
        except (OSError, ValueError, asyncio.IncompleteReadError):
            # The server may answer (a refusal) and close before the whole body went up:
            # the answer still goes back to the client before the connection closes.
            pass
        finally:
            if answers is not None:
                try:
                    await asyncio.wait_for(answers, 60)
                except (asyncio.TimeoutError, OSError):
                    pass
            for writer in (to_server, to_client):
                if writer is not None:
                    writer.close()

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await source.read(65536)
                if not data:
                    break
                sink.write(data)
                await sink.drain()
        except OSError:
            pass
        finally:
            sink.close()

    async def _forward_request(self, reader: asyncio.StreamReader, upstream: asyncio.StreamWriter) -> bool:
        request_line = await reader.readline()
        if not request_line:
            upstream.close()  # the client is done: so is the server's side
            return False
        lines: List[bytes] = []
        while True:
            line = await reader.readline()
            if not line:
                return False
            if line in (b"\r\n", b"\n"):
                break
            lines.append(line)
        method, target, version = request_line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        headers: List[Tuple[str, str]] = []
        for line in lines:
            name, _, value = line.decode("latin-1").rstrip("\r\n").partition(":")
            headers.append((name, value.strip()))
        lower = {n.lower(): v for n, v in headers}
        mode = self.mode if self.method in (None, method) else None
        if mode in ("path", "query"):
            target = tamper_target(target, mode)
        elif mode == "header":
            for i, (name, value) in enumerate(headers):
                if name.lower() == "x-amz-date":
                    headers[i] = (name, value[:-2] + _flip(value[-2]) + value[-1:])
        if mode is not None:
            self.tampered.append(f"{method} {target}")
        head = f"{method} {target} {version}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers)
        upstream.write(head.encode("latin-1") + b"\r\n")
        await upstream.drain()
        body_mode = mode if mode in ("body", "trailer", "chunk-signature") else None
        http_chunked = "chunked" in lower.get("transfer-encoding", "").lower()
        if http_chunked:
            body = await self._http_chunked(reader, upstream, body_mode is None)
        else:
            length = int(lower.get("content-length", "0") or "0")
            body = await self._copy(reader, upstream, length, body_mode is None)
        if body_mode is not None:
            streaming = "aws-chunked" in lower.get("content-encoding", "") or \
                lower.get("x-amz-content-sha256", "").startswith("STREAMING-")
            altered = tamper_body(body, body_mode, streaming)
            if http_chunked:  # boto3 sends aws-chunked inside HTTP chunks
                altered = b"%x\r\n%s\r\n0\r\n\r\n" % (len(altered), altered)
            upstream.write(altered)
            await upstream.drain()
        return True

    @staticmethod
    async def _copy(reader: asyncio.StreamReader, upstream: asyncio.StreamWriter, length: int,
                    stream: bool) -> bytes:
        kept = []
        while length > 0:
            data = await reader.read(min(length, 65536))
            if not data:
                raise ValueError("the client closed in the middle of a body")
            length -= len(data)
            if stream:
                upstream.write(data)
                await upstream.drain()
            else:
                kept.append(data)
        return b"".join(kept)

    @staticmethod
    async def _http_chunked(reader: asyncio.StreamReader, upstream: asyncio.StreamWriter,
                            stream: bool) -> bytes:
        """Forwards (``stream``) or collects an HTTP/1.1 chunked body; collected, it comes back
        decoded, for ``_forward_request`` to alter and send again as one chunk."""
        kept = []
        while True:
            size_line = await reader.readline()
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            data = await reader.readexactly(size) + await reader.readline() if size else b""
            if size == 0:  # trailers, then the blank line
                while True:
                    line = await reader.readline()
                    data += line
                    if line in (b"\r\n", b"\n", b""):
                        break
            if stream:
                upstream.write(size_line + data)
                await upstream.drain()
            elif size:
                kept.append(data[:-2])
            if size == 0:
                return b"".join(kept)
