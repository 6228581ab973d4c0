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
import io
import json
import multiprocessing
import os
import queue
import re
import sys
import threading
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterator, List, Optional, Sequence, Tuple, Union, cast
from urllib.parse import quote, unquote_plus

from .credentials import Credentials
from ._s3 import bucket_url as s3_bucket_url
from .signer import Signer

BLOCK_BYTES = 512 * 1024  # of input per task: about 8,000 keys
IN_FLIGHT_PER_WORKER = 2

# Characters that cannot stay raw in the path of a URL built from a key: '%' would read as an
# escape, '?' and '#' would end the path, control characters are refused by the signer.
_NEEDS_QUOTING = re.compile(r"[%?#\x00-\x1f\x7f]")
# The same set as bytes, without '\n': a block of lines is checked whole with translate,
# several times faster than a regex search.
_SPECIAL_BYTES = bytes(range(10)) + bytes(range(11, 32)) + b"\x7f%?#"
_KEY_SAFE = "/~!$&'()*+,;=:@"


class InputError(Exception):
    """A line of input cannot be used; the message starts with its line number."""


@dataclass(frozen=True)
class Job:
    """Everything a worker needs, picklable."""

    credentials: Credentials
    region: str
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


@dataclass
class Result:
    output: bytes
    count: int
    blank: int = 0
    skipped: List[int] = field(default_factory=list)  # line numbers of skipped invalid lines
    sample: Optional[Tuple[str, str]] = None  # (what was presigned, the presigned URL)
    length: int = 0  # of the output, when a worker writes it itself


_signer: Optional[Signer] = None
_job: Optional[Job] = None


def _setup(job: Job) -> None:
    global _signer, _job
    _keep_freed_memory()
    _job = job
    _signer = Signer(job.credentials, job.region, "s3")


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
    return s3_bucket_url(bucket, job.region, endpoint_url=job.endpoint_url,
                         path_style=job.path_style, dualstack=job.dualstack)


_prefixes: dict = {}


def _target(job: Job, entry: str) -> str:
    """The URL to presign for one input entry: a key (of ``job.bucket``, or "bucket\0key"
    from an inventory report without --bucket), else a URL."""
    if job.bucket is not None or job.input_format == "inventory":
        bucket = job.bucket
        if bucket is None:
            bucket, _, entry = entry.partition("\0")
        url = _prefix(job, bucket) + (quote(entry, safe=_KEY_SAFE) if _NEEDS_QUOTING.search(entry) else entry)
        return url + "?" + job.query if job.query else url
    if job.query:
        return entry + ("&" if "?" in entry else "?") + job.query
    return entry


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
    job, signer = _job, _signer
    assert job is not None and signer is not None
    blank = 0
    skipped: List[int] = []
    entries: Optional[List[Tuple[int, str]]] = None
    targets: Optional[List[str]] = None
    if isinstance(payload, bytes):
        lines = _decode_lines(payload, first_line, job.skip_invalid)
        blank, skipped = lines.blank, lines.skipped
        if job.input_format == "jsonl":
            entries = _entries_from_jsonl(job, lines.numbered(), skipped)
            texts = [entry for _, entry in entries]
        elif lines.plain and job.bucket is not None and not job.query and lines.text:
            if job.output_format == "lines":
                result = _presign_block(job, signer, lines.text)
                if result is not None:
                    return result
            # Keys that need no quoting: one string concatenation each.
            prefix = _prefix(job, job.bucket)
            texts = lines.texts
            targets = [prefix + key for key in texts]
        else:
            texts = lines.texts
    else:
        entries = payload
        texts = [entry for _, entry in entries]
    if targets is None:
        targets = [_target(job, entry) for entry in texts]
    try:
        urls = signer.presign_many(job.method, targets, expires_in=job.expires_in,
                                   timestamp=job.timestamp)
    except ValueError:
        # One entry is not a valid URL: find it, to report or skip it by its line number.
        numbered = entries if entries is not None else lines.numbered()
        urls, kept, kept_targets = [], [], []
        for (number, entry), target in zip(numbered, targets):
            try:
                urls.append(signer.presign(job.method, target, expires_in=job.expires_in,
                                           timestamp=job.timestamp))
            except ValueError as exc:
                if not job.skip_invalid:
                    raise InputError(f"line {number}: {exc}") from None
                skipped.append(number)
                continue
            kept.append(entry)
            kept_targets.append(target)
        texts, targets = kept, kept_targets
    middle = len(urls) // 2
    return Result(_render(job, texts, urls), len(urls), blank, sorted(skipped),
                  (targets[middle], urls[middle]) if urls else None)


def _presign_block(job: Job, signer: Signer, text: str) -> Optional[Result]:
    """The hot path: a block of keys that need no quoting, presigned into lines of output in
    one call, without a Python object per URL; None when an entry is not usable (the
    general path then finds it by its line number)."""
    context, expires_in, payload_hash = signer._presign_setup(job.expires_in, job.timestamp, None)
    prefix = _prefix(job, job.bucket)  # type: ignore[arg-type]
    try:
        output = context.presign_lines(job.method, prefix, text, expires_in, payload_hash)
    except ValueError:
        return None
    sample = (prefix + text[text.rfind("\n") + 1:],
              output[output.rfind(b"\n", 0, len(output) - 1) + 1:-1].decode())
    return Result(output, text.count("\n") + 1, 0, [], sample)


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
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows((key, url, job.expires_text) for key, url in zip(shown, urls))
        return out.getvalue().encode()
    dumps = json.dumps
    return "".join(
        dumps({"key": key, "url": url, "expires": job.expires_text}, ensure_ascii=False) + "\n"
        for key, url in zip(shown, urls)).encode()


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
    _setup(job)
    fd = os.open(output_path, os.O_WRONLY) if output_path is not None else None
    try:
        while True:
            task = tasks.recv()
            if task is None:
                break
            try:
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
        except BaseException as exc:  # noqa: BLE001 - reading the input failed: tell the reader
            self._order.put(exc)

    def _receive(self, worker: int) -> Any:
        try:
            outcome = self._results[worker].recv()
        except EOFError:
            raise RuntimeError("a worker process died") from None
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
