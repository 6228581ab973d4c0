"""Parquet files made of pieces: the footers of several Parquet files of one schema merged into
one file, their bodies copied byte for byte.

This lets each worker of ``fastsig presign --format parquet -o urls.parquet`` encode and
compress its own row groups (the costly part of writing) while the parent only copies bytes:
a Parquet file is ``PAR1``, the column chunks, then a footer (a Thrift ``FileMetaData``), its
length and ``PAR1``. The footer says where each column chunk starts, in bytes from the file's
start, so a piece copied at another place needs those offsets moved; nothing else changes.

The footer is read and written with Thrift's compact protocol, generically (field id, type,
value), so fields this module does not know (statistics, encodings, future additions) pass
through unchanged. Only the offsets named below are moved, and the row groups' ordinals renumbered.
"""

from __future__ import annotations

import os
import struct
from typing import IO, Any, List, Tuple

__all__ = ["Merger", "Piece", "read_piece"]

MAGIC = b"PAR1"

# Compact protocol types.
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)

# parquet.thrift's field ids: FileMetaData, RowGroup, ColumnChunk, ColumnMetaData.
_FMD_NUM_ROWS, _FMD_ROW_GROUPS = 3, 4
_RG_COLUMNS, _RG_FILE_OFFSET, _RG_ORDINAL = 1, 5, 7
_CC_FILE_OFFSET, _CC_META, _CC_OFFSET_INDEX, _CC_COLUMN_INDEX = 2, 3, 4, 6
_CC_CRYPTO, _CC_ENCRYPTED_META = 8, 9
# data_page_offset, index_page_offset, dictionary_page_offset, bloom_filter_offset
_CMD_OFFSETS = (9, 10, 11, 14)

Struct = List[List[Any]]  # [field id, type, value] in the order read


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def varint(self) -> int:
        result = shift = 0
        while True:
            byte = self.data[self.at]
            self.at += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, kind: int) -> Any:
        if kind in (_TRUE, _FALSE):  # in a list or map: one byte
            self.at += 1
            return self.data[self.at - 1] == 1
        if kind == _BYTE:
            self.at += 1
            return self.data[self.at - 1]
        if kind in (_I16, _I32, _I64):
            return self.zigzag()
        if kind == _DOUBLE:
            self.at += 8
            return self.data[self.at - 8:self.at]
        if kind == _BINARY:
            n = self.varint()
            self.at += n
            return self.data[self.at - n:self.at]
        if kind in (_LIST, _SET):
            header = self.data[self.at]
            self.at += 1
            size = header >> 4
            if size == 15:
                size = self.varint()
            element = header & 15
            return (element, [self.value(element) for _ in range(size)])
        if kind == _MAP:
            size = self.varint()
            if not size:
                return (0, 0, [])
            types = self.data[self.at]
            self.at += 1
            key, item = types >> 4, types & 15
            return (key, item, [(self.value(key), self.value(item)) for _ in range(size)])
        if kind == _STRUCT:
            return self.struct()
        raise ValueError(f"not a Parquet footer (Thrift type {kind})")

    def struct(self) -> Struct:
        fields: Struct = []
        last = 0
        while True:
            header = self.data[self.at]
            self.at += 1
            if header == 0:
                return fields
            kind = header & 15
            field = last + (header >> 4) if header >> 4 else self.zigzag()
            last = field
            if kind in (_TRUE, _FALSE):
                fields.append([field, kind, kind == _TRUE])
            else:
                fields.append([field, kind, self.value(kind)])


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def varint(self, n: int) -> None:
        while n >= 0x80:
            self.out.append((n & 0x7F) | 0x80)
            n >>= 7
        self.out.append(n)

    def zigzag(self, n: int) -> None:
        self.varint((n << 1) ^ (n >> 63))

    def value(self, kind: int, value: Any) -> None:
        if kind in (_TRUE, _FALSE):
            self.out.append(1 if value else 2)
        elif kind == _BYTE:
            self.out.append(value)
        elif kind in (_I16, _I32, _I64):
            self.zigzag(value)
        elif kind == _DOUBLE:
            self.out += value
        elif kind == _BINARY:
            self.varint(len(value))
            self.out += value
        elif kind in (_LIST, _SET):
            element, items = value
            if len(items) < 15:
                self.out.append(len(items) << 4 | element)
            else:
                self.out.append(0xF0 | element)
                self.varint(len(items))
            for item in items:
                self.value(element, item)
        elif kind == _MAP:
            key, item, pairs = value
            self.varint(len(pairs))
            if pairs:
                self.out.append(key << 4 | item)
                for k, v in pairs:
                    self.value(key, k)
                    self.value(item, v)
        else:
            self.struct(value)

    def struct(self, fields: Struct) -> None:
        last = 0
        for field, kind, value in fields:
            wire = (_TRUE if value else _FALSE) if kind in (_TRUE, _FALSE) else kind
            if 0 < field - last <= 15:
                self.out.append((field - last) << 4 | wire)
            else:
                self.out.append(wire)
                self.zigzag(field)
            last = field
            if kind not in (_TRUE, _FALSE):
                self.value(kind, value)
        self.out.append(0)


def _get(fields: Struct, field: int) -> Any:
    for f in fields:
        if f[0] == field:
            return f
    return None


class Piece:
    """A Parquet file's footer, read: ``body`` is where its column chunks lie, ``[4, body)``."""

    def __init__(self, path: str, metadata: Struct, body: int) -> None:
        self.path = path
        self.metadata = metadata
        self.body = body

    @property
    def row_groups(self) -> List[Struct]:
        found = _get(self.metadata, _FMD_ROW_GROUPS)
        return [] if found is None else found[2][1]


def read_piece(path: str) -> Piece:
    with open(path, "rb") as f:
        f.seek(-8, os.SEEK_END)
        tail = f.read(8)
        length = struct.unpack("<I", tail[:4])[0]
        if tail[4:] != MAGIC:
            raise ValueError(f"{path} is not a Parquet file (an encrypted footer is refused)")
        end = f.seek(-8 - length, os.SEEK_END)
        footer = f.read(length)
    metadata = _Reader(footer).struct()
    for group in Piece(path, metadata, end).row_groups:
        for chunk in _get(group, _RG_COLUMNS)[2][1]:
            if _get(chunk, _CC_CRYPTO) or _get(chunk, _CC_ENCRYPTED_META):
                raise ValueError(f"{path}: encrypted column chunks cannot be moved")
    return Piece(path, metadata, end)


def _shift(fields: Struct, ids: Tuple[int, ...], by: int) -> None:
    for f in fields:
        if f[0] in ids and f[2]:  # 0: not set (no chunk starts there: the file starts PAR1)
            f[2] += by


class Merger:
    """Writes Parquet files of one schema (the pieces), given in order, as one Parquet file to
    ``out`` (a binary file opened for writing at its start): each piece's body is copied as it
    comes, the footer written by ``close``."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.first: Any = None
        self.row_groups: List[Struct] = []
        self.rows = 0
        out.write(MAGIC)
        self.position = len(MAGIC)

    def add(self, path: str) -> int:
        """Appends the piece at ``path``; returns its number of rows."""
        piece = read_piece(path)
        by = self.position - len(MAGIC)
        for group in piece.row_groups:
            _shift(group, (_RG_FILE_OFFSET,), by)
            for chunk in _get(group, _RG_COLUMNS)[2][1]:
                _shift(chunk, (_CC_FILE_OFFSET, _CC_OFFSET_INDEX, _CC_COLUMN_INDEX), by)
                meta = _get(chunk, _CC_META)
                if meta is not None:
                    _shift(meta[2], _CMD_OFFSETS, by)
            ordinal = _get(group, _RG_ORDINAL)
            if ordinal is not None:
                ordinal[2] = len(self.row_groups)
            self.row_groups.append(group)
        rows: int = _get(piece.metadata, _FMD_NUM_ROWS)[2]
        self.rows += rows
        if self.first is None:
            self.first = piece.metadata
        _copy_body(piece, self.out)
        self.position += piece.body - len(MAGIC)
        return rows

    def close(self) -> None:
        """Writes the footer: the first piece's, with every piece's row groups."""
        if self.first is None:
            raise ValueError("no pieces to merge")
        metadata = [list(f) for f in self.first]
        _get(metadata, _FMD_NUM_ROWS)[2] = self.rows
        found = _get(metadata, _FMD_ROW_GROUPS)
        if found is None:
            metadata.append([_FMD_ROW_GROUPS, _LIST, (_STRUCT, self.row_groups)])
            metadata.sort(key=lambda f: f[0])
        else:
            found[2] = (_STRUCT, self.row_groups)
        writer = _Writer()
        writer.struct(metadata)
        self.out.write(bytes(writer.out))
        self.out.write(struct.pack("<I", len(writer.out)))
        self.out.write(MAGIC)
        self.out.flush()


def _copy_body(piece: Piece, out: IO[bytes]) -> None:
    with open(piece.path, "rb") as f:
        left = piece.body - len(MAGIC)
        out.flush()
        try:
            # In the kernel, without passing through this process's memory.
            at = len(MAGIC)
            while left:
                sent = os.sendfile(out.fileno(), f.fileno(), at, left)
                if sent <= 0:
                    break
                at += sent
                left -= sent
            return
        except (OSError, AttributeError, ValueError):  # no sendfile here, or a Python file
            pass
        f.seek(piece.body - left)
        while left:
            block = f.read(min(left, 1 << 20))
            if not block:
                raise ValueError(f"{piece.path} ended early")
            out.write(block)
            left -= len(block)
