"""Bulk presigning for the command line: read keys or URLs in blocks, presign each block with
one ``presign_many`` call (in worker processes when asked), write the results in input order.

Memory stays bounded whatever the input size: the reader holds one block, and at most a few
blocks per worker are in flight at once.
"""

from __future__ import annotations

import csv
import ctypes
import datetime
import gzip
import zlib
import io
import json
import multiprocessing
import os
import queue
import re
import sys
import threading
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union, cast
from urllib.parse import unquote_plus, urlsplit

from ._errors import InvalidRequestError
from ._integration import infer_scope
from ._key_urls import quote_key
from ._s3 import bucket_service, presign_bucket_url
from .credentials import Credentials
from .signer import Signer

BLOCK_BYTES = 512 * 1024  # of input per task: about 8,000 keys
IN_FLIGHT_PER_WORKER = 2

# The characters of _key_urls.NEEDS_QUOTING as bytes, without '\n': a block of lines is
# checked whole with translate, several times faster than a regex search.
_SPECIAL_BYTES = bytes(range(10)) + bytes(range(11, 32)) + b"\x7f%?#"
# The scheme and authority of an absolute URL: where a URL list's scope is read.
_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")

Scope = Tuple[str, str]  # (region, service)
T = TypeVar("T")


class InputError(Exception):
    """A line of input cannot be used; the message starts with its line number."""


class WorkerError(Exception):
    """A worker process stopped without saying why (killed, out of memory)."""


@dataclass(frozen=True)
class Job:
    """Everything a worker needs, picklable."""

    credentials: Credentials
    region: str  # of keys, and of URLs whose host names no region (--region, else the default)
    service: Optional[str]  # of keys (the bucket's); of URLs: --service, else from each host
    method: str
    expires_in: int
    timestamp: int
    input_format: str  # lines, jsonl (blocks of bytes); csv, tsv, inventory (rows)
    field: str  # the JSON Lines field
    bucket: Optional[str]  # entries are keys of this bucket; None: URLs (or inventory rows)
    path_style: bool
    endpoint_url: Optional[str]
    dualstack: bool
    query: str  # extra signed query parameters, encoded, without '?'
    output_format: str  # lines, csv, jsonl
    skip_invalid: bool
    expires_text: str
    pin_region: Optional[str] = None  # --region: a URL whose host names another is an error
    pin_service: Optional[str] = None  # --service: likewise


@dataclass
class Result:
    output: bytes
    count: int
    blank: int = 0
    skipped: List[int] = field(default_factory=list)  # line numbers of skipped invalid lines
    # (what was presigned, the presigned URL, its region, its service): one per scope
    samples: List[Tuple[str, str, str, str]] = field(default_factory=list)
    length: int = 0  # of the output, when a worker writes it itself


_job: Optional[Job] = None
_signers: Dict[Scope, Signer] = {}
_host_scopes: Dict[str, Union[Scope, str]] = {}  # a URL list's authority: scope, or the error
_prefix_scopes: Dict[str, Scope] = {}  # a URL's text to the first '/' of its path: its scope
_bucket_scopes: Dict[str, Scope] = {}
_prefixes: Dict[str, str] = {}


def _setup(job: Job) -> None:
    global _job
    _keep_freed_memory()
    _job = job
    _signers.clear()
    _host_scopes.clear()
    _prefix_scopes.clear()
    _bucket_scopes.clear()
    _prefixes.clear()
    _signer_for(job, default_scope(job))  # a bad region or service shows here, once


def default_scope(job: Job) -> Scope:
    return job.region, job.service or "s3"


def _signer_for(job: Job, scope: Scope) -> Signer:
    signer = _signers.get(scope)
    if signer is None:
        signer = _signers[scope] = Signer(job.credentials, scope[0], scope[1])
    return signer


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def _keep_freed_memory() -> None:
    """Have glibc keep freed memory for reuse rather than return it to the system.

    Each block makes a few allocations of megabytes. glibc serves such sizes with fresh
    mappings and unmaps them when freed, so every block page-faults its way through fresh
    pages (a third of a worker's time on a VM that reclaims idle memory). Served from the
    heap and kept there, the same warm pages are reused block after block. Only this
    process's allocator is touched: it is the command line's own, or its worker's."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (TypeError: Windows)
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # glibc's maximum
    mallopt(_M_TRIM_THRESHOLD, 1 << 30)


def bucket_url(job: Job, bucket: str) -> str:
    return presign_bucket_url(bucket, job.region, endpoint_url=job.endpoint_url,
                              path_style=job.path_style, dualstack=job.dualstack)


def _target(job: Job, entry: str) -> str:
    """The URL to presign for one input entry: a key (of ``job.bucket``, or "bucket\0key"
    from an inventory report without --bucket), else a URL."""
    if job.bucket is not None or job.input_format == "inventory":
        bucket = job.bucket
        if bucket is None:
            bucket, _, entry = entry.partition("\0")
        if not entry:
            raise InvalidRequestError("an empty key would presign the bucket itself")
        url = _prefix(job, bucket) + quote_key(entry)
        return url + "?" + job.query if job.query else url
    if job.query:
        return entry + ("&" if "?" in entry else "?") + job.query
    return entry


def url_scope(job: Job, url: str) -> Scope:
    """The (region, service) a URL of a URL list is signed for: what its host names
    (``infer_scope``), checked against --region and --service, which stand in for what the
    host does not name; raises ValueError (the caller adds the line number)."""
    match = _AUTHORITY.match(url)
    if match is None:
        return default_scope(job)  # not an absolute URL: the signer says so
    authority = match.group(1)
    scope = _host_scopes.get(authority)
    if scope is None:
        scope = _host_scopes[authority] = _scope_of_authority(job, authority)
    if scope.__class__ is str:
        raise InvalidRequestError(scope)
    return scope  # type: ignore[return-value]


def _url_scopes(job: Job, urls: List[str], text: Optional[str] = None) -> List[Scope]:
    """``url_scope`` of each URL. Neighbours mostly share a host: a URL that starts with the
    last one's "scheme://authority/" has its scope without another look. ``text``, the URLs
    as lines when given, tells in one search whether they all share the first one's."""
    if text is not None and urls:
        match = _AUTHORITY.match(urls[0])
        if match is not None:
            prefix = match.group() + "/"
            if text.startswith(prefix) and text.count("\n" + prefix) == len(urls) - 1:
                return [url_scope(job, urls[0])] * len(urls)
    # URLs that share their text up to the first '/' after "://" share their authority, so
    # that text finds a scope already known without parsing.
    scopes: List[Scope] = []
    append = scopes.append
    known = _prefix_scopes
    same = "\0"  # no URL starts with it
    scope = default_scope(job)
    for url in urls:
        if not url.startswith(same):
            end = url.find("/", url.find("://") + 3)
            same = url[:end + 1] if end > 0 else "\0"
            found = known.get(same)
            if found is None:
                found = url_scope(job, url)
                if end > 0:
                    known[same] = found
            scope = found
        append(scope)
    return scopes


def _scope_of_authority(job: Job, authority: str) -> Union[Scope, str]:
    try:
        host = urlsplit("//" + authority).hostname
    except ValueError:
        host = None
    if not host:
        return default_scope(job)  # the signer refuses the URL with its own message
    service, region = infer_scope(host)
    if job.pin_service and service and service != job.pin_service:
        return f"host {host!r} is signed for service {service!r}, not --service {job.pin_service!r}"
    if job.pin_region and region and region != job.pin_region:
        return f"host {host!r} is in region {region!r}, not --region {job.pin_region!r}"
    service = service or job.pin_service
    if service is None:
        return f"cannot tell the service of host {host!r}: pass --service"
    return region or job.region, service


def _entry_scope(job: Job, entry: str, target: str) -> Scope:
    if job.bucket is not None:
        return default_scope(job)
    if job.input_format == "inventory":
        bucket = entry.partition("\0")[0]
        scope = _bucket_scopes.get(bucket)
        if scope is None:
            scope = _bucket_scopes[bucket] = (job.region, bucket_service(bucket))
        return scope
    return url_scope(job, target)


class _Lines:
    """The usable lines of a block: their text and line numbers (``numbers`` None means
    consecutive from ``first``: the common case, kept cheap). ``text`` is the whole block
    when it is just those lines; it is split into ``texts`` only when asked."""

    __slots__ = ("text", "_texts", "numbers", "first", "blank", "skipped", "plain")

    def __init__(self, text: Optional[str], texts: Optional[List[str]],
                 numbers: Optional[List[int]], first: int, blank: int, skipped: List[int],
                 plain: bool) -> None:
        self.text = text
        self._texts = texts
        self.numbers = numbers
        self.first = first
        self.blank = blank
        self.skipped = skipped
        self.plain = plain  # no character that needs quoting in a URL path

    @property
    def texts(self) -> List[str]:
        if self._texts is None:
            self._texts = self.text.split("\n") if self.text else []
        return self._texts

    def numbered(self) -> List[Tuple[int, str]]:
        numbers = self.numbers or range(self.first, self.first + len(self.texts))
        return list(zip(numbers, self.texts))


def _decode_lines(block: bytes, first_line: int, skip_invalid: bool) -> _Lines:
    if block.endswith(b"\n"):
        block = block[:-1]
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\r" not in text and "\n\n" not in text and not text.startswith("\n"):
        plain = len(block.translate(None, _SPECIAL_BYTES)) == len(block)
        return _Lines(text, None, None, first_line, 0, [], plain)
    # Blank lines, CRLF or invalid UTF-8: line by line.
    texts, numbers, skipped, blank = [], [], [], 0
    for offset, raw in enumerate(block.split(b"\n")):
        number = first_line + offset
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            if not skip_invalid:
                raise InputError(f"line {number}: not valid UTF-8 (--skip-invalid skips "
                                 "such lines)") from None
            skipped.append(number)
            continue
        if line.endswith("\r"):
            line = line[:-1]
        if not line:
            blank += 1
            continue
        texts.append(line)
        numbers.append(number)
    return _Lines(None, texts, numbers, first_line, blank, skipped, False)


def _entries_from_jsonl(
    job: Job, numbered: List[Tuple[int, str]], skipped: List[int]
) -> List[Tuple[int, str]]:
    entries = []
    for number, line in numbered:
        try:
            value = json.loads(line)
            value = value[job.field] if isinstance(value, dict) else None
        except (ValueError, KeyError):
            value = None
        if not isinstance(value, str) or not value:
            if not job.skip_invalid:
                raise InputError(f"line {number}: not a JSON object with a string "
                                 f"{job.field!r} field")
            skipped.append(number)
            continue
        entries.append((number, value))
    return entries


def _prefix(job: Job, bucket: str) -> str:
    prefix = _prefixes.get(bucket)
    if prefix is None:
        prefix = _prefixes[bucket] = bucket_url(job, bucket)
    return prefix


def work(payload: Union[bytes, List[Tuple[int, str]]], first_line: int) -> Result:
    """Presign one block: raw bytes of lines (lines, jsonl), or numbered entries (csv...)."""
    job = _job
    assert job is not None
    blank = 0
    skipped: List[int] = []
    entries: Optional[List[Tuple[int, str]]] = None
    targets: Optional[List[str]] = None
    lines: Optional[_Lines] = None
    if isinstance(payload, bytes):
        if (job.input_format == "lines" and job.output_format == "lines"
                and job.bucket is not None and not job.query):
            # The hot path: the block as read, never decoded into a str (a block of
            # 512 KiB with one emoji is a 2 MiB str, and such sizes fragment a worker's heap).
            block = payload[:-1] if payload.endswith(b"\n") else payload
            if block and b"\r" not in block and b"\n\n" not in block and block[:1] != b"\n":
                result = _presign_block(job, block)
                if result is not None:
                    return result
        lines = _decode_lines(payload, first_line, job.skip_invalid)
        blank, skipped = lines.blank, lines.skipped
        if job.input_format == "jsonl":
            entries = _entries_from_jsonl(job, lines.numbered(), skipped)
            texts = [entry for _, entry in entries]
        elif job.bucket is not None and not job.query and lines.text:
            prefix = _prefix(job, job.bucket)
            texts = lines.texts
            if lines.plain:  # keys that need no quoting: one string concatenation each
                targets = [prefix + key for key in texts]
        else:
            texts = lines.texts
    else:
        entries = payload
        texts = [entry for _, entry in entries]
    try:
        if targets is None and job.bucket is not None and not job.query:
            # Keys of one bucket (never empty: blank lines and fields are dropped on reading).
            prefix = _prefix(job, job.bucket)
            targets = [prefix + quote_key(entry) for entry in texts]
        elif targets is None:
            targets = [_target(job, entry) for entry in texts] if (
                job.query or job.input_format == "inventory") else texts
        if job.bucket is not None:
            scopes = [default_scope(job)] * len(targets)
        elif job.input_format == "inventory":
            scopes = [_entry_scope(job, entry, target) for entry, target in zip(texts, targets)]
        else:
            scopes = _url_scopes(job, targets, lines.text if lines is not None and
                                 entries is None and not job.query else None)
        urls = _presign_by_scope(job, targets, scopes)
    except ValueError:
        # One entry is not usable: find it, to report or skip it by its line number.
        numbered = entries if entries is not None else lines.numbered()  # type: ignore[union-attr]
        texts, targets, scopes, urls = _one_by_one(job, numbered, skipped)
    # A URL of each scope, for the command line's self-check: the middle one when they share
    # one (the common case), else the first of each.
    middles: Dict[Scope, int] = {}
    if urls and scopes.count(scopes[0]) == len(scopes):
        middles[scopes[0]] = len(urls) // 2
    else:
        for index, scope in enumerate(scopes):
            middles.setdefault(scope, index)
    samples = [(targets[i], urls[i], *scope) for scope, i in middles.items()]
    return Result(_render(job, texts, urls), len(urls), blank, sorted(skipped), samples)


def _presign_by_scope(job: Job, targets: List[str], scopes: List[Scope]) -> List[str]:
    """``presign_many`` for each scope's URLs (one call when they share one), in order."""
    if not targets:
        return []
    first = scopes[0]
    if scopes.count(first) == len(scopes):
        return _signer_for(job, first).presign_many(job.method, targets,
                                                    expires_in=job.expires_in,
                                                    timestamp=job.timestamp)
    groups: Dict[Scope, List[int]] = {}
    for index, scope in enumerate(scopes):
        groups.setdefault(scope, []).append(index)
    urls = [""] * len(targets)
    for scope, indexes in groups.items():
        signed = _signer_for(job, scope).presign_many(
            job.method, [targets[i] for i in indexes], expires_in=job.expires_in,
            timestamp=job.timestamp)
        for index, url in zip(indexes, signed):
            urls[index] = url
    return urls


def _one_by_one(job: Job, numbered: List[Tuple[int, str]], skipped: List[int]
                ) -> Tuple[List[str], List[str], List[Scope], List[str]]:
    """(entries, targets, scopes, URLs) of the usable entries; an unusable one stops the run
    with its line number, or is skipped and counted with --skip-invalid."""
    texts: List[str] = []
    targets: List[str] = []
    scopes: List[Scope] = []
    urls: List[str] = []
    for number, entry in numbered:
        try:
            target = _target(job, entry)
            scope = _entry_scope(job, entry, target)
            url = _signer_for(job, scope).presign(job.method, target, expires_in=job.expires_in,
                                                  timestamp=job.timestamp)
        except ValueError as exc:
            if not job.skip_invalid:
                raise InputError(f"line {number}: {exc}") from None
            skipped.append(number)
            continue
        texts.append(entry)
        targets.append(target)
        scopes.append(scope)
        urls.append(url)
    return texts, targets, scopes, urls


def _presign_block(job: Job, block: bytes) -> Optional[Result]:
    """The hot path: a block of keys in UTF-8, no blank line, no CR (the odd keys quoted by
    the kernel, in C on the compiled backend), presigned into lines of output in one call,
    without a Python object per URL; None when an entry is not usable or the block is not
    UTF-8 (the general path then finds the line and reports or skips it)."""
    scope = default_scope(job)
    signer = _signer_for(job, scope)
    context, expires_in, payload_hash = signer._presign_setup(job.expires_in, job.timestamp, None)
    prefix = _prefix(job, job.bucket)  # type: ignore[arg-type]
    try:
        # No blank line here (see work): no key is empty.
        output = context.presign_key_lines(job.method, prefix, block, expires_in, payload_hash)
    except ValueError:  # UnicodeDecodeError too
        return None
    sample = (prefix + quote_key(block[block.rfind(b"\n") + 1:].decode()),
              output[output.rfind(b"\n", 0, len(output) - 1) + 1:-1].decode(), *scope)
    return Result(output, block.count(b"\n") + 1, 0, [], [sample])


def _render(job: Job, texts: Sequence[str], urls: List[str]) -> bytes:
    if not urls:
        return b""
    if job.output_format == "lines":
        urls.append("")  # the last line's newline, without copying the joined text again
        text = "\n".join(urls)
        urls.pop()
        return text.encode()
    shown = [text.rpartition("\0")[2] for text in texts]  # inventory rows: the key alone
    if job.output_format == "csv":
        # Not csv.writer: with a "\n" line terminator it leaves a field holding a lone "\r"
        # unquoted, and the file no longer reads back. RFC 4180's rule, on every field.
        tail = "," + _csv_field(job.expires_text) + "\n"
        return "".join(_csv_field(key) + "," + _csv_field(url) + tail
                       for key, url in zip(shown, urls)).encode()
    dumps = json.dumps
    return "".join(
        dumps({"key": key, "url": url, "expires": job.expires_text}, ensure_ascii=False) + "\n"
        for key, url in zip(shown, urls)).encode()


_CSV_SPECIAL = re.compile(r'[,"\r\n]')


def _csv_field(value: str) -> str:
    if _CSV_SPECIAL.search(value) is None:
        return value
    return '"' + value.replace('"', '""') + '"'


def render_header(job: Job) -> bytes:
    return b"key,url,expires\n" if job.output_format == "csv" else b""


# -------------------------------------------------------------------------------- input


def open_input(path: Optional[str]) -> Tuple[IO[bytes], Callable[[], Tuple[int, Optional[int]]]]:
    """The input as a binary stream (gzip undone, recognized by its magic bytes), and a
    function giving (bytes consumed, total size or None) of the underlying file."""
    if path is None or path == "-":
        raw: Any = sys.stdin.buffer
        total = None
    else:
        raw = open(path, "rb")
        total = os.fstat(raw.fileno()).st_size
    buffered = raw  # a BufferedReader either way: peek without consuming
    magic = buffered.peek(2)[:2]
    stream: IO[bytes] = (cast(IO[bytes], gzip.GzipFile(fileobj=buffered, mode="rb"))
                         if magic == b"\x1f\x8b" else buffered)

    def position() -> Tuple[int, Optional[int]]:
        try:
            return buffered.tell(), total
        except (OSError, ValueError):
            return 0, total

    return stream, position


def input_errors(blocks: Iterator[T]) -> Iterator[T]:
    """``blocks``, with a truncated or corrupt gzip input reported as an input error."""
    try:
        yield from blocks
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        why = "it ends early" if isinstance(exc, EOFError) else str(exc)
        raise InputError(f"the input is not a valid gzip file: {why}") from None


def byte_blocks(stream: IO[bytes]) -> Iterator[Tuple[bytes, int]]:
    """(block of whole lines, number of its first line), about BLOCK_BYTES each."""
    line = 1
    while True:
        block = stream.read(BLOCK_BYTES)
        if not block:
            return
        if not block.endswith(b"\n"):
            block += stream.readline()
        yield block, line
        line += block.count(b"\n")


def row_blocks(stream: IO[bytes], input_format: str, column: Optional[str], header: bool,
               bucket_wanted: bool, skip_invalid: bool,
               skipped: List[int]) -> Iterator[Tuple[List[Tuple[int, str]], int]]:
    """Numbered entries from CSV, TSV or an S3 Inventory report, in blocks.

    Inventory rows are ``bucket,key,...`` with the key URL-encoded (``+`` for a space); the
    entry is then the key (``bucket_wanted`` False, a --bucket was given) or the bucket and
    key as an ``s3://`` style pair resolved by the caller."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="")
    reader = csv.reader(text, delimiter="\t" if input_format == "tsv" else ",")
    index: Optional[int] = None
    if input_format != "inventory":
        if column is not None and not column.isdigit():
            header = True
        if column is not None and column.isdigit():
            index = int(column) - 1
            if index < 0:
                raise InputError("--column counts from 1")
        else:
            index = 0
    block: List[Tuple[int, str]] = []
    first = True
    for row in reader:
        number = reader.line_num
        if first and header:
            first = False
            if column is not None and not column.isdigit():
                if column not in row:
                    raise InputError(f"line 1: no column named {column!r} (columns: "
                                     f"{', '.join(row)[:200]})")
                index = row.index(column)
            continue
        first = False
        if not row or not any(row):
            continue
        try:
            if input_format == "inventory":
                if len(row) < 2:
                    raise IndexError
                entry = unquote_plus(row[1], errors="strict")
                if bucket_wanted:
                    entry = row[0] + "\0" + entry
            else:
                entry = row[index]  # type: ignore[index]
            entry.encode("utf-8")  # surrogates: the line was not UTF-8
        except (IndexError, UnicodeError):
            if not skip_invalid:
                raise InputError(f"line {number}: not valid UTF-8, or too few columns "
                                 "(--skip-invalid skips such lines)") from None
            skipped.append(number)
            continue
        if entry:
            block.append((number, entry))
        if len(block) >= 8192:
            yield block, block[0][0]
            block = []
    if block:
        yield block, block[0][0]


# -------------------------------------------------------------------------------- running


def run(job: Job, payloads: Iterator[Tuple[Any, int]], workers: int,
        emit: Callable[[Result], None], output_path: Optional[str] = None,
        offset: int = 0) -> None:
    """Presign every payload, ``emit`` the results in input order.

    With ``output_path`` (a regular file, ``offset`` bytes of it already written) and worker
    processes, each worker writes its own blocks into the file at the offsets the main
    process hands out in input order, and ``emit`` gets the results with their output
    already written (``output`` empty): the URLs never travel through a pipe."""
    if workers <= 1:
        # Writing a block (the GIL released) overlaps with signing the next one.
        _setup(job)
        with _Emitter(emit) as background:
            for payload, first_line in payloads:
                background.put(work(payload, first_line))
        return
    if not hasattr(os, "pwrite"):
        output_path = None
    with _Workers(job, workers, output_path) as pool, _Emitter(emit) as background:
        for result in pool.map_in_order(payloads, offset):
            background.put(result)


def _serve(job: Job, tasks: Any, results: Any, offsets: Any, output_path: Optional[str]) -> None:
    """A worker process: presign each block it is sent and send back the result, or the
    error. When it writes the output itself, it sends the result without its output, waits
    for the offset of that output in the file and writes it there; a final None (or the
    write's error) says that all its writes are done."""
    try:
        _setup(job)
        failed: Optional[Exception] = None
    except Exception as exc:  # noqa: BLE001 - sent back in place of every result
        failed = exc
    fd = os.open(output_path, os.O_WRONLY) if output_path is not None else None
    try:
        while True:
            task = tasks.recv()
            if task is None:
                break
            try:
                if failed is not None:
                    raise failed
                outcome: Any = work(*task)
            except Exception as exc:  # noqa: BLE001 - re-raised in the main process
                results.send(exc)
                continue
            if fd is None:
                results.send(outcome)
                continue
            output, outcome.output, outcome.length = outcome.output, b"", len(outcome.output)
            results.send(outcome)
            _write_at(fd, output, offsets.recv())
        if fd is not None:
            results.send(None)
    except OSError as exc:  # the output file: a full disk...
        results.send(exc)
    finally:
        if fd is not None:
            os.close(fd)


def _write_at(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


class _Workers:
    """Worker processes, each with a pipe for blocks and one for results (and one for output
    offsets when they write the output themselves).

    Block i goes to worker i % n and its result is read back from that worker in turn, so
    results come in input order with no reordering. A feeder thread sends the blocks, at
    most ``IN_FLIGHT_PER_WORKER`` per worker ahead of the reader, so memory stays bounded
    and a worker blocked on sending a result never waits for a sender blocked on it.
    ``multiprocessing.Pool`` is not used: its terminate() can hang forever when a task is
    half-written to a pipe whose worker it has just killed (a reader closing our output
    early, ``| head``, ends in exactly that state)."""

    def __init__(self, job: Job, count: int, output_path: Optional[str] = None) -> None:
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        context: Any = multiprocessing.get_context(method)  # fork's or spawn's: both have Process
        self._tasks, self._results, self._offsets, self._processes = [], [], [], []
        self._writing = output_path is not None
        for _ in range(count):
            task_reader, task_writer = context.Pipe(duplex=False)
            result_reader, result_writer = context.Pipe(duplex=False)
            offset_reader, offset_writer = context.Pipe(duplex=False)
            process = context.Process(
                target=_serve,
                args=(job, task_reader, result_writer, offset_reader, output_path),
                daemon=True)
            process.start()
            task_reader.close()
            result_writer.close()
            offset_reader.close()
            self._tasks.append(task_writer)
            self._results.append(result_reader)
            self._offsets.append(offset_writer)
            self._processes.append(process)
        self._slots = threading.BoundedSemaphore(count * IN_FLIGHT_PER_WORKER)
        self._order: "queue.Queue[Any]" = queue.Queue()
        self._stopping = False

    def _feed(self, payloads: Iterator[Tuple[Any, int]]) -> None:
        count = len(self._tasks)
        try:
            for index, task in enumerate(payloads):
                self._slots.acquire()
                if self._stopping:
                    return
                self._tasks[index % count].send(task)
                self._order.put(index % count)
            for connection in self._tasks:
                connection.send(None)
            self._order.put(None)
        except BrokenPipeError:  # a worker's pipe, not our output: the worker is gone
            self._order.put(WorkerError("a worker process stopped unexpectedly"))
        except BaseException as exc:  # noqa: BLE001 - reading the input failed: tell the reader
            self._order.put(exc)

    def _receive(self, worker: int) -> Any:
        try:
            outcome = self._results[worker].recv()
        except EOFError:
            raise WorkerError("a worker process stopped unexpectedly") from None
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def map_in_order(self, payloads: Iterator[Tuple[Any, int]], offset: int = 0) -> Iterator[Result]:
        feeder = threading.Thread(target=self._feed, args=(payloads,), daemon=True)
        feeder.start()
        while True:
            worker = self._order.get()
            if worker is None:
                break
            if isinstance(worker, BaseException):
                raise worker
            outcome = self._receive(worker)
            self._slots.release()
            if self._writing:
                self._offsets[worker].send(offset)
                offset += outcome.length
            yield outcome
        if self._writing:
            for worker in range(len(self._results)):
                self._receive(worker)  # None once its writes are done, else their error

    def __enter__(self) -> "_Workers":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stopping = True
        try:
            self._slots.release()  # wake the feeder if it waits for a slot
        except ValueError:
            pass
        for process in self._processes:
            if exc_info[0] is not None:
                process.kill()
            process.join(timeout=None if exc_info[0] is None else 5)
        for connection in self._tasks + self._results + self._offsets:
            connection.close()


class _Emitter:
    """Calls ``emit`` on a thread of its own, at most two results behind; re-raises its
    error (a broken pipe, a full disk) in the caller."""

    def __init__(self, emit: Callable[[Result], None]) -> None:
        self._emit = emit
        self._queue: "queue.Queue[Optional[Result]]" = queue.Queue(maxsize=2)
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._drain, daemon=True)

    def _drain(self) -> None:
        while True:
            result = self._queue.get()
            if result is None:
                return
            if self._error is None:
                try:
                    self._emit(result)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    self._error = exc

    def put(self, result: Result) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(result)

    def __enter__(self) -> "_Emitter":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and exc_info[0] is None:
            raise self._error


def expiry_text(timestamp: int, expires_in: int) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp + expires_in, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
