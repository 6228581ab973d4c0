"""The command line: ``fastsig presign --example`` (the main job) and ``fastsig verify``.

The full tool (key lists, CSV, S3 Inventory, workers, progress) is issue 4; this module is where
it grows.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from typing import Iterator, List, Optional

from . import __version__, _backend
from ._errors import VerificationError
from .credentials import Credentials
from .signer import Signer
from .verifier import Verifier

# The example credentials of the AWS documentation: they sign, but open nothing.
EXAMPLE_CREDENTIALS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
CHUNK = 10_000


def example_keys(count: int) -> Iterator[str]:
    """A generated bucket listing: nested prefixes, spaces, a few non-ASCII names."""
    names = ["img", "report final", "café", "data", "log"]
    for i in range(count):
        yield f"photos/{2000 + i % 25}/{names[i % 5]} {i:07d}.jpg"


def _chunks(keys: Iterator[str], base: str) -> Iterator[List[str]]:
    chunk: List[str] = []
    for key in keys:
        chunk.append(base + key)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _check_sample(urls: List[str], signer_args, timestamp: int, expires_in: int) -> int:
    """Recompute a sample from scratch on the pure-Python reference."""
    with _backend.using("python"):
        reference = Signer(*signer_args)
    mismatches = 0
    for url in urls:
        unsigned = url.split("?", 1)[0]
        if reference.presign("GET", unsigned, expires_in=expires_in, timestamp=timestamp) != url:
            mismatches += 1
    return mismatches


def _verify_sample(urls: List[str], credentials: Credentials) -> int:
    """Check a sample with the verifier: the other side of what was signed."""
    verifier = Verifier({credentials.access_key_id: credentials}.get)
    failures = 0
    for url in urls:
        try:
            verifier.verify("GET", url)
        except VerificationError:
            failures += 1
    return failures


def presign_command(args: argparse.Namespace) -> int:
    if not args.example:
        print("fastsig: only --example is available so far (see issue 4)", file=sys.stderr)
        return 2
    signer_args = (EXAMPLE_CREDENTIALS, args.region, "s3")
    signer = Signer(*signer_args)
    base = f"https://{args.bucket}.s3.{args.region}.amazonaws.com/"
    timestamp = int(time.time())
    out = open(args.output, "w", encoding="utf-8") if args.output else None
    rng = random.Random(0)
    sample: List[str] = []
    count = 0
    started = time.perf_counter()
    try:
        for chunk in _chunks(example_keys(args.count), base):
            urls = signer.presign_many("GET", chunk, expires_in=args.expires_in, timestamp=timestamp)
            count += len(urls)
            if out is not None:
                out.write("\n".join(urls))
                out.write("\n")
            sample.append(urls[rng.randrange(len(urls))])
    finally:
        if out is not None:
            out.close()
    elapsed = time.perf_counter() - started
    backend = _backend.backend
    note = "" if backend == "cython" else (
        " (pure-Python path: the compiled core is not built, or FASTSIG_NO_EXTENSIONS is set)")
    print(f"fastsig {__version__}, {backend} backend{note}", file=sys.stderr)
    print(f"presigned {count:,} URLs in {elapsed:.2f} s: {count / elapsed:,.0f} URLs/s",
          file=sys.stderr)
    if sample:
        print(f"sample: {sample[0]}", file=sys.stderr)
        mismatches = _check_sample(sample[:100], signer_args, timestamp, args.expires_in)
        print(f"checked {min(len(sample), 100)} sampled URLs against the pure-Python reference: "
              f"{'all match' if not mismatches else f'{mismatches} MISMATCHES'}", file=sys.stderr)
        rejected = _verify_sample(sample[:100], EXAMPLE_CREDENTIALS)
        print(f"verified {min(len(sample), 100)} sampled URLs with fastsig.Verifier: "
              f"{'all valid' if not rejected else f'{rejected} REJECTED'}", file=sys.stderr)
        if mismatches or rejected:
            return 1
    return 0


def _environment_credentials() -> Optional[Credentials]:
    key = os.environ.get("AWS_ACCESS_KEY_ID")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        return None
    token = os.environ.get("AWS_SESSION_TOKEN") or os.environ.get("AWS_SECURITY_TOKEN")
    return Credentials(key, secret, token or None)


def verify_command(args: argparse.Namespace) -> int:
    credentials = EXAMPLE_CREDENTIALS if args.example else _environment_credentials()
    if credentials is None:
        print("fastsig: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
              "or pass --example", file=sys.stderr)
        return 2
    verifier = Verifier({credentials.access_key_id: credentials}.get, region=args.region,
                        service=args.service)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fastsig", description="Fast AWS SigV4 signing.")
    parser.add_argument("--version", action="version", version=f"fastsig {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    presign = commands.add_parser(
        "presign", help="presign S3 URLs in bulk",
        epilog="example: fastsig presign --example --count 1000000 -o urls.txt",
    )
    presign.add_argument("--example", action="store_true",
                         help="presign a generated listing with the AWS documentation's example "
                              "credentials (no account, no network)")
    presign.add_argument("--count", type=int, default=1_000_000, help="keys to generate")
    presign.add_argument("--bucket", default="examplebucket")
    presign.add_argument("--region", default="us-east-1")
    presign.add_argument("--expires-in", type=int, default=3600)
    presign.add_argument("-o", "--output", help="write the URLs to this file")
    presign.set_defaults(run=presign_command)
    verify = commands.add_parser(
        "verify", help="check a presigned URL",
        epilog="example: fastsig verify --example 'https://examplebucket.s3.us-east-1."
               "amazonaws.com/k?X-Amz-Algorithm=...'\n\nWithout --example the key comes from "
               "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN). Exit status: "
               "0 valid, 1 invalid, 2 usage.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("url", help="the presigned URL")
    verify.add_argument("--method", default="GET", help="the HTTP method it will be used with")
    verify.add_argument("--example", action="store_true",
                        help="check against the AWS documentation's example credentials")
    verify.add_argument("--region", help="require this region in the credential scope")
    verify.add_argument("--service", help="require this service in the credential scope")
    verify.set_defaults(run=verify_command)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # one clear line, no traceback
        print(f"fastsig: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
