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

import re
import socket
import ssl
import threading
from typing import BinaryIO, List, Optional, Tuple

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
    """Listens on 127.0.0.1:``port`` and forwards to ``upstream_port``."""

    def __init__(self, upstream_port: int, server_tls: Optional[ssl.SSLContext] = None,
                 client_tls: Optional[ssl.SSLContext] = None) -> None:
        self.upstream_port = upstream_port
        self.server_tls = server_tls
        self.client_tls = client_tls
        self.mode: Optional[str] = None
        self.method: Optional[str] = None
        self.tampered: List[str] = []  # request lines as altered
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, mode: str, method: Optional[str] = None) -> None:
        """Alter every request from now on (only ``method`` requests when given)."""
        self.mode, self.method, self.tampered = mode, method, []

    def disarm(self) -> None:
        self.mode = None

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        upstream = None
        answers = None
        try:
            conn.settimeout(60)  # nothing here may hang a test for ever
            if self.server_tls is not None:
                conn = self.server_tls.wrap_socket(conn, server_side=True)
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=60)
            if self.client_tls is not None:
                upstream = self.client_tls.wrap_socket(upstream, server_hostname="127.0.0.1")
            answers = threading.Thread(target=self._pipe, args=(upstream, conn), daemon=True)
            answers.start()
            reader = conn.makefile("rb")
            while self._forward_request(reader, upstream):
                pass
            upstream.shutdown(socket.SHUT_RDWR)  # the client is done: so is the server's side
        except (OSError, ValueError):
            # The server may answer (a refusal) and close before the whole body went up:
            # the answer still goes back to the client before the connection closes.
            pass
        finally:
            if answers is not None:
                answers.join(60)
            for sock in (conn, upstream):
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            try:
                sink.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _forward_request(self, reader: BinaryIO, upstream: socket.socket) -> bool:
        request_line = reader.readline()
        if not request_line:
            return False
        lines: List[bytes] = []
        while True:
            line = reader.readline()
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
        upstream.sendall(head.encode("latin-1") + b"\r\n")
        body_mode = mode if mode in ("body", "trailer", "chunk-signature") else None
        http_chunked = "chunked" in lower.get("transfer-encoding", "").lower()
        if http_chunked:
            body = self._read_http_chunked(reader, upstream, body_mode is None)
        else:
            length = int(lower.get("content-length", "0") or "0")
            body = self._copy(reader, upstream, length, body_mode is None)
        if body_mode is not None:
            streaming = "aws-chunked" in lower.get("content-encoding", "") or \
                lower.get("x-amz-content-sha256", "").startswith("STREAMING-")
            altered = tamper_body(body, body_mode, streaming)
            if http_chunked:  # boto3 sends aws-chunked inside HTTP chunks
                altered = b"%x\r\n%s\r\n0\r\n\r\n" % (len(altered), altered)
            upstream.sendall(altered)
        return True

    @staticmethod
    def _copy(reader: BinaryIO, upstream: socket.socket, length: int, stream: bool) -> bytes:
        kept = []
        while length > 0:
            data = reader.read(min(length, 65536))
            if not data:
                raise ValueError("the client closed in the middle of a body")
            length -= len(data)
            if stream:
                upstream.sendall(data)
            else:
                kept.append(data)
        return b"".join(kept)

    @staticmethod
    def _read_http_chunked(reader: BinaryIO, upstream: socket.socket, stream: bool) -> bytes:
        """Forwards (``stream``) or collects an HTTP/1.1 chunked body; collected, it comes back
        decoded, for ``_forward_request`` to alter and send again as one chunk."""
        kept = []
        while True:
            size_line = reader.readline()
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            data = reader.read(size) + reader.readline() if size else b""
            if size == 0:  # trailers, then the blank line
                while True:
                    line = reader.readline()
                    data += line
                    if line in (b"\r\n", b"\n", b""):
                        break
            if stream:
                upstream.sendall(size_line + data)
            elif size:
                kept.append(data[:-2])
            if size == 0:
                return b"".join(kept)
