"""The command line: ``fastsig presign`` (bulk presigning, the main job), ``sign``,
``verify``, ``explain`` and ``bench``. ``python -m fastsig`` is the same tool."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import shlex
import stat
import sys
import time
import traceback
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple
from urllib.parse import quote, urlencode, urlsplit

from . import __version__, _backend, _bulk, _cli_credentials
from ._errors import FastsigError, InvalidURLError, VerificationError
from ._integration import infer_scope
from ._s3 import bucket_service, check_endpoint_url, presign_bucket_url
from ._timestamp import parse_amz_date, to_epoch_seconds
from .credentials import Credentials, default_provider, default_region
from .signer import MAX_EXPIRES, Signer
from .verifier import Verifier

# The example credentials of the AWS documentation: they sign, but open nothing.
EXAMPLE_CREDENTIALS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
CHUNK = 10_000


def example_keys(count: int) -> Iterator[str]:
    """A generated bucket listing: nested prefixes, spaces, a few non-ASCII names."""
    names = ["img", "report final", "café", "data", "log"]
    for i in range(count):
        yield f"photos/{2000 + i % 25}/{names[i % 5]} {i:07d}.jpg"


def _example_blocks(count: int) -> Iterator[Tuple[bytes, int]]:
    """The generated listing as blocks of lines, like a file's."""
    keys = example_keys(count)
    line = 1
    while line <= count:
        chunk = [next(keys) for _ in range(min(CHUNK, count - line + 1))]
        yield ("\n".join(chunk) + "\n").encode(), line
        line += len(chunk)


Sample = Tuple[str, str, str, str]  # (what was presigned, the URL, its region, its service)


def _check_sample(sample: List[Sample], job: _bulk.Job) -> int:
    """Recompute a sample from scratch on the pure-Python reference, each URL in its scope."""
    mismatches = 0
    for target, url, region, service in sample:
        with _backend.using("python"):
            reference = Signer(job.credentials, region, service)
        again = reference.presign(job.method, target, expires_in=job.expires_in,
                                  timestamp=job.timestamp)
        mismatches += again != url
    return mismatches


def _verify_sample(sample: List[Sample], job: _bulk.Job) -> int:
    """Check a sample with the verifier, the other side of what was signed: each URL with a
    verifier pinned to the scope its host (or the bucket) implies, so a URL signed for the
    wrong region or service fails."""
    credentials = job.credentials
    lookup = {credentials.access_key_id: credentials}.get
    verifiers: Dict[Tuple[str, str], Verifier] = {}
    failures = 0
    for _, url, region, service in sample:
        verifier = verifiers.get((region, service))
        if verifier is None:
            verifier = verifiers[region, service] = Verifier(lookup, region=region,
                                                             service=service)
        try:
            verifier.verify(job.method, url)
        except VerificationError:
            failures += 1
    return failures


class UsageError(Exception):
    """A bad flag or combination of flags: exit status 2."""


_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?")


def parse_expires(text: str) -> int:
    """Seconds from ``3600``, ``90s``, ``15m``, ``12h``, ``7d``, ``1w`` or ``1d12h``."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 3600, 12h or 7d")
    weeks, days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    total = (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds
    if not 1 <= total <= MAX_EXPIRES:
        raise argparse.ArgumentTypeError(f"{text!r} is {total} s; presigned URLs last 1 s to 7 days")
    return total


def _credentials(args: argparse.Namespace) -> Credentials:
    """--example, explicit flags, or the standard chain (with --profile)."""
    if getattr(args, "example", False):
        return EXAMPLE_CREDENTIALS
    if args.access_key_id or args.secret_access_key:
        if not (args.access_key_id and args.secret_access_key):
            raise UsageError("--access-key-id and --secret-access-key go together")
        return Credentials(args.access_key_id, args.secret_access_key, args.session_token)
    prompt = (lambda serial: getpass.getpass(f"MFA code for {serial}: ")) if sys.stdin.isatty() else None
    return default_provider(args.profile, mfa_code=prompt).resolve()


def _region(args: argparse.Namespace) -> str:
    return args.region or default_region(args.profile) or "us-east-1"


class Progress:
    """A one-line progress report on stderr, redrawn at most a few times a second."""

    def __init__(self, enabled: bool, position) -> None:
        self.enabled = enabled
        self.position = position
        self.started = time.perf_counter()
        self.count = 0
        self._drawn = 0.0

    def add(self, count: int) -> None:
        self.count += count
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._drawn < 0.2:
            return
        self._drawn = now
        elapsed = now - self.started
        rate = self.count / elapsed if elapsed else 0.0
        done, total = self.position()
        line = f"{self.count:,} URLs  {rate:,.0f}/s"
        if total:
            fraction = min(1.0, done / total)
            bar = "#" * int(fraction * 24)
            eta = elapsed * (1 - fraction) / fraction if fraction else 0.0
            line = f"[{bar:<24}] {fraction:4.0%}  {line}  ETA {eta:,.0f} s"
        sys.stderr.write("\r" + line + "\x1b[K")
        sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled and self._drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
            ".parquet": "parquet"}


def _input_format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    name = (args.input or "").lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return _FORMATS.get(os.path.splitext(name)[1], "lines")


_SCOPE_NAME = re.compile(r"[A-Za-z0-9._-]+")


def _scope_options(args: argparse.Namespace, bucket: Optional[str]) -> Tuple[str, Optional[str]]:
    """(region, service of the keys) once --region, --service, --bucket and --endpoint-url
    are checked: a bad value is a usage error."""
    region = _region(args)
    service = args.service
    if bucket is not None:
        try:
            presign_bucket_url(bucket, region, endpoint_url=args.endpoint_url,
                               path_style=args.path_style, dualstack=args.dualstack)
        except InvalidURLError:
            pass  # --endpoint-url's own message, below
        except FastsigError as exc:
            raise UsageError(f"--bucket: {exc}") from None
        wanted = bucket_service(bucket)
        if service is not None and service != wanted and args.endpoint_url is None:
            raise UsageError(f"--service {service!r}: bucket {bucket!r} is signed for {wanted!r}")
        service = service or wanted
    # A region or endpoint that cannot be signed for is an input problem like a bad line
    # (status 1, whatever the number of workers), not a usage error.
    if args.endpoint_url is not None:
        try:
            check_endpoint_url(args.endpoint_url)
        except InvalidURLError as exc:
            raise _bulk.InputError(f"--endpoint-url: {exc}") from None
    for option, value in (("--region", args.region), ("--service", args.service)):
        if value is not None and not _SCOPE_NAME.fullmatch(value):
            raise _bulk.InputError(f"{option} {value!r} is not a name such as us-east-1 or s3")
    # A region from the environment or the profile: an input error (status 1), not a usage one.
    Signer(EXAMPLE_CREDENTIALS, region, service or "s3")
    return region, service


def _params(args: argparse.Namespace) -> List[Tuple[str, str]]:
    params = []
    for item in args.param:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise UsageError(f"--param {item!r}: expected NAME=VALUE")
        params.append((name, value))
    return params


def _query(args: argparse.Namespace) -> str:
    return urlencode(_params(args), quote_via=quote, safe="~")


def _parquet_command(args: argparse.Namespace, bucket: Optional[str], region: str,
                     service: Optional[str]) -> int:
    """``--format parquet``: a column of a Parquet file through fastsig.arrow, written as
    lines or (``-o x.parquet``) as the input's columns plus ``url``."""
    from ._parquet import presign_parquet

    if args.input is None or args.input == "-":
        raise UsageError("--format parquet reads a file: give its path")
    parquet_out = None
    if args.output_format == "parquet" or (args.output or "").lower().endswith(".parquet"):
        if not args.output or args.output == "-":
            raise UsageError("Parquet output goes to a file: give -o URLS.parquet")
        parquet_out = args.output
    elif args.output_format != "lines":
        raise UsageError("--format parquet writes lines or Parquet (-o URLS.parquet)")
    workers = args.workers or os.cpu_count() or 1
    if workers < 1:
        raise UsageError("--workers must be 1 or more (0: one per core)")
    credentials = _credentials(args)
    timestamp = to_epoch_seconds(args.timestamp) if args.timestamp else int(time.time())
    signer = Signer(credentials, region, service or "s3")
    options: Dict[str, Any] = {"method": args.method or "GET", "expires_in": args.expires_in,
                               "timestamp": timestamp}
    if bucket is not None:
        options.update(bucket=bucket, path_style=args.path_style, dualstack=args.dualstack,
                       endpoint_url=args.endpoint_url, params=_params(args))
    elif args.param:
        raise UsageError("--param applies to keys: give --bucket")
    if not args.quiet:
        note = f" (pure-Python path: {_backend.reason})" if _backend.reason else ""
        print(f"fastsig {__version__}, {_backend.backend} backend{note}, {workers} worker(s)",
              file=sys.stderr)
    out = sys.stdout.buffer if parquet_out or not args.output or args.output == "-" else open(
        args.output, "wb")
    progress = Progress(not args.quiet and sys.stderr.isatty(), lambda: (0, None))
    try:
        count, skipped = presign_parquet(signer, args.input, args.column or "key", options,
                                         workers, args.skip_invalid, out, parquet_out,
                                         progress.add)
        out.flush()
    finally:
        progress.finish()
        if out is not sys.stdout.buffer:
            out.close()
    if not args.quiet:
        elapsed = time.perf_counter() - progress.started
        extra = f", {skipped:,} rows without a key skipped" if skipped else ""
        print(f"presigned {count:,} URLs in {elapsed:.2f} s: "
              f"{count / max(elapsed, 1e-9):,.0f} URLs/s, expiring "
              f"{_bulk.expiry_text(timestamp, args.expires_in)}{extra}", file=sys.stderr)
    return 0


def _upload_parts_command(args: argparse.Namespace, bucket: Optional[str], region: str,
                          service: Optional[str], query: str) -> int:
    """``--upload-id ID --parts N KEY``: the presigned PUT URL of each part, in order."""
    from ._key_urls import MAX_PARTS

    if bucket is None or args.input is None or args.input == "-":
        raise UsageError("--upload-id takes --bucket and the object's KEY as the input")
    if not 1 <= args.parts <= MAX_PARTS:
        raise UsageError(f"--parts must be 1..{MAX_PARTS}, got {args.parts}")
    if args.method not in (None, "PUT") or query:
        raise UsageError("part URLs are PUT URLs without extra parameters: drop --method "
                         "and --param")
    credentials = _credentials(args)
    timestamp = to_epoch_seconds(args.timestamp) if args.timestamp else int(time.time())
    signer = Signer(credentials, region, service or "s3")
    urls = signer.presign_upload_parts(
        bucket, args.input, args.upload_id, args.parts, expires_in=args.expires_in,
        timestamp=timestamp, path_style=args.path_style, endpoint_url=args.endpoint_url,
        dualstack=args.dualstack)
    expires = _bulk.expiry_text(timestamp, args.expires_in)
    if args.output_format == "csv":
        text = "part,url,expires\n" + "".join(f"{n},{url},{expires}\n"
                                               for n, url in enumerate(urls, 1))
    elif args.output_format == "jsonl":
        text = "".join(json.dumps({"part": n, "url": url, "expires": expires}) + "\n"
                       for n, url in enumerate(urls, 1))
    else:
        text = "".join(url + "\n" for url in urls)
    if args.output and args.output != "-":
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0


def presign_command(args: argparse.Namespace) -> int:
    if args.input is None and not args.example and sys.stdin.isatty():
        raise UsageError("give a file of keys or URLs, pipe them in, or use --example")
    input_format = _input_format(args)
    bucket = args.bucket or ("examplebucket" if args.example and args.input is None else None)
    if input_format in ("lines", "jsonl", "csv", "tsv", "parquet") and bucket is None and (
            args.path_style or args.dualstack or args.endpoint_url):
        raise UsageError("--path-style, --dualstack and --endpoint-url apply to keys: give --bucket")
    if (args.upload_id is None) != (args.parts is None):
        raise UsageError("--upload-id and --parts go together")
    region, service = _scope_options(args, bucket)
    query = _query(args)
    if args.upload_id is not None:
        return _upload_parts_command(args, bucket, region, service, query)
    if input_format == "parquet":
        return _parquet_command(args, bucket, region, service)
    if args.output_format == "parquet":
        raise UsageError("--output-format parquet goes with --format parquet")
    credentials = _credentials(args)
    timestamp = to_epoch_seconds(args.timestamp) if args.timestamp else int(time.time())
    job = _bulk.Job(
        credentials=credentials, region=region, service=service, method=args.method or "GET",
        expires_in=args.expires_in, timestamp=timestamp, input_format=input_format,
        field=args.field, bucket=bucket, path_style=args.path_style,
        endpoint_url=args.endpoint_url, dualstack=args.dualstack,
        query=query, output_format=args.output_format,
        skip_invalid=args.skip_invalid,
        expires_text=_bulk.expiry_text(timestamp, args.expires_in),
        pin_region=args.region, pin_service=args.service)
    workers = args.workers or os.cpu_count() or 1
    if workers < 1:
        raise UsageError("--workers must be 1 or more (0: one per core)")

    stream = None
    rows_skipped: List[int] = []  # rows of CSV-like input skipped before they reach a worker
    if args.input is None and args.example:
        payloads: Iterator[Any] = _example_blocks(args.count)
        position: Callable[[], Tuple[int, Optional[int]]] = lambda: (0, None)  # noqa: E731
    elif input_format == "inventory":
        from ._inventory import inventory_blocks

        payloads = inventory_blocks(args.input, bucket is None, args.skip_invalid, rows_skipped)
        position = lambda: (0, None)  # noqa: E731
    else:
        stream, position = _bulk.open_input(args.input)
        if input_format in ("lines", "jsonl"):
            payloads = _bulk.input_errors(_bulk.byte_blocks(stream))
        else:
            payloads = _bulk.input_errors(_bulk.row_blocks(
                stream, input_format, args.column, args.header, bucket is None,
                args.skip_invalid, rows_skipped))

    out = open(args.output, "wb") if args.output and args.output != "-" else sys.stdout.buffer
    progress = Progress(not args.quiet and sys.stderr.isatty(), position)
    totals = {"blank": 0, "skipped": 0}
    sample: List[Sample] = []
    backend_line = (f"fastsig {__version__}, {_backend.backend} backend"
                    + (f" (pure-Python path: {_backend.reason})" if _backend.reason else "")
                    + f", {workers} worker(s)")
    if not args.quiet and _backend.reason:
        # The pure path says so before it starts, and why (once the input and output are
        # open, so that their errors stay one line); the compiled one in the summary.
        print(backend_line, file=sys.stderr)
    out.write(_bulk.render_header(job))

    def emit(result: _bulk.Result) -> None:
        out.write(result.output)
        totals["blank"] += result.blank
        totals["skipped"] += len(result.skipped)
        if len(sample) < 100:
            sample.extend(result.samples)
        progress.add(result.count)

    # Workers write straight into a regular file that is ours alone; a pipe, a terminal or an
    # inherited stdout (which may be in append mode) gets everything through this process.
    output_path = None
    if out is not sys.stdout.buffer and stat.S_ISREG(os.fstat(out.fileno()).st_mode):
        output_path = args.output
    try:
        if output_path is not None:
            out.flush()
        _bulk.run(job, payloads, workers, emit, output_path, out.tell() if output_path else 0)
        out.flush()
    finally:
        progress.finish()
        if out is not sys.stdout.buffer:
            out.close()
        if stream is not None:
            stream.close()
    totals["skipped"] += len(rows_skipped)
    elapsed = time.perf_counter() - progress.started
    count = progress.count
    if args.quiet:
        return 0
    if not _backend.reason:
        print(backend_line, file=sys.stderr)
    extra = "".join(f", {n:,} {what}" for n, what in (
        (totals["blank"], "blank lines skipped"), (totals["skipped"], "invalid lines skipped")) if n)
    print(f"presigned {count:,} URLs in {elapsed:.2f} s: {count / max(elapsed, 1e-9):,.0f} URLs/s, "
          f"expiring {job.expires_text}{extra}", file=sys.stderr)
    if sample and args.example:
        print(f"sample: {sample[0][1]}", file=sys.stderr)
    if sample:
        mismatches = _check_sample(sample, job)
        print(f"checked {len(sample)} sampled URLs against the pure-Python reference: "
              f"{'all match' if not mismatches else f'{mismatches} MISMATCHES'}", file=sys.stderr)
        rejected = 0
        if not args.timestamp:
            rejected = _verify_sample(sample, job)
            print(f"verified {len(sample)} sampled URLs with fastsig.Verifier: "
                  f"{'all valid' if not rejected else f'{rejected} REJECTED'}", file=sys.stderr)
        if mismatches or rejected:
            return 1
    return 0


# --------------------------------------------------------------------------------- sign

def _headers(items: List[str]) -> List[Tuple[str, str]]:
    headers = []
    for item in items:
        name, colon, value = item.partition(":")
        if not colon or not name.strip():
            raise UsageError(f"-H {item!r}: expected 'Name: value'")
        headers.append((name.strip(), value.strip()))
    return headers


def _body(data: Optional[str]) -> Optional[bytes]:
    if data is None:
        return None
    if data.startswith("@"):
        path = data[1:]
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as handle:
            return handle.read()
    return data.encode()


_SCHEMES = ("http", "https", "ws", "wss")


def _url_scope(args: argparse.Namespace) -> Tuple[str, str]:
    """(service, region) of ``args.url``: --service and --region, else what the host names
    (``fastsig.infer_scope``), else the default region."""
    try:
        parts = urlsplit(args.url)
        host = parts.hostname
    except ValueError:
        host = None
    if host is None or parts.scheme.lower() not in _SCHEMES:
        raise UsageError("URL must be absolute: https://host/path (http, https, ws or wss)")
    guessed_service, guessed_region = infer_scope(host)
    service = args.service or guessed_service
    if service is None:
        raise UsageError(f"cannot tell the service from {host!r}: pass --service")
    region = args.region or guessed_region or default_region(args.profile)
    if region is None:
        raise UsageError(f"cannot tell the region from {host!r}: pass --region")
    return service, region


def sign_command(args: argparse.Namespace) -> int:
    service, region = _url_scope(args)
    credentials = _credentials(args)
    signer = Signer(credentials, region, service, unsigned_payload=args.unsigned_payload)
    body = _body(args.data)
    signed = signer.sign(args.method.upper(), args.url, _headers(args.header), body)
    token = credentials.session_token

    def shown(value: str) -> str:
        # The session token is a secret: point at the variable that holds it instead.
        return value.replace(token, "$AWS_SESSION_TOKEN") if token else value

    if args.explain:
        print("# canonical request")
        print(shown(signed.canonical_request))
        print("\n# string to sign")
        print(signed.string_to_sign)
        print(f"\n# signature\n{signed.signature}")
        return 0
    if args.curl:
        words = ["curl", "-X", signed.method]
        for name, value in signed.headers.items():
            if token and token in value:
                words += ["-H", f'"{name}: ${{AWS_SESSION_TOKEN}}"']
            else:
                words += ["-H", shlex.quote(f"{name}: {value}")]
        if args.data is not None:
            source = args.data[1:] if args.data.startswith("@") else None
            words += ["--data-binary", shlex.quote("@" + source) if source and source != "-"
                      else shlex.quote(body.decode("utf-8", "replace") if body else "")]
        words.append(shlex.quote(signed.url))
        print(" ".join(words))
        return 0
    for name, value in signed.headers.items():
        print(f"{name}: {shown(value)}")
    return 0


def bench_command(args: argparse.Namespace) -> int:
    from .bench import interleaved

    return interleaved.run(args)


def verify_command(args: argparse.Namespace) -> int:
    # A presigned URL names its scope itself; the host (or --region/--service) says which
    # scope it must name, so a URL signed for another region or service is invalid.
    try:
        host = urlsplit(args.url).hostname
    except ValueError:
        host = None
    if host is None:
        raise UsageError("URL must be absolute: https://host/path?X-Amz-... (http, https, ws or wss)")
    service, region = infer_scope(host)
    credentials = _credentials(args)
    verifier = Verifier({credentials.access_key_id: credentials}.get,
                        region=args.region or region, service=args.service or service)
    try:
        verified = verifier.verify(args.method, args.url)
    except VerificationError as error:
        print(f"invalid: {error.code}: {error}")
        return 1
    expires = verified.expires_at
    print(f"valid: {verified.access_key_id} {verified.region}/{verified.service}, signed "
          f"{verified.signed_at.isoformat()}"
          + (f", expires {expires.isoformat()}" if expires is not None else ""))
    return 0


# The rule at stake where two canonical requests first differ, by part.
_RULES = {
    "method": "the method, uppercase as sent",
    "path encoding": "S3 encodes the path once (a raw '+' is a space, %2B a plus); other "
                     "services encode it twice and remove dot segments and repeated slashes",
    "query order": "parameters are sorted by encoded name, then value",
    "query encoding": "names and values are percent-encoded (RFC 3986 unreserved kept, "
                      "'+' and space as %2B and %20), each once",
    "header trimming": "values lose leading and trailing spaces, and inner runs of spaces "
                       "become one",
    "header value": "a signed header's value as sent",
    "a header not signed": "SignedHeaders lists every header signed: host, and every x-amz-* "
                           "header but x-amz-content-sha256",
    "the payload hash": "the body's SHA-256 in lowercase hex, x-amz-content-sha256's value "
                        "when sent (UNSIGNED-PAYLOAD, STREAMING-...)",
}


def _first_difference(client: List[str], ours: List[str]) -> Optional[Tuple[str, int, str, str]]:
    """(rule, line number, client's line, verifier's line) of the first difference."""
    def parts(lines: List[str]) -> Tuple[List[str], List[str], List[str]]:
        # method, path, query; the header lines; the signed list and payload
        end = lines.index("", 3) if "" in lines[3:] else len(lines) - 2
        return lines[:3], lines[3:end], lines[end + 1:]

    (c_head, c_headers, c_tail), (o_head, o_headers, o_tail) = parts(client), parts(ours)
    for number, (mine, theirs) in enumerate(zip(c_head, o_head)):
        if mine != theirs:
            if number == 2:
                same = sorted(mine.split("&")) == sorted(theirs.split("&"))
                return ("query order" if same else "query encoding"), 3, mine, theirs
            return ("method", "path encoding")[number], number + 1, mine, theirs
    c_names = [line.partition(":")[0] for line in c_headers]
    o_names = [line.partition(":")[0] for line in o_headers]
    if c_names != o_names:
        missing = [n for n in o_names if n not in c_names] + [n for n in c_names if n not in o_names]
        return "a header not signed", 4, ";".join(c_names), ";".join(o_names) + (
            f"  (differs in: {', '.join(missing)})" if missing else "")
    for number, (mine, theirs) in enumerate(zip(c_headers, o_headers)):
        if mine != theirs:
            squeeze = " ".join(mine.partition(":")[2].split())
            rule = "header trimming" if squeeze == theirs.partition(":")[2] else "header value"
            return rule, 4 + number, mine, theirs
    for number, (mine, theirs) in enumerate(zip(c_tail, o_tail)):
        if mine != theirs:
            rule = "a header not signed" if number == 0 else "the payload hash"
            return rule, 5 + len(c_headers) + number, mine, theirs
    if len(client) != len(ours):
        return "the payload hash", min(len(client), len(ours)) + 1, "", ""
    return None


def explain_command(args: argparse.Namespace) -> int:
    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError("URL must be absolute: https://host/path")
    guessed_service, guessed_region = infer_scope(parts.hostname)
    client = None
    if args.canonical_request is not None:
        client = (sys.stdin.read() if args.canonical_request == "-"
                  else open(args.canonical_request, encoding="utf-8").read())
        client = client.replace("\r\n", "\n").rstrip("\n")
    headers = _headers(args.header)
    names = {name.lower() for name, _ in headers}
    credentials = _credentials(args)
    signed_by_client = "authorization" in names or "X-Amz-Signature=" in (parts.query or "")
    credential = re.search(r"Credential=([^/,&]+)(?:/|%2F)(\d{8})(?:/|%2F)([^/,&%]+)"
                           r"(?:/|%2F)([^/,&%]+)",
                           " ".join(v for _, v in headers) + " " + (parts.query or ""))
    service = args.service or (credential.group(4) if credential else guessed_service)
    region = args.region or (credential.group(3) if credential else guessed_region) or \
        default_region(args.profile)
    if service is None or region is None:
        raise UsageError(f"cannot tell the service or region from {parts.hostname!r}: "
                         "pass --service and --region")
    amz_date = next((v.strip() for n, v in headers if n.lower() == "x-amz-date"), None)
    found = re.search(r"X-Amz-Date=(\d{8}T\d{6}Z)", parts.query or "")
    if amz_date is None and client is not None:
        found = found or re.search(r"^x-amz-date:(\d{8}T\d{6}Z)$", client, re.MULTILINE)
    amz_date = amz_date or (found.group(1) if found else time.strftime("%Y%m%dT%H%M%SZ",
                                                                        time.gmtime()))
    if not signed_by_client:
        # Sign nothing: the verifier computes its canonical request for the signed headers
        # the client's canonical request lists, and refuses the made-up signature.
        if client is None:
            raise UsageError("give --canonical-request FILE, or the request as sent, with its "
                             "Authorization header (curl -v shows it)")
        signed_list = client.split("\n")[-2] if client.count("\n") >= 2 else "host"
        if "x-amz-date" not in names:
            headers.append(("X-Amz-Date", amz_date))
        headers.append(("Authorization", f"AWS4-HMAC-SHA256 Credential={credentials.access_key_id}/"
                        f"{amz_date[:8]}/{region}/{service}/aws4_request, "
                        f"SignedHeaders={signed_list}, Signature={'0' * 64}"))
        if credentials.session_token and "x-amz-security-token" in signed_list.split(";"):
            if "x-amz-security-token" not in names:
                headers.append(("X-Amz-Security-Token", credentials.session_token))
    if "host" not in names:
        headers.append(("Host", parts.netloc))
    epoch = parse_amz_date(amz_date) or time.time()
    verifier = Verifier({credentials.access_key_id: credentials}.get, debug_errors=True,
                        clock=lambda: epoch)
    target = args.url.split("://", 1)[1]
    target = target[target.find("/"):] if "/" in target else "/"
    try:
        verifier.verify(args.method.upper(), target, headers, _body(args.data))
    except VerificationError as error:
        details = dict(error.details)
        ours = details.get("CanonicalRequest")
        if ours is None:
            rule = {"UnsignedHeaderError": "a header not signed",
                    "PayloadHashMismatchError": "the payload hash"}.get(type(error).__name__)
            if str(error).startswith("signed header "):  # listed, but not in the request
                rule = "a header not signed"
            print(f"refused before the signature: {error.code}: {error}")
            if rule:
                print(f"rule: {rule}: {_RULES[rule]}")
            return 1
    else:
        print("valid: the request's signature checks out")
        return 0
    if client is None:
        print(f"the signature does not match; the verifier's canonical request:\n{ours}")
        print(f"\nstring to sign:\n{details['StringToSign']}")
        return 1
    token = credentials.session_token
    if token:  # hidden in the verifier's, so in the client's too
        client = client.replace(token, "<hidden>").replace(quote(token, safe="-_.~"), "<hidden>")
    difference = _first_difference(client.split("\n"), ours.split("\n"))
    if difference is None:
        print("the canonical requests are the same: the difference is in the string to sign "
              "(date, scope) or the key")
        print(f"\nstring to sign:\n{details['StringToSign']}")
        return 1
    rule, number, mine, theirs = difference
    print(f"first difference: line {number}: {rule}")
    print(f"  client:   {mine!r}")
    print(f"  verifier: {theirs!r}")
    print(f"rule: {_RULES[rule]}")
    return 1


def _add_credentials(parser: argparse.ArgumentParser, example_help: str) -> None:
    group = parser.add_argument_group(
        "credentials", "default: the AWS CLI's chain (environment, profiles, container, "
        "instance metadata)")
    group.add_argument("--example", action="store_true", help=example_help)
    group.add_argument("--profile", help="a profile of ~/.aws/config and ~/.aws/credentials")
    group.add_argument("--access-key-id", help=argparse.SUPPRESS)
    group.add_argument("--secret-access-key", help=argparse.SUPPRESS)
    group.add_argument("--session-token", help=argparse.SUPPRESS)


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastsig", description="Fast AWS Signature Version 4 signing.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_examples("fastsig presign --example",
                         "fastsig presign keys.txt --bucket my-bucket --expires-in 12h -o urls.txt",
                         "fastsig sign GET 'https://sts.us-east-1.amazonaws.com/"
                         "?Action=GetCallerIdentity&Version=2011-06-15' --curl",
                         "fastsig bench --group 'presign S3 GET'")
        + "\n\nexit status: 0 ok, 1 failure, 2 usage error")
    parser.add_argument("--version", action="version", version=f"fastsig {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    presign = commands.add_parser(
        "presign", help="presign S3 URLs in bulk",
        description="Presign every key or URL of the input, in order, on every core.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_examples(
            "fastsig presign --example                       # 1,000,000 generated keys, example credentials",
            "fastsig presign keys.txt --bucket my-bucket -o urls.txt",
            "aws s3 ls s3://my-bucket --recursive | awk '{print $4}' | fastsig presign --bucket my-bucket",
            "fastsig presign urls.txt --method PUT --expires-in 15m",
            "fastsig presign inventory.csv.gz --format inventory --output-format csv",
            "fastsig presign listing.csv --column key --bucket b"
            " --param response-content-disposition=attachment",
            "fastsig presign objects.jsonl --field Key --bucket b --output-format jsonl",
            "fastsig presign big.iso --bucket b --upload-id \"$UPLOAD_ID\" --parts 40",
            "fastsig presign inventory/manifest.json --format inventory   # CSV, Parquet or ORC"))
    presign.add_argument("input", nargs="?",
                         help="file of keys or URLs (gzip too); '-' or none: standard input "
                              "(none with --example: a generated listing)")
    presign.add_argument("--format", choices=["lines", "csv", "tsv", "jsonl", "inventory", "parquet"],
                         help="input format (default: by extension, else one entry per line); "
                              "inventory: an S3 Inventory report, CSV, Parquet or ORC (told "
                              "apart by their content), or its manifest.json; parquet: a "
                              "column of a Parquet file (--column, default 'key')")
    presign.add_argument("--column", help="CSV/TSV column: a header name, or a number from 1 "
                                          "(default 1); Parquet: a column name (default 'key')")
    presign.add_argument("--header", action="store_true",
                         help="the CSV/TSV input's first row is a header (implied by a named --column)")
    presign.add_argument("--field", default="key", help="JSON Lines field (default 'key')")
    presign.add_argument("--skip-invalid", action="store_true",
                         help="skip and count lines that are not UTF-8 or not usable, instead of "
                              "stopping at the first")
    target = presign.add_argument_group("target")
    target.add_argument("--bucket", help="the input holds keys of this bucket (without it: full URLs)")
    target.add_argument("--region", help="the keys' region; for URLs, the region of hosts that "
                                         "name none, and a URL whose host names another is an "
                                         "error (default: AWS_REGION, AWS_DEFAULT_REGION, the "
                                         "profile, us-east-1)")
    target.add_argument("--service", help="for URLs: the service of hosts that name none, and "
                                          "a URL whose host names another is an error")
    target.add_argument("--path-style", action="store_true",
                        help="https://s3.REGION.amazonaws.com/BUCKET/KEY instead of virtual-hosted")
    target.add_argument("--endpoint-url", help="an S3-compatible endpoint, such as http://127.0.0.1:9000")
    target.add_argument("--dualstack", action="store_true", help="the IPv4/IPv6 endpoints")
    target.add_argument("--method", choices=["GET", "PUT", "HEAD", "DELETE"],
                        help="default GET")
    target.add_argument("--expires-in", type=parse_expires, default=3600,
                        help="1 s to 7 days: 3600, 15m, 12h, 7d (default 3600)")
    target.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="an extra signed query parameter (repeatable), such as "
                             "response-content-disposition=attachment")
    target.add_argument("--timestamp", help="sign as of this time (YYYYMMDDTHHMMSSZ) instead of now")
    target.add_argument("--upload-id", help="with --parts N and the object's KEY as the input: "
                                            "the PUT URLs of parts 1..N of this multipart upload")
    target.add_argument("--parts", type=int, help="the number of parts, 1..10000 (with --upload-id)")
    output = presign.add_argument_group("output")
    output.add_argument("-o", "--output", help="write here instead of standard output")
    output.add_argument("--output-format", choices=["lines", "csv", "jsonl", "parquet"], default="lines",
                        help="lines: URLs only (default); csv/jsonl: key, url, expires; "
                             "parquet (implied by -o X.parquet): the input's columns plus url")
    output.add_argument("--workers", type=int, default=0,
                        help=f"processes (default: the number of cores, {os.cpu_count()})")
    output.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary")
    output.add_argument("--count", type=int, default=1_000_000,
                        help="with --example and no input: keys to generate (default 1,000,000)")
    _add_credentials(presign, "the AWS documentation's example credentials (no account); "
                              "without an input, a generated listing")
    presign.set_defaults(run=presign_command)

    sign = commands.add_parser(
        "sign", help="sign one request and print its headers",
        description="Sign one request in the Authorization header. Service and region come "
                    "from the host name when it is an AWS endpoint. The session token is "
                    "never printed: output refers to $AWS_SESSION_TOKEN instead.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_examples(
            "fastsig sign GET https://sqs.eu-west-1.amazonaws.com/?Action=ListQueues",
            "fastsig sign PUT https://my-bucket.s3.us-west-2.amazonaws.com/a.txt -d @a.txt --curl | sh",
            "fastsig sign POST https://dynamodb.us-east-1.amazonaws.com/ -H 'X-Amz-Target: "
            "DynamoDB_20120810.ListTables' -H 'Content-Type: application/x-amz-json-1.0' -d '{}' --explain"))
    sign.add_argument("method", help="GET, PUT, POST...")
    sign.add_argument("url")
    sign.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'")
    sign.add_argument("-d", "--data", help="the body, or @FILE (@- for standard input)")
    sign.add_argument("--region")
    sign.add_argument("--service")
    sign.add_argument("--unsigned-payload", action="store_true")
    mode = sign.add_mutually_exclusive_group()
    mode.add_argument("--curl", action="store_true", help="print a curl command line")
    mode.add_argument("--explain", action="store_true",
                      help="print the canonical request and the string to sign")
    _add_credentials(sign, "the AWS documentation's example credentials")
    sign.set_defaults(run=sign_command)

    verify = commands.add_parser(
        "verify", help="check a presigned URL",
        description="Check a presigned URL with fastsig.Verifier. Exit status: 0 valid, "
                    "1 invalid, 2 usage.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_examples("fastsig verify --example 'https://examplebucket.s3.us-east-1."
                         "amazonaws.com/k?X-Amz-Algorithm=...'"))
    verify.add_argument("url", help="the presigned URL")
    verify.add_argument("--method", default="GET", help="the HTTP method it will be used with")
    verify.add_argument("--region", help="require this region in the credential scope "
                                         "(default: the one the host names, if any)")
    verify.add_argument("--service", help="require this service in the credential scope "
                                          "(default: the one the host names, if any)")
    _add_credentials(verify, "check against the AWS documentation's example credentials")
    verify.set_defaults(run=verify_command)

    explain = commands.add_parser(
        "explain", help="find why a client's signature does not match",
        description="Compare a client's canonical request with the one fastsig's verifier "
                    "computes for the request, and name the first difference and the rule at "
                    "stake. Or give the request as sent, with its Authorization header (as "
                    "curl -v shows it). The session token is never shown. Exit status: 0 "
                    "the same (or valid), 1 a difference, 2 usage.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_examples(
            "fastsig explain GET 'https://b.s3.us-east-1.amazonaws.com/a+b?x=1' "
            "-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' --canonical-request creq.txt",
            "fastsig explain POST https://search.example.com/i/_search --service es "
            "-H 'Authorization: AWS4-HMAC-SHA256 ...' -H 'X-Amz-Date: ...' -d @body.json"))
    explain.add_argument("method")
    explain.add_argument("url")
    explain.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'")
    explain.add_argument("-d", "--data", help="the body, or @FILE (@- for standard input)")
    explain.add_argument("--canonical-request", metavar="FILE",
                         help="the client's canonical request ('-': standard input)")
    explain.add_argument("--region")
    explain.add_argument("--service")
    _add_credentials(explain, "the AWS documentation's example credentials")
    explain.set_defaults(run=explain_command)

    from .bench.interleaved import add_arguments

    bench = commands.add_parser(
        "bench", help="compare fastsig with the signers installed here",
        description="Side by side, interleaved rounds against botocore, awscrt and "
                    "requests-aws4auth (whichever are installed); prints ratio tables.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_examples("fastsig bench", "fastsig bench --rounds 5 --group 'presign S3 GET'"))
    add_arguments(bench)
    bench.set_defaults(run=bench_command)
    _cli_credentials.add_commands(commands, UsageError)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:
        # The reader went away (| head): stop quietly, and keep Python's exit-time flush of
        # stdout from complaining.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        return 130
    except UsageError as exc:
        parser.exit(2, f"fastsig: {exc}\n")
    except (FastsigError, _bulk.InputError, _bulk.WorkerError, OSError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"fastsig: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - one clear line, the traceback only with --debug
        if args.debug:
            traceback.print_exc()
        print(f"fastsig: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
