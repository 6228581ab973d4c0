"""The request line: method, URL and its parts, Host.

The pure-Python twin of ``_kernels/request.pxi``: the same names, byte-identical results
and the same exceptions."""

from __future__ import annotations

import re
from typing import NoReturn, Tuple

from fastsig._errors import InvalidRequestError, InvalidURLError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_REG_NAME = re.compile(r"[A-Za-z0-9\-._~]+")
_IPV6 = re.compile(r"\[[0-9A-Fa-f:.]+\]")
_PORT = re.compile(r"[0-9]{1,5}")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Visible ASCII, space and tab, or an obsolete line fold (a line break followed by blanks).
_FIELD_VALUE = re.compile(r"(?:[\t\x20-\x7e]|\r?\n[ \t])*")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
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


# scheme :// authority path ? query # fragment, none with a control character. The path is
# empty or starts with '/', so where each part ends is never in doubt: a URL that does not
# match fails in linear time (a path free to start anywhere made a 10 kB URL with a control
# character take seconds of backtracking, on both backends, which parse a bad URL here).
_URL = re.compile(
    r"([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#\x00-\x1f\x7f]*)((?:/[^?#\x00-\x1f\x7f]*)?)"
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
