#!/usr/bin/env python
"""Differential fuzz: the compiled core and its pure-Python twin get the same random inputs,
through the kernels and through the public API, and must agree on every result and on every
error's type and message.

    python benchmarks/fuzz_differential.py --minutes 30 --seed 1            # as installed
    python benchmarks/fuzz_differential.py --minutes 30 --seed 1 --sanitize  # ASan + UBSan
    python benchmarks/fuzz_differential.py --replay 1:123456                 # one input again

Inputs are mutations of valid signed and presigned requests (bytes flipped, truncations,
repeated parameters, ``%``, ``+``, spaces, unicode, lone surrogates, bytes where str is
expected, huge and empty values, NUL, CR/LF), random methods and paths with ``//``, ``.`` and
``..``. Input ``i`` of seed ``s`` is made by ``random.Random(f"{s}:{i}")`` alone, so any input
can be made again from its number: a worker process fuzzes and records the number of the input
it is on in a shared page, and the supervising process, which survives a sanitizer's abort,
writes that input to a file. ``--sanitize`` builds a ``FASTSIG_DEBUG_BUILD`` copy of the package
(gcc, ``-fsanitize=address,undefined``) in a temporary directory and runs the worker on it with
libasan preloaded, ``strict_memcmp=1`` and UBSan halting on its first report.

Exit status: 0 when the backends agreed on every input and no sanitizer spoke; 1 on a
disagreement or a sanitizer report (the input is written to ``--out``); 2 on a usage or build
problem.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import io
import mmap
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent

# -- the inputs ---------------------------------------------------------------------------------

ACCESS_KEY = "AKIDEXAMPLE"
TEMP_KEY = "ASIAEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "AQoDYXdzEPT//////////wEXAMPLE+tok/en=="
WHEN = datetime.datetime(2024, 2, 29, 23, 59, 59, tzinfo=datetime.timezone.utc)
NOW = WHEN.timestamp() + 7

# URL and key pieces that reach every branch: reserved and unreserved bytes, escapes valid and
# not, dots, empty segments, non-BMP characters, controls, a lone surrogate.
PIECES = ["", "/", "//", ".", "..", "/./", "/../", "%", "%2", "%2F", "%2f", "%zz", "%00", "%E1%88%B4",
          "%ff", "+", "~", " ", "  ", "?", "#", "&", "=", "&&", "==", "a", "Z", "0", "-", "_", "ሴ",
          "😀", "é", "\t", "\n", "\r\n", "\x00", "\x7f", "\x80", "\ud800", "\udfff", ":", "@", "[",
          "]", ";", "$", "'", '"', "\\", "X-Amz-Signature=", "X-Amz-Date=", "X-Amz-Credential=",
          "AWS4-HMAC-SHA256", "Credential=", "SignedHeaders=", "Signature=", ","]
METHODS = ["GET", "GET", "PUT", "POST", "HEAD", "DELETE", "get", "PoSt", "", "G E", "G\ud800",
           "ΓET", "GET\r\n", "G\x00T", "OPTIONS", "PATCH"]
HOSTS = ["b.s3.amazonaws.com", "b.s3.us-east-1.amazonaws.com", "example.amazonaws.com",
         "dynamodb.us-east-1.amazonaws.com", "Example.COM:443", "example.com:8443", "[::1]:80",
         "u:p@example.com", "ሴ.com", "", "exa mple.com", "example.com:99999"]
SCHEMES = ["https", "https", "http", "HTTPS", "ftp", ""]
SERVICES = ["s3", "s3", "service", "dynamodb", "execute-api", "s3-object-lambda", "s3express"]
REGIONS = ["us-east-1", "us-east-1", "eu-west-1"]
HEADER_NAMES = ["Host", "host", "X-Amz-Date", "Authorization", "X-Amz-Content-SHA256",
                "x-amz-security-token", "User-Agent", "Accept", "X-Forwarded-For", "X-A", "x-a",
                "Content-Type", "Content-Length", "X-Amz-Meta-A", "X-Amz-Target", "", "a b",
                "é", "X_Y", "Transfer-Encoding", "Content-Encoding", "Expect"]
VALUE_PIECES = [" ", "\t", "a", "B", "  ", "\r\n ", "\n\t", "\r", "\n", "\x00", "é", ",", ":",
                "\x7f", "1", "curl/8", "*/*", "ሴ", "\ud800"]
BODIES = [None, b"", b"{}", b'{"TableName":"t"}', b"x" * 100, "text body", bytearray(b"{}")]
KINDS = ["kernel"] * 5 + ["context"] * 3 + ["signer"] * 2 + ["verify_presigned"] * 5 + \
        ["verify_signed"] * 5 + ["arrow"]
FORMS = ["dict", "pairs", "bytes", "wsgi", "asgi"]


def _text(rng: random.Random, pieces: List[str] = PIECES, most: int = 10) -> str:
    out = []
    for _ in range(rng.randrange(most + 1)):
        roll = rng.random()
        if roll < 0.7:
            out.append(rng.choice(pieces))
        elif roll < 0.9:
            out.append("".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(1, 5))))
        else:
            out.append(chr(rng.choice([rng.randrange(0x80, 0x800), rng.randrange(0x800, 0xD800),
                                       rng.randrange(0xE000, 0x110000), rng.randrange(0, 32)])))
    return "".join(out)


def _mutate_str(rng: random.Random, text: str) -> str:
    """One or a few edits of ``text``."""
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        pos = rng.randrange(len(text) + 1)
        op = rng.randrange(9)
        if op == 0 and text:  # a character changed
            pos = min(pos, len(text) - 1)
            text = text[:pos] + chr(ord(text[pos]) ^ (1 << rng.randrange(7))) + text[pos + 1:]
        elif op == 1:
            text = text[:pos]
        elif op == 2:
            text = text[:pos] + rng.choice(PIECES) + text[pos:]
        elif op == 3 and text:
            end = min(len(text), pos + rng.randrange(1, 8))
            text = text[:pos] + text[end:]
        elif op == 4 and "?" in text:  # a parameter repeated, same or other value
            base, _, query = text.partition("?")
            params = query.split("&")
            param = rng.choice(params)
            if rng.random() < 0.5:
                param = param.partition("=")[0] + "=" + _text(rng, most=2)
            params.insert(rng.randrange(len(params) + 1), param)
            text = base + "?" + "&".join(params)
        elif op == 5 and "?" in text:  # parameters shuffled or one dropped
            base, _, query = text.partition("?")
            params = query.split("&")
            if rng.random() < 0.5:
                rng.shuffle(params)
            else:
                params.pop(rng.randrange(len(params)))
            text = base + "?" + "&".join(params)
        elif op == 6:
            text = text[:pos] + rng.choice(PIECES) * rng.choice([2, 50, 3000]) + text[pos:]
        elif op == 7:
            text = text.swapcase() if rng.random() < 0.2 else text[:pos] + text[pos:].upper()
        else:
            text = text[:pos] + _text(rng, most=3) + text[pos:]
    return text


def _value(rng: random.Random) -> str:
    return "".join(rng.choice(VALUE_PIECES) for _ in range(rng.randrange(6)))


def _url(rng: random.Random) -> str:
    path = "/" + _text(rng) if rng.random() < 0.9 else _text(rng)
    query = ("?" + _text(rng)) if rng.random() < 0.5 else ""
    if rng.random() < 0.2:
        return path + query
    return f"{rng.choice(SCHEMES)}://{rng.choice(HOSTS)}{path}{query}"


def _headers(rng: random.Random, host: Optional[str] = None) -> List[Tuple[Any, Any]]:
    pairs: List[Tuple[Any, Any]] = []
    if host is not None and rng.random() < 0.8:
        pairs.append(("Host", host))
    for _ in range(rng.randrange(4)):
        pairs.append((rng.choice(HEADER_NAMES) if rng.random() < 0.8 else _text(rng, most=2),
                      _value(rng)))
    return pairs


def _maybe_wrong_type(rng: random.Random, value: Any) -> Any:
    """Now and then bytes (or None, or an int) where a str is expected."""
    roll = rng.random()
    if roll < 0.02 and isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if roll < 0.025:
        return None
    if roll < 0.03:
        return 7
    return value


def _timestamp(rng: random.Random) -> Any:
    """What callers pass as a timestamp, and what they should not."""
    return rng.choice([WHEN, WHEN.replace(tzinfo=None), 1709251199, 1709251199.75, WHEN,
                       WHEN.astimezone(datetime.timezone(datetime.timedelta(hours=5))),
                       datetime.datetime(1969, 12, 31, 23, 59, 59), -1, float("nan"), 2 ** 70,
                       "20240229T235959Z", None, True])


def generate(seed: int, index: int) -> Dict[str, Any]:
    """Input ``index`` of ``seed``: plain data (repr-able), made from the two numbers alone."""
    rng = random.Random(f"{seed}:{index}")
    kind = rng.choice(KINDS)
    case: Dict[str, Any] = {"kind": kind, "seed": seed, "index": index}
    if kind == "kernel":
        op = rng.choice(["uri_encode", "normalize_path", "canonical_query", "split_auth_query",
                         "split_url", "canonical_headers", "wsgi_headers", "paths",
                         "epoch_seconds"])
        case["op"] = op
        if op == "uri_encode":
            case["args"] = (_maybe_wrong_type(rng, _text(rng)), rng.random() < 0.5)
        elif op in ("normalize_path", "canonical_query", "split_auth_query"):
            text = _text(rng)
            if op == "split_auth_query" and rng.random() < 0.5:
                text = _mutate_str(rng, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
                                   "AKIDEXAMPLE%2F20240229%2Fus-east-1%2Fs3%2Faws4_request&X-Amz"
                                   "-Date=20240229T235959Z&X-Amz-Expires=3600&X-Amz-SignedHeaders"
                                   "=host&X-Amz-Signature=" + "0" * 64)
            case["args"] = (_maybe_wrong_type(rng, text),)
        elif op == "split_url":
            case["args"] = (_maybe_wrong_type(rng, _url(rng)),)
        elif op == "canonical_headers":
            headers: Any = _headers(rng, rng.choice(HOSTS))
            if rng.random() < 0.3:
                headers = dict(headers)
            elif rng.random() < 0.05:
                headers = [(n, v.encode("utf-8", "surrogatepass")) for n, v in headers]
            case["args"] = (headers, rng.choice([(), ("user-agent",), ("x-a", "host")]))
        elif op == "wsgi_headers":
            environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/",
                       "CONTENT_TYPE": rng.choice(["", "text/plain"]),
                       "CONTENT_LENGTH": rng.choice(["", "0", "12"])}
            for name, value in _headers(rng, rng.choice(HOSTS)):
                environ["HTTP_" + name.upper().replace("-", "_")] = value
            case["args"] = (environ,)
        elif op == "paths":
            case["policy"] = rng.choice(["S3_PATHS", "SERVICE_PATHS", "DOUBLE_ENCODED_PATHS",
                                         "NORMALIZED_S3_STYLE_PATHS", "S3_RECEIVED_PATHS"])
            case["args"] = (_maybe_wrong_type(rng, "/" + _text(rng)),)
        else:
            case["args"] = (rng.choice([
                "20240229T235959Z", _mutate_str(rng, "20240229T235959Z"), 1709251199,
                1709251199.5, -1, 2 ** 70, float("nan"), WHEN, WHEN.replace(tzinfo=None),
                _mutate_str(rng, "2024-02-29T23:59:59Z"), b"20240229T235959Z"]),)
    elif kind == "context":
        case["settings"] = (rng.choice([None, "tok/en+=", TOKEN, ""]),  # as Credentials checks them
                            rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.5,
                            rng.random() < 0.5,
                            rng.choice([(), ("user-agent", "x-a")]))
        case["op"] = op = rng.choice(["sign", "presign", "presign_many", "presign_lines",
                                      "presign_key_lines", "sign_at", "presign_at"])
        method = rng.choice(METHODS)
        payload = rng.choice(["UNSIGNED-PAYLOAD", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c"
                              "a495991b7852b855", None, "", "zz"])
        at = (_timestamp(rng),) if op.endswith("_at") else ()
        if op in ("sign", "sign_at"):
            case["args"] = at + (method, _url(rng), _headers(rng), payload, rng.choice(BODIES))
        elif op in ("presign", "presign_at"):
            case["args"] = at + (method, _url(rng), rng.choice([1, 3600, 604800, 0, -5]),
                                 _headers(rng) if rng.random() < 0.3 else None,
                                 payload or "UNSIGNED-PAYLOAD")
        elif op == "presign_many":
            # Up to six URLs: bulk presigning signs them in pairs, some left waiting.
            urls = [_maybe_wrong_type(rng, _url(rng)) for _ in range(rng.randrange(7))]
            case["args"] = (method, urls,
                            rng.choice([1, 3600]), payload or "UNSIGNED-PAYLOAD")
        else:  # presign_lines, presign_key_lines (which also takes the block as bytes)
            keys: Any = "\n".join(_text(rng, most=4) for _ in range(rng.randrange(4)))
            if op == "presign_key_lines" and rng.random() < 0.5:
                keys = keys.encode("utf-8", "surrogatepass")
            case["args"] = (method, rng.choice(["https://b.s3.amazonaws.com/", "https://h/p/", "",
                                                "https://b.s3.amazonaws.com/a%"]),
                            keys, 3600, payload or "UNSIGNED-PAYLOAD")
    elif kind == "signer":
        case["when"] = rng.choice([WHEN, _timestamp(rng)]) or WHEN  # None would be "now"
        case["service"] = rng.choice(SERVICES)
        case["op"] = op = rng.choice(["sign", "presign", "presign_many", "presign_keys"])
        case["temp"] = rng.random() < 0.3
        method = rng.choice(METHODS)
        if op == "sign":
            case["args"] = (method, _url(rng), _headers(rng), rng.choice(BODIES))
        elif op == "presign":
            case["args"] = (method, _url(rng))
        elif op == "presign_many":
            case["args"] = (method, [_url(rng) for _ in range(rng.randrange(4))])
        else:
            case["args"] = (rng.choice(["my-bucket", "b", "My_Bucket", "a.b.c", "x" * 70,
                                        "b--usw2-az1--x-s3"]),
                            [_text(rng, most=5) for _ in range(rng.randrange(4))], method,
                            rng.choice([None, {"response-content-type": _text(rng, most=2)}]))
    elif kind == "arrow":
        case["keys"] = [_text(rng, most=5) if rng.random() < 0.9 else None
                        for _ in range(rng.randrange(5))]
        case["bucket"] = rng.choice(["my-bucket", None, "bad_bucket"])
        case["method"] = rng.choice(METHODS)
        if case["bucket"] is None:
            case["keys"] = [_url(rng) for _ in case["keys"]]
    else:
        header_signed = kind == "verify_signed"
        case["service"] = rng.choice(["dynamodb", "service", "s3"] if header_signed else SERVICES[:4])
        case["temp"] = rng.random() < 0.3
        case["method"] = rng.choice(METHODS[:6]) if rng.random() < 0.9 else rng.choice(METHODS)
        host = rng.choice(HOSTS[:4])
        path = "/" + (_text(rng, most=4) if rng.random() < 0.7 else "k")
        query = "?" + _text(rng, most=3) if rng.random() < 0.3 else ""
        case["url"] = f"https://{host}{path}{query}"
        case["headers"] = [("X-Amz-Meta-A", "1")] if rng.random() < 0.3 else []
        case["body"] = rng.choice(BODIES[:5]) if header_signed else None
        # What happens to the signed request on its way to the verifier.
        case["edits"] = [(rng.choice(["url", "url", "header", "drop", "add", "dup", "body",
                                      "method", "case"]), rng.random(), _text(rng, most=3))
                         for _ in range(rng.choice([0, 0, 1, 1, 2, 3]))]
        case["origin_form"] = rng.random() < 0.5
        case["server_headers"] = rng.random() < 0.6
        case["form"] = rng.choice(FORMS)
        case["seed_edit"] = rng.randrange(1 << 30)
    return case


# -- running an input on one backend --------------------------------------------------------------


def _norm(value: Any) -> Any:
    """A comparable copy of a result: containers element by element, keeping order."""
    if value is None or isinstance(value, (str, bytes, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        if hasattr(value, "_asdict"):
            return (type(value).__name__, tuple(_norm(v) for v in value))
        return [type(value).__name__] + [_norm(v) for v in value]
    if isinstance(value, dict):  # order is no part of a dict's meaning (headers' is: below)
        return ["dict"] + sorted(((_norm(k), _norm(v)) for k, v in value.items()), key=repr)
    if type(value).__name__ == "SignedRequest":
        return ("SignedRequest", value.url, list(value.headers.items()), value.signature,
                value.canonical_request, value.string_to_sign)
    if hasattr(value, "__arrow_c_stream__"):
        import pyarrow as pa

        urls = pa.chunked_array(value).to_pylist()
        return ("ArrowUrls", len(value), value.null_count, urls)
    return (type(value).__name__, repr(value))


def outcome(call: Callable[[], Any]) -> Tuple[Any, ...]:
    try:
        return ("ok", _norm(call()))
    except Exception as exc:  # the type and message are what both backends must agree on
        return ("error", type(exc).__name__, str(exc), getattr(exc, "code", None))


class Backends:
    """Both backends of one process, with a switch that makes the public API use one."""

    def __init__(self) -> None:
        import fastsig
        from fastsig import _backend

        if "cython" not in _backend.available:
            raise SystemExit("the compiled core is not built: " + _backend.reason)
        self.fastsig = fastsig
        self._backend = _backend
        self.c = _backend.available["cython"]
        self.py = _backend.available["python"]
        creds = fastsig.Credentials(ACCESS_KEY, SECRET)
        temp = fastsig.Credentials(TEMP_KEY, SECRET, TOKEN)
        self.creds = {False: creds, True: temp}
        self.keys = {ACCESS_KEY: creds, TEMP_KEY: temp}
        try:
            import pyarrow
        except ImportError:
            pyarrow = None
        self.pyarrow = pyarrow
        self._signers: Dict[Tuple[str, str, bool], Any] = {}
        self._verifiers: Dict[str, Any] = {}
        self._wsgi: Dict[str, Any] = {}
        self._asgi: Dict[str, Any] = {}
        self.loop = asyncio.new_event_loop()

    def use(self, name: str) -> None:
        self._backend.kernels = self._backend.available[name]
        self._backend.backend = name
        self.fastsig.backend = name

    # Objects are made once per backend, inside its switch, and reused: as a server would.
    def signer(self, name: str, service: str, temp: bool) -> Any:
        key = (name, service, temp)
        signer = self._signers.get(key)
        if signer is None:
            region = "us-east-1"
            signer = self._signers[key] = self.fastsig.Signer(self.creds[temp], region, service)
        return signer

    def verifier(self, name: str) -> Any:
        if name not in self._verifiers:
            self._verifiers[name] = self.fastsig.Verifier(self.keys.get, clock=lambda: NOW)
        return self._verifiers[name]

    def wsgi(self, name: str) -> Any:
        if name not in self._wsgi:
            from fastsig.middleware import ENVIRON_KEY, WSGIMiddleware

            def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
                start_response("200 OK", [])
                body = environ["wsgi.input"].read()
                return [repr(environ[ENVIRON_KEY]).encode(), b"|", body]

            self._wsgi[name] = WSGIMiddleware(app, self.verifier(name))
        return self._wsgi[name]

    def asgi(self, name: str) -> Any:
        if name not in self._asgi:
            from fastsig.middleware import ENVIRON_KEY, ASGIMiddleware

            async def app(scope: Dict[str, Any], receive: Callable[..., Any],
                          send: Callable[..., Any]) -> None:
                body = b""
                while True:
                    message = await receive()
                    body += message.get("body", b"")
                    if not message.get("more_body"):
                        break
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body",
                            "body": repr(scope[ENVIRON_KEY]).encode() + b"|" + body})

            self._asgi[name] = ASGIMiddleware(app, self.verifier(name))
        return self._asgi[name]

    # -- the cases ---------------------------------------------------------------------------

    def run(self, case: Dict[str, Any], name: str) -> Any:
        self.use(name)
        return getattr(self, "_" + case["kind"])(case, name)

    def _kernel(self, case: Dict[str, Any], name: str) -> Any:
        kernels = self._backend.available[name]
        op = case["op"]
        if op == "paths":
            return outcome(lambda: getattr(kernels, case["policy"]).paths(*case["args"]))
        return outcome(lambda: getattr(kernels, op)(*case["args"]))

    def _context(self, case: Dict[str, Any], name: str) -> Any:
        kernels = self._backend.available[name]
        token, double, normalize, omit, content, excluded = case["settings"]
        context = kernels.SigningContext(
            b"k" * 32, ACCESS_KEY, "20240229T235959Z", "us-east-1", "service", token,
            kernels.PathPolicy(double, normalize), omit, content, frozenset(excluded))
        return outcome(lambda: getattr(context, case["op"])(*case["args"]))

    def _signer(self, case: Dict[str, Any], name: str) -> Any:
        signer = self.signer(name, case["service"], case["temp"])
        op, args = case["op"], case["args"]
        when = case.get("when", WHEN)
        if op == "sign":
            method, url, headers, body = args
            return outcome(lambda: signer.sign(method, url, headers, body, timestamp=when))
        if op == "presign":
            return outcome(lambda: signer.presign(*args, timestamp=when))
        if op == "presign_many":
            return outcome(lambda: signer.presign_many(*args, timestamp=when))
        bucket, keys, method, params = args
        return outcome(lambda: signer.presign_keys(bucket, keys, method=method, params=params,
                                                   timestamp=when))

    def _arrow(self, case: Dict[str, Any], name: str) -> Any:
        if self.pyarrow is None:
            return ("skipped",)
        from fastsig import arrow

        signer = self.signer(name, "s3", False)
        # A lone surrogate becomes bytes that are not UTF-8, which an Arrow string may hold.
        pa = self.pyarrow
        raw = [None if k is None else k.encode("utf-8", "surrogatepass") for k in case["keys"]]
        array = pa.array(raw, type=pa.binary()).view(pa.string())
        return outcome(lambda: arrow.presign(signer, array, bucket=case["bucket"],
                                             method=case["method"], timestamp=WHEN))

    def _verify_presigned(self, case: Dict[str, Any], name: str) -> Any:
        signer = self.signer(name, case["service"], case["temp"])
        made = outcome(lambda: signer.presign(case["method"], case["url"], timestamp=WHEN,
                                              headers=case["headers"] or None))
        if made[0] != "ok":
            return ("presign", made)
        return ("presign", made, self._deliver(case, name, made[1], list(case["headers"]), None))

    def _verify_signed(self, case: Dict[str, Any], name: str) -> Any:
        signer = self.signer(name, case["service"], case["temp"])
        made = outcome(lambda: signer.sign(case["method"], case["url"], case["headers"] or None,
                                           case["body"], timestamp=WHEN))
        if made[0] != "ok":
            return ("sign", made)
        signed = made[1]  # the normalized SignedRequest: ("SignedRequest", url, headers, ...)
        headers = list(signed[2])
        return ("sign", made, self._deliver(case, name, signed[1], headers, case["body"]))

    def _deliver(self, case: Dict[str, Any], name: str, url: str, headers: List[Tuple[Any, Any]],
                 body: Any) -> Any:
        """The request as sent, edited on its way, verified in the form ``case["form"]``."""
        rng = random.Random(case["seed_edit"])
        method = case["method"]
        host = url.split("://", 1)[-1].split("/", 1)[0]
        if not any(n.lower() == "host" for n, _ in headers):
            headers = [("Host", host)] + headers
        if case["server_headers"]:
            headers = headers + [("User-Agent", "curl/8"), ("Accept", "*/*"),
                                 ("X-Forwarded-For", "203.0.113.7")]
        if isinstance(body, str):
            body = body.encode()
        elif isinstance(body, bytearray):
            body = bytes(body)
        for what, where, text in case["edits"]:
            if what == "url":
                url = _mutate_str(rng, url)
            elif what == "method":
                method = _mutate_str(rng, method)
            elif what == "body":
                body = (body or b"") + text.encode("utf-8", "surrogatepass")
            elif headers:
                at = int(where * len(headers))
                if what == "drop":
                    del headers[at]
                elif what == "add":
                    headers.insert(at, (rng.choice(HEADER_NAMES), text))
                elif what == "dup":
                    headers.insert(at, headers[at])
                elif what == "case":
                    n, v = headers[at]
                    headers[at] = (n.swapcase(), v)
                else:
                    n, v = headers[at]
                    headers[at] = (n, _mutate_str(rng, v))
        target = url
        if case["origin_form"] and "://" in url:
            rest = url.split("://", 1)[1]
            target = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
        form = case["form"]
        verifier = self.verifier(name)
        if form == "dict":
            return outcome(lambda: verifier.verify(method, target, dict(headers), body))
        if form == "pairs":
            return outcome(lambda: verifier.verify(method, target, headers, body))
        if form == "bytes":
            try:
                as_bytes = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers]
            except UnicodeEncodeError:  # what a server cannot receive: its UTF-8 bytes then
                as_bytes = [(n.encode("utf-8", "surrogatepass"), v.encode("utf-8", "surrogatepass"))
                            for n, v in headers]
            return outcome(lambda: verifier.verify(method, target, as_bytes, body))
        path, _, query = target.partition("?")
        if "://" in path:
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        try:  # a server hands over latin-1 text (WSGI) or bytes (ASGI): what it could receive
            method.encode("latin-1")
            path.encode("latin-1")
            query.encode("latin-1")
            for n, v in headers:
                n.encode("latin-1")
                v.encode("latin-1")
        except UnicodeEncodeError:
            return ("not sendable",)
        if form == "wsgi":
            return self._wsgi_call(name, method, path, query, headers, body)
        return self._asgi_call(name, method, path, query, headers, body)

    def _wsgi_call(self, name: str, method: str, path: str, query: str,
                   headers: List[Tuple[str, str]], body: Optional[bytes]) -> Any:
        from urllib.parse import unquote

        environ: Dict[str, Any] = {
            "REQUEST_METHOD": method, "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, "latin-1"), "RAW_URI": path + ("?" + query if query else ""),
            "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "https",
            "wsgi.input": io.BytesIO(body or b""), "wsgi.errors": io.StringIO(),
        }
        if body:
            environ["CONTENT_LENGTH"] = str(len(body))
        for n, v in headers:
            key = n.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = v
            else:
                key = "HTTP_" + key
                environ[key] = environ[key] + "," + v if key in environ else v
        status: List[Any] = []

        def start_response(line: str, response_headers: List[Tuple[str, str]],
                           exc_info: Any = None) -> None:
            status.append((line, response_headers))

        def call() -> Any:
            chunks = self.wsgi(name)(environ, start_response)
            try:
                return (status, b"".join(chunks))
            finally:
                getattr(chunks, "close", lambda: None)()

        return outcome(call)

    def _asgi_call(self, name: str, method: str, path: str, query: str,
                   headers: List[Tuple[str, str]], body: Optional[bytes]) -> Any:
        from urllib.parse import unquote

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "https", "path": unquote(path),
            "raw_path": path.encode("latin-1"), "query_string": query.encode("latin-1"),
            "root_path": "", "headers": [(n.lower().encode("latin-1"), v.encode("latin-1"))
                                         for n, v in headers],
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80),
        }
        sent: List[Any] = []
        messages = [{"type": "http.request", "body": body or b"", "more_body": False}]

        async def receive() -> Dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: Dict[str, Any]) -> None:
            sent.append(message)

        def call() -> Any:
            result = self.asgi(name)(scope, receive, send)
            if result is not None:
                self.loop.run_until_complete(result)
            return sent

        return outcome(call)


# -- the worker and its supervisor -------------------------------------------------------------


def _write_finding(out: Path, case: Dict[str, Any], detail: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"finding-{case['seed']}-{case['index']}.txt"
    path.write_text(
        f"# replay: python benchmarks/fuzz_differential.py --replay {case['seed']}:{case['index']}\n"
        f"input = {case!r}\n\n{detail}\n", encoding="utf-8", errors="backslashreplace")
    return path


def check(backends: Backends, case: Dict[str, Any]) -> Optional[str]:
    """None when both backends agree on ``case``, else the two outcomes."""
    got = backends.run(case, "cython")
    want = backends.run(case, "python")
    if got == want:
        return None
    return f"cython = {got!r}\npython = {want!r}"


def worker(args: argparse.Namespace) -> int:
    import fastsig

    backends = Backends()
    print(f"fuzz_differential: fastsig from {Path(fastsig.__file__).parent}, "
          f"pyarrow {'yes' if backends.pyarrow else 'no'}", flush=True)
    state = open(args.state, "r+b") if args.state else None
    page = mmap.mmap(state.fileno(), 8) if state else None
    start = time.monotonic()
    deadline = start + args.minutes * 60
    report_at = start + 10
    index = args.start
    kinds: Dict[str, int] = {}
    found = 0
    seen: set = set()
    while time.monotonic() < deadline and (args.inputs is None or index < args.start + args.inputs):
        if page is not None:
            struct.pack_into("<q", page, 0, index)
        case = generate(args.seed, index)
        kinds[case["kind"]] = kinds.get(case["kind"], 0) + 1
        began = time.monotonic()
        detail = check(backends, case)
        took = time.monotonic() - began
        if took > 2:  # a slow input may be a quadratic path in one backend
            print(f"slow: input {args.seed}:{index} ({case['kind']}) took {took:.1f} s", flush=True)
        if detail is not None:
            found += 1
            # With --keep-going, one file per kind of disagreement: the first input of each.
            kind = _signature(case, detail)
            if kind not in seen:
                seen.add(kind)
                path = _write_finding(Path(args.out), case, detail)
                print(f"DISAGREEMENT on input {args.seed}:{index}, written to {path}\n{detail}",
                      flush=True)
            if not args.keep_going:
                return DISAGREED
        index += 1
        now = time.monotonic()
        if now >= report_at:
            done = index - args.start
            print(f"{done} inputs, {done / (now - start):.0f}/s", flush=True)
            report_at = now + 60
    done = index - args.start
    elapsed = time.monotonic() - start
    print(f"done: {done} inputs (from {args.start}) in {elapsed:.0f} s ({done / elapsed:.0f}/s), "
          f"seed {args.seed}, {found} disagreeing ({len(seen)} kinds); by kind of input: "
          f"{dict(sorted(kinds.items()))}", flush=True)
    return DISAGREED if found else 0


def _signature(case: Dict[str, Any], detail: str) -> Tuple[Any, ...]:
    """What makes two disagreements the same kind: the entry point and the two outcomes'
    types (messages differ with the input)."""
    import re

    types = tuple(re.findall(r"'(ok|error)', '?([A-Za-z]*)", detail))
    return (case["kind"], case.get("op"), case.get("form"), types)


def libasan() -> Optional[str]:
    """The path of gcc's libasan, to preload under a sanitized core; None without one."""
    if not sys.platform.startswith("linux") or not shutil.which("gcc"):
        return None
    path = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                          text=True).stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else None


def build_sanitized(where: Path, also: Tuple[str, ...] = ()) -> Optional[str]:
    """A FASTSIG_DEBUG_BUILD copy of the package (gcc -O0 -g, ASan + UBSan) in ``where``, with
    the folders ``also`` beside it (tests/test_sanitizers.py's copy runs the tests); None when
    it built, else the end of the build's error output."""
    for name in ("fastsig", "src_c") + also:
        shutil.copytree(ROOT / name, where / name,
                        ignore=shutil.ignore_patterns("*.so", "*.pyd", "_speedups.c", "__pycache__"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, where / name)
    env = dict(os.environ, FASTSIG_DEBUG_BUILD="1")
    env.pop("FASTSIG_NO_EXTENSIONS", None)
    build = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                           cwd=where, env=env, capture_output=True, text=True)
    if not list((where / "fastsig").glob("_speedups*.so")):
        return build.stderr[-3000:]
    return None


DISAGREED = 3  # the worker's exit status after a disagreement (1 is Python's own failure)
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                   "UndefinedBehaviorSanitizer")


def supervise(args: argparse.Namespace) -> int:
    out = Path(args.out)
    with tempfile.TemporaryDirectory(prefix="fastsig-fuzz-") as tmp:
        env = dict(os.environ)
        env.pop("FASTSIG_NO_EXTENSIONS", None)
        if args.sanitize:
            asan = libasan()
            if asan is None:
                raise SystemExit("--sanitize needs gcc with libasan")
            started = time.monotonic()
            error = build_sanitized(Path(tmp))
            if error is not None:
                sys.stderr.write(error)
                raise SystemExit(2)
            print(f"built the sanitized core in {time.monotonic() - started:.0f} s", flush=True)
            env.update(
                LD_PRELOAD=asan,
                ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:strict_memcmp=1:"
                             "detect_stack_use_after_return=1:check_initialization_order=1",
                UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
                PYTHONPATH=tmp + os.pathsep + env.get("PYTHONPATH", ""),
            )
        state = Path(tmp) / "state"
        deadline = time.monotonic() + args.minutes * 60
        start, status, crashes = args.start, 0, 0
        while True:
            state.write_bytes(struct.pack("<q", start))
            minutes = max(0.0, (deadline - time.monotonic()) / 60)
            command = [sys.executable, os.path.abspath(__file__), "--worker", "--seed",
                       str(args.seed), "--minutes", f"{minutes:.4f}", "--out", str(out),
                       "--state", str(state), "--start", str(start)]
            if args.inputs is not None:
                command += ["--inputs", str(args.inputs - (start - args.start))]
            if args.keep_going:
                command.append("--keep-going")
            log = Path(tmp) / "stderr"
            with open(log, "w+b") as err:
                run = subprocess.run(command, env=env, stderr=err, cwd=tmp)
                err.seek(0)
                stderr = err.read().decode("utf-8", "replace")
            index = struct.unpack("<q", state.read_bytes()[:8])[0]
            sanitizer = any(mark in stderr for mark in SANITIZER_MARKS)
            if run.returncode in (0, DISAGREED) and not sanitizer:
                if stderr.strip():
                    sys.stderr.write(stderr[-3000:])
                return max(status, int(run.returncode == DISAGREED))  # the worker wrote it
            crashes += 1
            case = generate(args.seed, index)
            path = _write_finding(out, case, f"worker exit status {run.returncode}\n"
                                             f"stderr (its end):\n{stderr[-20000:]}")
            print(f"SANITIZER REPORT or crash on input {args.seed}:{index}, written to {path}\n"
                  f"{stderr[-4000:]}", flush=True)
            status = 1
            if not args.keep_going or crashes >= 20 or time.monotonic() >= deadline:
                return status
            start = index + 1  # the worker's counts restart with it


def replay(args: argparse.Namespace) -> int:
    seed, _, index = args.replay.partition(":")
    case = generate(int(seed), int(index))
    print(f"input = {case!r}")
    backends = Backends()
    detail = check(backends, case)
    print(detail or f"agree: {backends.run(case, 'cython')!r}")
    return 1 if detail else 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--inputs", type=int, default=None, help="stop after this many inputs")
    parser.add_argument("--start", type=int, default=0, help="number of the first input")
    parser.add_argument("--sanitize", action="store_true",
                        help="build and fuzz a copy of the core under ASan + UBSan (gcc)")
    parser.add_argument("--keep-going", action="store_true",
                        help="go on after a finding (one file per kind); exit 1 at the end")
    parser.add_argument("--out", default="fuzz-findings", help="where findings are written")
    parser.add_argument("--replay", metavar="SEED:INDEX", help="run one input and show both outcomes")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args)
    if args.worker:
        return worker(args)
    return supervise(args)


if __name__ == "__main__":
    sys.exit(main())
