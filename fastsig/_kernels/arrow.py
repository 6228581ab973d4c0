"""Presigning whole Arrow arrays, pure-Python twin of ``_kernels/arrow.pxi``: through pyarrow, one
``presign_many`` call per chunk. Same results, same errors; its messages are the ones both
twins raise.
"""

from __future__ import annotations

import ctypes
import importlib
from typing import Any, List, Optional, cast

from fastsig._errors import InvalidRequestError
from .keys import quote_key

from .request import _check_method

__all__ = ["ArrowUrlArray", "ArrowUrls", "presign_arrow"]

_FORMATS = {"u", "U", "vu"}


def type_error(arrow_format: str) -> str:
    return ("fastsig.arrow.presign takes an array of strings (utf8, large_utf8 or string_view), "
            f"got the Arrow format {arrow_format!r}")


def source_error(source: Any) -> str:
    return ("fastsig.arrow.presign takes an Arrow array or stream of strings (an object with "
            f"__arrow_c_array__ or __arrow_c_stream__), got {type(source).__name__}")


def utf8_error(row: int) -> str:
    return f"row {row} of the array is not valid UTF-8"


def empty_key_error() -> str:
    return "each key must be a non-empty string, got ''"  # as Signer.presign_keys says it


def stream_error(message: Optional[str]) -> Exception:
    return InvalidRequestError(f"the Arrow stream failed: {message or 'no reason given'}")


def _pyarrow() -> Any:
    try:
        # Imported by name: the kernels' stub check reads this module without pyarrow's types.
        return importlib.import_module("pyarrow")
    except ImportError:
        raise ImportError("fastsig.arrow on the pure-Python backend needs pyarrow: "
                          "pip install pyarrow (the compiled core needs nothing)") from None


class _ArrowSchemaStruct(ctypes.Structure):
    _fields_ = [("format", ctypes.c_char_p), ("name", ctypes.c_char_p)]


def _format_of(schema_capsule: Any) -> str:
    """The format string of an ArrowSchema capsule (its first field), read as the compiled
    core reads it, so that both twins name a refused type alike."""
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype = ctypes.c_void_p
    get.argtypes = [ctypes.py_object, ctypes.c_char_p]
    pointer = get(schema_capsule, b"arrow_schema")
    raw = _ArrowSchemaStruct.from_address(pointer).format or b""
    return raw.decode("utf-8", "replace")


class _Capsules:
    """Hands pyarrow capsules already taken from the source (so the source is asked once)."""

    def __init__(self, array: Any = None, stream: Any = None) -> None:
        self._array = array
        self._stream = stream

    def __arrow_c_array__(self, requested_schema: Any = None) -> Any:
        return self._array

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._stream


class ArrowUrls:
    """Presigned URLs as Arrow ``large_utf8`` chunks (see ``fastsig.arrow.presign``), exported
    through ``__arrow_c_stream__``."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = chunks  # a pyarrow.ChunkedArray

    def __len__(self) -> int:
        return len(self._chunks)

    @property
    def null_count(self) -> int:
        return int(self._chunks.null_count)

    @property
    def num_chunks(self) -> int:
        return int(self._chunks.num_chunks)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} URLs, {self.null_count} null)"

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._chunks.__arrow_c_stream__()


class ArrowUrlArray(ArrowUrls):
    """``ArrowUrls`` of one chunk, exported as an array too (``__arrow_c_array__``)."""

    def __arrow_c_array__(self, requested_schema: Any = None) -> Any:
        return self._chunks.chunk(0).__arrow_c_array__()


def _check_format(schema_capsule: Any) -> None:
    arrow_format = _format_of(schema_capsule)
    if arrow_format not in _FORMATS:
        raise TypeError(type_error(arrow_format))


def _values(chunk: Any, first_row: int) -> List[Optional[str]]:
    try:
        return cast(List[Optional[str]], chunk.to_pylist())
    except UnicodeDecodeError:
        for row in range(len(chunk)):  # which row: the one the compiled core names
            try:
                chunk[row].as_py()
            except UnicodeDecodeError:
                raise InvalidRequestError(utf8_error(first_row + row)) from None
        raise


def _presign_chunk(context: Any, method: str, prefix: str, query: str, chunk: Any,
                   expires_in: int, payload_hash: str, first_row: int) -> List[Optional[str]]:
    values = _values(chunk, first_row)
    urls: List[str] = []
    if prefix:
        suffix = "?" + query if query else ""
        for key in values:
            if key is not None:
                if not key:  # an empty key would presign the bucket itself
                    raise InvalidRequestError(empty_key_error())
                urls.append(prefix + quote_key(key) + suffix)
    else:
        urls = [url for url in values if url is not None]
    signed = iter(context.presign_many(method, urls, expires_in, payload_hash))
    return [None if value is None else next(signed) for value in values]


def presign_arrow(context: Any, method: str, prefix: str, query: str, source: Any,
                  expires_in: int, payload_hash: str) -> ArrowUrls:
    """Presigned URLs of an Arrow array or stream (``__arrow_c_array__`` or
    ``__arrow_c_stream__``) of keys, made ``prefix + quote_key(key) + '?' + query`` when
    ``prefix`` (a bucket's URL ending in '/') is given, else of URLs. Nulls stay null. An array
    gives an ``ArrowUrlArray``, a stream ``ArrowUrls`` of as many chunks."""
    _check_method(method)  # before any key, and when there is none: as presign_many does
    if hasattr(source, "__arrow_c_array__"):
        capsules = source.__arrow_c_array__()
        if not isinstance(capsules, tuple) or len(capsules) != 2:
            raise TypeError(source_error(source))
        _check_format(capsules[0])
        pyarrow = _pyarrow()
        chunk = pyarrow.array(_Capsules(array=capsules))
        urls = _presign_chunk(context, method, prefix, query, chunk, expires_in, payload_hash, 0)
        return ArrowUrlArray(pyarrow.chunked_array([pyarrow.array(urls, pyarrow.large_string())],
                                                   pyarrow.large_string()))
    if not hasattr(source, "__arrow_c_stream__"):
        raise TypeError(source_error(source))
    capsule = source.__arrow_c_stream__()
    pyarrow = _pyarrow()
    chunks = pyarrow.chunked_array(_Capsules(stream=capsule))
    _check_format(chunks.type.__arrow_c_schema__())
    out = []
    rows = 0
    for chunk in chunks.chunks:
        urls = _presign_chunk(context, method, prefix, query, chunk, expires_in, payload_hash,
                              rows)
        out.append(pyarrow.array(urls, pyarrow.large_string()))
        rows += len(chunk)
    return ArrowUrls(pyarrow.chunked_array(out, pyarrow.large_string()))
