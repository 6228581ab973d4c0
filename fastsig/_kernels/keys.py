"""Object keys in URLs: a key quoted for the path of its URL (``quote_key``), and the lines of
a block of keys quoted alike (``quote_lines``) for ``SigningContext.presign_key_lines``.

The pure-Python twin of ``_kernels/keys.pxi``, which quotes in C: this one serves the pure
backend and the errors the compiled one hands over."""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = ["KEY_SAFE", "NEEDS_QUOTING", "quote_key", "quote_lines"]

# What a quoted key keeps raw besides the unreserved characters: the path encoder encodes the
# rest of the path itself (so a plain key's URL is the one botocore sends).
KEY_SAFE = "/~!$&'()*+,;=:@"
# Characters that cannot stay raw in the path of a URL built from a key: '%' would read as an
# escape, '?' and '#' would end the path, control characters are refused by the signer
# (a key may hold CR or LF: S3 allows them).
NEEDS_QUOTING = re.compile(r"[%?#\x00-\x1f\x7f]")
# The same without '\n', which separates the keys of a block.
_NEEDS_QUOTING_IN_BLOCK = re.compile(r"[%?#\x00-\x09\x0b-\x1f\x7f]")


def quote_key(key: str) -> str:
    """A key as the path after the bucket's '/': raw where the signer can encode it itself
    (its canonical encoding is the one botocore sends), escaped where a raw character would
    change the URL."""
    return quote(key, safe=KEY_SAFE) if NEEDS_QUOTING.search(key) else key


def _quote(key: str) -> str:
    try:
        return quote(key, safe=KEY_SAFE)
    except UnicodeEncodeError:  # a lone surrogate: left as it is, for the signer's own error
        return key


def quote_lines(text: str) -> str:
    """``quote_key`` of each line of ``text`` (split on "\\n"), touching only the lines that
    need it: one regex scan of the block, so the few odd keys of a real listing cost next to
    nothing. A line with a lone surrogate stays raw (the signer then refuses it)."""
    pieces = []
    done = 0
    for match in _NEEDS_QUOTING_IN_BLOCK.finditer(text):
        if match.start() < done:
            continue  # its line is quoted already
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        if end < 0:
            end = len(text)
        pieces.append(text[done:start])
        pieces.append(_quote(text[start:end]))
        done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)
