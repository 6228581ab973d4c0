"""URI encoding (RFC 3986 as SigV4 uses it) and canonical paths (task 1, CanonicalURI).

The pure-Python twin of ``_kernels/uri.pxi``: the same names, byte-identical results
and the same exceptions."""

from __future__ import annotations

import re
from typing import List, NoReturn, Tuple

from fastsig._errors import InvalidURLError

_BYTE_ESCAPES = ["%%%02X" % b for b in range(256)]
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9\-._~]+")
_UNSAFE_RUN_KEEP_SLASH = re.compile(r"[^A-Za-z0-9\-._~/]+")
_UNSAFE_RUN_BYTES = re.compile(rb"[^A-Za-z0-9\-._~]+")
_UNSAFE_RUN_BYTES_KEEP_SLASH = re.compile(rb"[^A-Za-z0-9\-._~/]+")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")


_escaped_runs: dict = {}


def _escape_run(match: "re.Match[str]") -> str:
    run = match.group()
    escaped = _escaped_runs.get(run)
    if escaped is None:
        try:
            data = run.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidURLError("url contains a lone surrogate (not valid Unicode)") from None
        escaped = "".join([_BYTE_ESCAPES[b] for b in data])
        if len(run) <= 4 and len(_escaped_runs) < 4096:  # spaces, "+", a CJK character...
            _escaped_runs[run] = escaped
    return escaped


def _escape_run_bytes(match: "re.Match[bytes]") -> bytes:
    return "".join([_BYTE_ESCAPES[b] for b in match.group()]).encode("ascii")


def uri_encode(text: str, keep_slash: bool = False) -> str:
    """Percent-encode ``text`` as SigV4 requires: unreserved characters stay, every other byte
    of its UTF-8 form becomes ``%XX``. With ``keep_slash``, ``/`` stays too (paths)."""
    if text.__class__ is not str:
        _wrong_type("text", text)
    pattern = _UNSAFE_RUN_KEEP_SLASH if keep_slash else _UNSAFE_RUN
    return pattern.sub(_escape_run, text)


def _wrong_type(name: str, value: object) -> NoReturn:
    """The TypeError of a kernel given anything but exactly a str (None, bytes, a subclass),
    in the words of the compiled kernels' argument check (Cython's)."""
    raise TypeError(f"Argument '{name}' has incorrect type (expected str, got "
                    f"{type(value).__name__})")


def _unescape(text: str) -> bytes:
    """The bytes that a %-encoded string stands for. A ``%`` that does not start a valid escape
    is an error: it could mean itself or be a mistake, and a guess could sign the wrong thing."""
    if _BAD_ESCAPE.search(text):
        raise InvalidURLError("url contains a '%' that is not followed by two hex digits")
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidURLError("url contains a lone surrogate (not valid Unicode)") from None
    return _ESCAPE.sub(lambda m: bytes((int(m.group(1), 16),)), raw)


def _reencode(text: str, keep_slash: bool) -> str:
    """Bring %-encoded text to the canonical encoding: decode escapes, encode again."""
    if "%" not in text:
        return uri_encode(text, keep_slash)
    pattern = _UNSAFE_RUN_BYTES_KEEP_SLASH if keep_slash else _UNSAFE_RUN_BYTES
    return pattern.sub(_escape_run_bytes, _unescape(text)).decode("ascii")


def normalize_path(path: str) -> str:
    """Remove ``.`` and ``..`` segments and collapse repeated slashes, as AWS services other
    than S3 do (RFC 3986 section 5.2.4 plus the empty-segment rule). A trailing slash stays
    when anything is left: ``//example//`` becomes ``/example/``."""
    if path.__class__ is not str:
        _wrong_type("path", path)
    segments: List[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    if not segments:
        return "/"
    tail = "/" if path.endswith("/") else ""
    return "/" + "/".join(segments) + tail


class PathPolicy:
    """How one kind of service treats the URI path.

    ``double_encode``: the path is taken as sent and URI-encoded once more for the canonical
    request (every service but S3). Otherwise the path is brought to the canonical single
    encoding, and that form is both sent and signed (S3).
    ``normalize``: dot segments and repeated slashes are removed in the canonical URI.
    ``plus_is_space``: a raw ``+`` is a space, as S3 reads the path it receives (a client
    that means a plus sends ``%2B``); single encoding only."""

    __slots__ = ("double_encode", "normalize", "plus_is_space")

    def __init__(self, double_encode: bool, normalize: bool, plus_is_space: bool = False) -> None:
        self.double_encode = bool(double_encode)
        self.normalize = bool(normalize)
        self.plus_is_space = bool(plus_is_space)

    def __repr__(self) -> str:
        return (f"PathPolicy(double_encode={self.double_encode}, normalize={self.normalize}"
                + (", plus_is_space=True)" if self.plus_is_space else ")"))

    def paths(self, path: str) -> Tuple[str, str]:
        """(the path to send, the canonical URI) for a request path."""
        if path.__class__ is not str:
            _wrong_type("path", path)
        if not path:
            path = "/"
        if self.double_encode:
            return path, uri_encode(normalize_path(path) if self.normalize else path, True)
        if self.plus_is_space:
            path = path.replace("+", "%20")
        if "%" in path:
            sent = _reencode(path, True)
        else:
            sent = _UNSAFE_RUN_KEEP_SLASH.sub(_escape_run, path)
        return sent, normalize_path(sent) if self.normalize else sent


S3_PATHS = PathPolicy(double_encode=False, normalize=False)
SERVICE_PATHS = PathPolicy(double_encode=True, normalize=True)
DOUBLE_ENCODED_PATHS = PathPolicy(double_encode=True, normalize=False)
NORMALIZED_S3_STYLE_PATHS = PathPolicy(double_encode=False, normalize=True)
# What S3 computes for a path it receives: the signer, which builds the path it sends,
# encodes a plus as %2B and never needs this.
S3_RECEIVED_PATHS = PathPolicy(double_encode=False, normalize=False, plus_is_space=True)
