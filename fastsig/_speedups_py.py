"""The signing kernels in pure Python: the reference implementation.

``_speedups.pyx`` is its compiled twin. Both define the same names with the same behaviour,
byte for byte, including which exception each bad input raises. Nothing outside
``fastsig._backend`` imports either module directly.

Spec references are to the AWS SigV4 documentation, "Create a canonical request":
CanonicalRequest = Method \\n CanonicalURI \\n CanonicalQuery \\n CanonicalHeaders \\n
                   SignedHeaders \\n HashedPayload
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any, Dict, Iterable, List, NoReturn, Optional, Tuple, cast

from ._errors import InvalidHeaderError, InvalidRequestError, InvalidURLError, SigningError
from ._timestamp import parse_amz_date, to_epoch_seconds

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

_sha256 = hashlib.sha256

# ---------------------------------------------------------------------------------------------
# SHA-256 and HMAC-SHA256


def sha256_implementations() -> List[str]:
    """The SHA-256 implementations available; the pure twin has hashlib's only."""
    return ["hashlib"]


def select_sha256(name: str) -> str:
    """Force one SHA-256 implementation (for tests); returns the one in use before."""
    if name != "hashlib":
        raise ValueError(f"SHA-256 implementation {name!r} is not available on this CPU")
    return "hashlib"


class Sha256:
    """Streaming SHA-256 of a payload: ``update`` with bytes-like data, ``update_file`` with a
    binary file object, then ``hexdigest``. Large updates release the GIL."""

    __slots__ = ("_h",)

    def __init__(self, data: Any = b"") -> None:
        self._h = _sha256(data)

    def update(self, data: Any) -> None:
        self._h.update(data)

    def update_file(self, fileobj: Any, chunk_size: int = 65536) -> int:
        """Hash ``fileobj`` from its current position to its end; return the bytes read."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        read = fileobj.read
        update = self._h.update
        total = 0
        while True:
            chunk = read(chunk_size)
            if not chunk:
                return total
            if isinstance(chunk, str):
                raise TypeError("file object returned str; open it in binary mode")
            update(chunk)
            total += len(chunk)

    def copy(self) -> "Sha256":
        clone = Sha256.__new__(Sha256)
        clone._h = self._h.copy()
        return clone

    def digest(self) -> bytes:
        return self._h.digest()

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def _crc_table(polynomial: int) -> List[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ polynomial if crc & 1 else crc >> 1
        table.append(crc)
    return table


_crc_tables: Dict[int, List[int]] = {}  # by polynomial, built on first use, not at import


def _reflected_crc(polynomial: int, mask: int, data: Any, crc: int) -> int:
    table = _crc_tables.get(polynomial)
    if table is None:
        table = _crc_tables[polynomial] = _crc_table(polynomial)
    crc ^= mask
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ mask


def crc32c(data: Any, crc: int = 0) -> int:
    """CRC-32C of bytes-like ``data``, continuing from ``crc`` (a previous result). A byte at
    a time here: the compiled twin is the fast one."""
    return _reflected_crc(0x82F63B78, 0xFFFFFFFF, data, crc)


def crc64nvme(data: Any, crc: int = 0) -> int:
    """CRC-64/NVME of bytes-like ``data``, continuing from ``crc`` (a previous result)."""
    return _reflected_crc(0x9A6C9329AC4BC9B5, 0xFFFFFFFFFFFFFFFF, data, crc)


def sha256_hex(data: Any) -> str:
    """Lowercase hex SHA-256 of bytes-like ``data``."""
    return _sha256(data).hexdigest()


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) of ``message`` under ``key``."""
    return SigningKey(key).digest(message)


class SigningKey:
    """HMAC-SHA256 with the inner and outer states computed once, so that each signature
    costs only the compressions of its own message."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        key = bytes(key)
        if len(key) > 64:
            key = _sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = _sha256(key.translate(_IPAD))
        self._outer = _sha256(key.translate(_OPAD))

    def digest(self, message: Any) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def sign(self, message: str) -> str:
        """Hex HMAC of a string to sign (ASCII by construction)."""
        inner = self._inner.copy()
        inner.update(message.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def epoch_seconds(timestamp: Any) -> int:
    """Whole seconds since the epoch of a request time (fastsig._timestamp's rule; the
    compiled twin reads the common forms in C)."""
    return to_epoch_seconds(timestamp)


def derive_signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """The SigV4 signing key:
    kDate = HMAC("AWS4" + secret, date); kRegion = HMAC(kDate, region);
    kService = HMAC(kRegion, service); kSigning = HMAC(kService, "aws4_request")."""
    key = ("AWS4" + secret_access_key).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac_sha256(key, part.encode("utf-8"))
    return key


# ---------------------------------------------------------------------------------------------
# URI encoding (RFC 3986): only the unreserved characters A-Z a-z 0-9 - . _ ~ stay as they are;
# every other byte of the UTF-8 form becomes %XX with uppercase hex.

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
    pattern = _UNSAFE_RUN_KEEP_SLASH if keep_slash else _UNSAFE_RUN
    return pattern.sub(_escape_run, text)


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


def _query_pairs(query: str) -> List[Tuple[str, str]]:
    """(key, value) pairs of a query string, each brought to the canonical encoding. Empty
    segments (``a=1&&b=2``) are not parameters; a key without ``=`` has an empty value. A
    ``+`` is a literal plus (RFC 3986), and is sent as ``%2B`` so no server can read a space."""
    pairs = []
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((_reencode(key, False), _reencode(value, False)))
    return pairs


def canonical_query(query: str) -> str:
    """The canonical query string: parameters in the canonical encoding, sorted by key and
    then value, repeated keys kept."""
    if not query:
        return ""
    pairs = _query_pairs(query)
    pairs.sort()
    return "&".join([k + "=" + v for k, v in pairs])


def split_auth_query(query: str) -> Tuple[str, dict]:
    """(canonical query without ``X-Amz-Signature``, the presigning parameters) of a received
    query string. The parameters are the ``X-Amz-*`` names of a presigned URL (Algorithm,
    Credential, Date, Expires, SignedHeaders, Security-Token, Signature) with their values
    decoded; a name that appears more than once maps to None."""
    if not query:
        return "", {}
    raw: Dict[str, Optional[str]] = {}
    kept = []
    for key, value in _query_pairs(query):
        if key in _AUTH_QUERY_KEYS:
            # A repeated parameter is refused as repeated: none of its values is decoded.
            raw[key] = None if key in raw else value
            if key == "X-Amz-Signature":
                continue
        kept.append((key, value))
    auth: Dict[str, Optional[str]] = {}
    for key, found in raw.items():
        try:
            auth[key] = None if found is None else _unescape(found).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidURLError(f"query parameter {key} is not UTF-8") from None
    kept.sort()
    return "&".join([k + "=" + v for k, v in kept]), auth


# ---------------------------------------------------------------------------------------------
# Requests: URL, method and header checks

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_REG_NAME = re.compile(r"[A-Za-z0-9\-._~]+")
_IPV6 = re.compile(r"\[[0-9A-Fa-f:.]+\]")
_PORT = re.compile(r"[0-9]{1,5}")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Visible ASCII, space and tab, or an obsolete line fold (a line break followed by blanks).
_FIELD_VALUE = re.compile(r"(?:[\t\x20-\x7e]|\r?\n[ \t])*")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_AUTH_QUERY_KEYS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    }
)

def _origin(scheme: str, authority: str) -> Tuple[str, str]:
    """(lowercase scheme, Host header) of a URL's scheme and authority: userinfo dropped, host
    lowercased, the port kept unless it is the scheme's default."""
    scheme = scheme.lower()
    default_port = _DEFAULT_PORTS.get(scheme)
    if default_port is None:
        raise InvalidURLError("url scheme must be http, https, ws or wss")
    hostport = authority.rpartition("@")[2]
    if hostport.startswith("["):
        end = hostport.find("]") + 1
        host, port = hostport[:end], hostport[end:]
        if not end or not _IPV6.fullmatch(host) or (port and port[0] != ":"):
            raise InvalidURLError("url has an invalid IPv6 host")
        port = port[1:]
    else:
        host, _, port = hostport.partition(":")
        if not host:
            raise InvalidURLError("url has no host")
        if not _REG_NAME.fullmatch(host):
            raise InvalidURLError("url host has characters that are not allowed in a host name")
    host = host.lower()
    if port:
        number = int(port) if _PORT.fullmatch(port) else 0
        if not 0 < number < 65536:
            raise InvalidURLError("url has an invalid port")
        if number != default_port:
            host = f"{host}:{number}"
    return scheme, host


# scheme :// authority path ? query # fragment, none with a control character.
_URL = re.compile(
    r"([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#\x00-\x1f\x7f]*)([^?#\x00-\x1f\x7f]*)"
    r"(?:\?([^#\x00-\x1f\x7f]*))?(?:#[^\x00-\x1f\x7f]*)?"
)
_origins: dict = {}  # "scheme://authority" -> (scheme, Host header): hosts repeat, parse once


def split_url(url: str) -> Tuple[str, str, str, str]:
    """(scheme, Host header, path, query) of a request URL; the fragment is dropped."""
    match = _URL.fullmatch(url) if isinstance(url, str) else None
    if match is None:
        _raise_url_error(url)
    scheme, authority, path, query = match.groups()
    origin = _origins.get(url[: match.end(2)])
    if origin is None:
        origin = _origin(scheme, authority)
        if len(_origins) >= 1024:
            _origins.clear()
        _origins[url[: match.end(2)]] = origin
    if not url.isascii():
        try:
            url.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidURLError("url contains a lone surrogate (not valid Unicode)") from None
    return origin[0], origin[1], path, query or ""


def _raise_url_error(url: object) -> NoReturn:
    if not isinstance(url, str):
        raise InvalidURLError("url must be a str")
    if _CONTROL.search(url):
        raise InvalidURLError("url contains control characters")
    raise InvalidURLError("url has no scheme (expected https://host/...)")


_METHODS = {m: m for m in ("GET", "PUT", "POST", "HEAD", "DELETE", "PATCH", "OPTIONS")}


def _check_method(method: str) -> str:
    try:
        return _METHODS[method]
    except (KeyError, TypeError):
        pass
    if not isinstance(method, str) or not _TOKEN.fullmatch(method):
        raise InvalidRequestError("method must be a non-empty HTTP token such as GET")
    return method.upper()


def wsgi_headers(environ: Dict[str, Any]) -> List[Tuple[str, str]]:
    """A WSGI environ's request headers as (name, value) pairs: each ``HTTP_*`` key with its
    underscores back to dashes, and CONTENT_TYPE and CONTENT_LENGTH when not empty."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-"), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-"), value))
    return headers


def _header_items(headers: Any) -> Iterable[Any]:
    if headers is None:
        return ()
    items = getattr(headers, "items", None)
    return items() if items is not None else headers


def _check_header(item: Any) -> Tuple[str, str, str]:
    """(name, lowercase name, value with folds unfolded) of one header, or an error."""
    try:
        name, value = item
    except (TypeError, ValueError):
        raise InvalidHeaderError("headers must be a mapping or (name, value) pairs") from None
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise InvalidHeaderError(f"header name {name!r} is not an HTTP token")
    if not isinstance(value, str):
        raise InvalidHeaderError(f"header {name!r} has a value that is not a str")
    if not _FIELD_VALUE.fullmatch(value):
        raise InvalidHeaderError(
            f"header {name!r} has a value with a control character, a line break that is "
            "not a fold, or a non-ASCII character"
        )
    if "\n" in value:
        value = _FOLD.sub("", value)
    return name, name.lower(), value


def _canonical_value(value: str) -> str:
    # Trim and collapse runs of blanks (space, tab, and the blanks of unfolded lines).
    return " ".join(value.split())


class _Headers:
    """The caller's headers: what to send, and the canonical values of what to sign."""

    __slots__ = ("names", "values", "host", "content_sha256")

    def __init__(self, headers: Any, owned: frozenset) -> None:
        names: dict = {}  # lowercase name -> name as the caller spelt it first
        values: dict = {}  # lowercase name -> [value, ...]
        self.content_sha256: Optional[str] = None
        for item in _header_items(headers):
            name, lname, value = _check_header(item)
            if lname == "x-amz-content-sha256":
                self.content_sha256 = _canonical_value(value)
            if lname in owned:
                continue
            if lname in values:
                values[lname].append(value)
            else:
                names[lname] = name
                values[lname] = [value]
        host = values.get("host")
        self.host = ",".join(map(_canonical_value, host)) if host else None
        self.names = names
        self.values = values

    def to_send(self) -> dict:
        out = {}
        for lname, vals in self.values.items():
            out[self.names[lname]] = vals[0] if len(vals) == 1 else ",".join(map(_canonical_value, vals))
        return out

    def canonical(self, excluded: frozenset, extra: dict) -> Tuple[str, str]:
        """(canonical headers block, signed headers list) of the caller's headers that are not
        excluded, plus ``extra`` (lowercase name -> canonical value)."""
        signed = dict(extra)
        for lname, vals in self.values.items():
            if lname not in excluded:
                signed[lname] = ",".join(map(_canonical_value, vals))
        names = sorted(signed)
        block = "".join([n + ":" + signed[n] + "\n" for n in names])
        return block, ";".join(names)


def canonical_headers(headers: Any, excluded: Iterable[str] = ()) -> Tuple[str, str]:
    """(canonical headers block, signed headers list) of ``headers``, a mapping or (name, value)
    pairs; names in ``excluded`` (lowercase) are left out."""
    skip = frozenset(excluded)
    return _Headers(headers, skip).canonical(skip, {})


class SignedRequest:
    """What ``Signer.sign`` returns: send ``method`` to ``url`` with ``headers``.

    ``headers`` holds every header to send: the caller's (a repeated name joined with ``,``),
    plus ``Host`` when it was absent, ``X-Amz-Date``, ``Authorization`` and, as they apply,
    ``X-Amz-Security-Token`` and ``X-Amz-Content-SHA256``. ``canonical_request`` and
    ``string_to_sign`` are there for debugging and for people comparing signers."""

    # Both kernels make these: it lives here, beside the pure one, so there is one class.
    __slots__ = ("url", "headers", "signature", "canonical_request", "_string_to_sign", "_body")
    _body: Optional[bytes]  # set by the SigV2 signer only

    def __init__(
        self,
        url: str,
        headers: dict,
        signature: str,
        canonical_request: str,
        string_to_sign: str,
    ) -> None:
        self.url = url
        self.headers = headers
        self.signature = signature
        self.canonical_request = canonical_request
        # The string to sign, or only its first three lines (ending in a newline): the
        # compiled kernel makes no str nobody may read, and the hash line follows from the
        # canonical request.
        self._string_to_sign = string_to_sign

    @property
    def string_to_sign(self) -> str:
        value = self._string_to_sign
        if value.endswith("\n"):
            value += sha256_hex(self.canonical_request.encode("utf-8"))
            self._string_to_sign = value
        return value

    @property
    def body(self) -> Optional[bytes]:
        """The body to send when signing made it (a SigV2 form post); None: send yours."""
        # Only the SigV2 signer sets the slot; the kernels leave it empty.
        return getattr(self, "_body", None)

    @property
    def method(self) -> str:
        """The HTTP method, uppercase (the first line of the canonical request)."""
        return self.canonical_request.partition("\n")[0]

    def __repr__(self) -> str:
        # Header names only: values include the session token.
        return (
            f"SignedRequest(method={self.method!r}, url={self.url!r}, "
            f"headers=[{', '.join(self.headers)}], signature={self.signature!r})"
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not SignedRequest:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _SIGNED_FIELDS)

    __hash__ = None  # type: ignore[assignment]  # headers is a dict


_SIGNED_FIELDS = ("url", "headers", "signature", "canonical_request", "string_to_sign", "body")


class SigningContext:
    """Signs requests for one set of credentials, scope and X-Amz-Date.

    Built by ``fastsig.Signer`` once per signing second; each ``sign`` or ``presign`` is one
    call. Inputs that settings or policy decide (expiry range, payload hash choice) are checked
    by the caller; everything about the request itself is checked here."""

    # What SigV4a (fastsig._sigv4a) changes: the algorithm, the parameters that the caller's
    # query may not carry, and headers it signs (as query parameters when presigning).
    algorithm = ALGORITHM
    _auth_keys = _AUTH_QUERY_KEYS
    _extras: Tuple[Tuple[str, str], ...] = ()

    def __init__(
        self,
        signing_key: bytes,
        access_key_id: str,
        amz_date: str,
        region: str,
        service: str,
        session_token: Optional[str],
        path_policy: PathPolicy,
        omit_session_token: bool,
        content_sha256_header: bool,
        excluded_headers: frozenset,
    ) -> None:
        self._key = self._signing_key(signing_key)
        self.amz_date = amz_date
        self.scope = self._credential_scope(amz_date[:8], region, service)
        self.credential = f"{access_key_id}/{self.scope}"
        self._sts_prefix = f"{self.algorithm}\n{amz_date}\n{self.scope}\n"
        self._token = session_token
        self._paths = path_policy
        self._omit_token = bool(omit_session_token)
        self._content_header = bool(content_sha256_header)
        owned = {"authorization", "x-amz-date", "x-amz-security-token"}
        owned.update(name.lower() for name, _ in self._extras)
        if content_sha256_header:
            owned.add("x-amz-content-sha256")
        self._owned = frozenset(owned)
        self._excluded = frozenset(excluded_headers) | self._owned
        self._auth_queries: dict = {}
        # An unsigned token goes after the signature (AWS IoT's convention).
        self._token_suffix = (
            "&X-Amz-Security-Token=" + uri_encode(session_token)
            if session_token is not None and omit_session_token
            else ""
        )

    @staticmethod
    def _signing_key(key: Any) -> Any:
        return SigningKey(key)

    @staticmethod
    def _credential_scope(date: str, region: str, service: str) -> str:
        return f"{date}/{region}/{service}/aws4_request"

    # -- header signing ------------------------------------------------------------------------

    def sign(
        self, method: str, url: str, headers: Any, payload_hash: Optional[str], body: Any = None
    ) -> SignedRequest:
        """The signed request. The payload hash is ``payload_hash``, else the hash of ``body``
        (bytes-like), else the caller's X-Amz-Content-SHA256 header, else the empty hash."""
        method = _check_method(method)
        if payload_hash is None and body is not None:
            payload_hash = sha256_hex(body)
        scheme, host, path, query = split_url(url)
        sent_path, canonical_uri = self._paths.paths(path)
        cq = canonical_query(query)
        given = _Headers(headers, self._owned)
        if payload_hash is None:
            payload_hash = given.content_sha256 or EMPTY_SHA256

        send = given.to_send()
        extra = {"x-amz-date": self.amz_date}
        if given.host is None:
            send["Host"] = host
            extra["host"] = host
        send["X-Amz-Date"] = self.amz_date
        for name, value in self._extras:
            send[name] = value
            extra[name.lower()] = value
        token = self._token
        if token is not None:
            send["X-Amz-Security-Token"] = token
            if not self._omit_token:
                extra["x-amz-security-token"] = token
        if self._content_header:
            send["X-Amz-Content-SHA256"] = payload_hash
            extra["x-amz-content-sha256"] = payload_hash
        block, signed_headers = given.canonical(self._excluded, extra)

        creq = f"{method}\n{canonical_uri}\n{cq}\n{block}\n{signed_headers}\n{payload_hash}"
        sts = self._sts_prefix + _sha256(creq.encode("utf-8")).hexdigest()
        signature = self._key.sign(sts)
        send["Authorization"] = (
            f"{self.algorithm} Credential={self.credential}, "
            f"SignedHeaders={signed_headers}, Signature={signature}"
        )
        out_url = f"{scheme}://{host}{sent_path}?{cq}" if cq else f"{scheme}://{host}{sent_path}"
        return SignedRequest(out_url, send, signature, creq, sts)

    # -- presigned URLs ------------------------------------------------------------------------

    def _auth_query(self, expires_in: int, signed_headers: str) -> Tuple[list, str]:
        """The X-Amz-* parameters of a presigned URL but the signature, in canonical order:
        as pairs, and joined into a query string."""
        key = (expires_in, signed_headers)
        cached = self._auth_queries.get(key)
        if cached is None:
            pairs = [
                ("X-Amz-Algorithm", self.algorithm),
                ("X-Amz-Credential", uri_encode(self.credential)),
                ("X-Amz-Date", self.amz_date),
                ("X-Amz-Expires", str(expires_in)),
            ]
            # In canonical order: X-Amz-Region-Set, the one extra, sorts right here.
            pairs += [(name, uri_encode(value)) for name, value in self._extras]
            if self._token is not None and not self._omit_token:
                pairs.append(("X-Amz-Security-Token", uri_encode(self._token)))
            pairs.append(("X-Amz-SignedHeaders", uri_encode(signed_headers)))
            cached = (pairs, "&".join([k + "=" + v for k, v in pairs]))
            if len(self._auth_queries) >= 64:
                self._auth_queries.clear()
            self._auth_queries[key] = cached
        return cached

    def presign(
        self, method: str, url: str, expires_in: int, headers: Any, payload_hash: str
    ) -> str:
        """The presigned URL: the canonical query with the X-Amz-* parameters, then
        ``X-Amz-Signature`` (and the session token after it when it is not signed)."""
        method = _check_method(method)
        scheme, host, path, query = split_url(url)
        sent_path, canonical_uri = self._paths.paths(path)
        if headers:
            given = _Headers(headers, self._owned)
            extra = {} if given.host is not None else {"host": host}
            block, signed_headers = given.canonical(self._excluded, extra)
        else:
            block, signed_headers = f"host:{host}\n", "host"
        auth_pairs, cq = self._auth_query(expires_in, signed_headers)
        if query:
            pairs = [p for p in _query_pairs(query) if p[0] not in self._auth_keys]
            pairs += auth_pairs
            pairs.sort()
            cq = "&".join([k + "=" + v for k, v in pairs])
        creq = f"{method}\n{canonical_uri}\n{cq}\n{block}\n{signed_headers}\n{payload_hash}"
        signature = self._key.sign(self._sts_prefix + _sha256(creq.encode("utf-8")).hexdigest())
        return f"{scheme}://{host}{sent_path}?{cq}&X-Amz-Signature={signature}{self._token_suffix}"

    def presign_many(
        self, method: str, urls: Iterable[str], expires_in: int, payload_hash: str
    ) -> List[str]:
        """``presign`` for every URL of ``urls``, in order, without extra headers."""
        _check_method(method)  # even when there is no URL to sign
        presign = self.presign
        return [presign(method, url, expires_in, None, payload_hash) for url in urls]

    def presign_lines(
        self, method: str, prefix: str, keys: str, expires_in: int, payload_hash: str
    ) -> bytes:
        """``presign_many`` of ``prefix + line`` for each line of ``keys`` (split on "\\n"),
        as the URLs in UTF-8, each followed by a newline: the command line's block of output."""
        _check_method(method)  # even when there is no line to sign
        if not keys:
            return b""
        urls = self.presign_many(
            method, [prefix + key for key in keys.split("\n")], expires_in, payload_hash
        )
        urls.append("")
        return "\n".join(urls).encode()


# ---------------------------------------------------------------------------------------------
# Verification

_EXPIRES = re.compile(r"[0-9]{1,6}")
_SCOPE = re.compile(r"([^/]+)/([0-9]{8})/([^/]+)/([^/]+)/aws4_request")


_SCOPE_PART = r"[A-Za-z0-9._\-]+"
_SCOPE = re.compile(rf"([^/]+)/([0-9]{{8}})/({_SCOPE_PART})/({_SCOPE_PART})/aws4_request")


class PresignedVerifier:
    """Accepts a bare presigned URL in one call: a well-formed AWS4-HMAC-SHA256 query that
    signs only the host, no headers, no body, inside its validity window and the settings'
    region and service, with a signature that checks out under ``key_for(access key id, date,
    region, service)`` (which returns (SigningKey, session token or None), or None).
    ``lookup`` is the verifier's: while it returns the very same object for a key, the
    signing key found for it before may be reused.

    ``check`` returns a ``result_type`` (a tuple type: the verifier's ``VerifiedRequest``)
    made of the request's fields, asking ``clock()`` for the time; or None for anything else: the
    verifier's general path then judges the request and says what is wrong with it. So this
    class never rejects, it only accepts faster, and its twins may differ only in how often
    they return None."""

    def __init__(
        self,
        s3_services: frozenset,
        s3_paths: PathPolicy,
        service_paths: PathPolicy,
        region: Optional[str],
        service: Optional[str],
        max_skew: float,
        clock: Any,
        lookup: Any,
        key_for: Any,
        result_type: type,
        unsigned_payload: Optional[bool] = None,
    ) -> None:
        self._unsigned_payload = unsigned_payload
        self._clock = clock
        self._result_type = result_type
        self._lookup = lookup  # the compiled twin memoizes keys while lookup's answer stays
        self._s3_services = s3_services
        self._s3_paths = s3_paths
        self._service_paths = service_paths
        self._region = region
        self._service = service
        self._max_skew = max_skew
        self._key_for = key_for

    def check_headers(self, method: str, url: str, headers: Any) -> Optional[tuple]:
        """``check`` of a presigned URL sent with headers: in pure Python the verifier's
        general path is as fast as this could be, so this twin defers to it."""
        return None

    def check(self, method: str, url: str) -> Optional[tuple]:
        try:
            method = _check_method(method)
            _, host, path, query = split_url(url)
            cq, auth = split_auth_query(query)
        except SigningError:
            return None
        if None in auth.values() or len(auth) - ("X-Amz-Security-Token" in auth) != 6:
            return None
        amz_date = auth["X-Amz-Date"]
        expires = auth["X-Amz-Expires"]
        epoch = parse_amz_date(amz_date)
        now = self._clock()
        scope = _SCOPE.fullmatch(auth["X-Amz-Credential"])
        if (
            auth["X-Amz-Algorithm"] != ALGORITHM
            or auth["X-Amz-SignedHeaders"] != "host"
            or not _EXPIRES.fullmatch(expires)
            or not 1 <= int(expires) <= 604800
            or epoch is None
            or now > epoch + int(expires)
            or epoch - now > self._max_skew
            or scope is None
            or scope.group(2) != amz_date[:8]
        ):
            return None
        access_key_id, scope_date, region, service = scope.groups()
        if (self._region is not None and region != self._region) or (
            self._service is not None and service != self._service
        ):
            return None
        is_s3 = service in self._s3_services
        if is_s3 and self._unsigned_payload is False:
            return None
        try:
            canonical_uri = (self._s3_paths if is_s3 else self._service_paths).paths(path)[1]
        except SigningError:
            return None
        found = self._key_for(access_key_id, scope_date, region, service)
        if found is None:
            return None
        key, expected_token = found
        token = auth.get("X-Amz-Security-Token")
        if expected_token is not None and (
            token is None
            or not hmac.compare_digest(token.encode("utf-8"), expected_token.encode("utf-8"))
        ):
            return None
        payload = UNSIGNED_PAYLOAD if is_s3 else EMPTY_SHA256
        creq = f"{method}\n{canonical_uri}\n{cq}\nhost:{host}\n\nhost\n{payload}"
        sts = (
            f"{ALGORITHM}\n{amz_date}\n{scope_date}/{region}/{service}/aws4_request\n"
            + _sha256(creq.encode("utf-8")).hexdigest()
        )
        signature = auth["X-Amz-Signature"]
        try:
            if not hmac.compare_digest(key.sign(sts), signature):
                return None
        except TypeError:  # a non-ASCII signature
            return None
        return tuple.__new__(self._result_type, (access_key_id, region, service, ("host",), epoch,
                                                 epoch + int(expires), token, True, payload))


# A Host header that splices into a URL unchanged: lowercase (a URL's host loses its
# capitals, the header as signed keeps them), and nothing that would end the authority.
_PLAIN_HOST = re.compile(rb"[-.:\[\]0-9a-z]+")


def _in_use() -> bool:
    """Whether this twin is the backend in use: tests switch backends in one process."""
    from . import _backend  # which imports this module: not at import time

    return _backend.kernels is _backend.available["python"]


class HeaderVerifier(PresignedVerifier):
    """Accepts a header-signed request in one call, or returns None: the compiled twin does
    the verifier's work in C for requests in the usual form. In pure Python the verifier's
    general path is as fast as anything here could be, so this twin always defers to it."""

    def check(  # type: ignore[override]  # the compiled twin's signature, as the stub says
        self, method: str, url: str, headers: Any, payload_hash: Optional[str],
        defer: bool = False,
    ) -> Optional[Any]:
        """With ``defer``, a request whose payload is its body's hash (no
        x-amz-content-sha256, not S3) comes back, having passed every check but its
        signature, as an object whose ``finish(payload_hash)`` is the result or None."""
        return None

    def check_scope(self, scope: Any, presigned: PresignedVerifier) -> Optional[tuple]:
        """An ASGI HTTP request with no body to read, accepted in one call: a header-signed
        one by ``check`` (its target in origin form, its headers as the server gives them),
        a presigned URL without x-amz-* headers by ``presigned``; or None."""
        if scope.__class__ is not dict or scope.get("type") != "http" or not _in_use():
            return None
        raw_path = scope.get("raw_path")
        query = scope.get("query_string", b"")
        headers = scope.get("headers")
        if raw_path.__class__ is not bytes or query.__class__ is not bytes:
            return None
        if not raw_path.startswith(b"/"):
            return None  # an odd target ("*", absolute form): the general path judges it
        if headers.__class__ is not list:
            return None
        host = None
        header_signed = False
        for item in headers:
            if item.__class__ is not tuple or len(item) != 2 or item[0].__class__ is not bytes:
                return None
            name = item[0].lower()
            if name == b"authorization" or name.startswith(b"x-amz-"):
                header_signed = True
            elif name == b"host":
                if host is not None:
                    return None  # two: the general path refuses them
                host = item[1]
            elif name == b"content-length":
                if item[1] != b"0":
                    return None  # a body to read, or a length the general path must judge
            elif name == b"transfer-encoding":
                return None
        target = raw_path + b"?" + query if query else raw_path
        try:
            if header_signed:
                return self.check(cast(str, scope.get("method")), target.decode("utf-8"), headers,
                                  None)
            scheme = scope.get("scheme", "http")
            if host.__class__ is not bytes or not _PLAIN_HOST.fullmatch(host):
                return None
            if scheme.__class__ is not str:
                return None
            # The URL's host is the Host header as sent only when the signers' rules leave it
            # so (no default, empty or zero-padded port): the general path signs it as sent.
            host_header = host.decode("ascii")
            if _origin(scheme, host_header)[1] != host_header:
                return None
            url = scheme.encode("utf-8") + b"://" + host + target
            return presigned.check(cast(str, scope.get("method")), url.decode("utf-8"))
        except (UnicodeError, InvalidURLError):
            return None


# Presigning whole Arrow arrays (fastsig.arrow): the twin of _arrow.pxi, in its own module.
from ._arrow_py import ArrowUrlArray as ArrowUrlArray  # noqa: E402
from ._arrow_py import ArrowUrls as ArrowUrls  # noqa: E402
from ._arrow_py import presign_arrow as presign_arrow  # noqa: E402
