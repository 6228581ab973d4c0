"""The command line's bulk presign, end to end: keys from a file, URLs to a file.

    python benchmarks/cli_bulk.py [--keys 10000000] [--workers 2]

Measures, each as its own ``fastsig presign`` process (the real CLI, example credentials):
the wall time and URLs/s with ``--workers N``, the peak memory (max RSS) of the main process
and of the largest worker, and the rate with one worker against ``presign_many`` in-process on
the same keys (issue 4's targets: 10M keys with 2 workers in <= 12 s, <= 64 MB per process,
one worker >= 80% of ``presign_many``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

BUCKET = "examplebucket"


def write_keys(path: str, count: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        block = 100_000
        for start in range(0, count, block):
            handle.write("".join(f"photos/{2000 + i % 25}/img {i:08d}.jpg\n"
                                 for i in range(start, min(count, start + block))))


def run_cli(keys: str, out: str, workers: int) -> tuple:
    """(wall seconds, max RSS of the main process in MB, max RSS of any worker in MB)."""
    script = (
        "import resource, sys, runpy\n"
        "sys.argv = ['fastsig'] + sys.argv[1:]\n"
        "try:\n"
        "    runpy.run_module('fastsig', run_name='__main__')\n"
        "finally:\n"
        "    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "    print(f'RSS {own} {kids}', file=sys.stderr)\n"
    )
    if os.path.exists(out):
        os.remove(out)  # truncating gigabytes would be timed too
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script, "presign", keys, "--example", "--bucket", BUCKET,
         "--workers", str(workers), "-o", out, "--quiet"],
        capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    own, kids = (int(x) for x in done.stderr.strip().splitlines()[-1].split()[1:])
    return wall, own / 1024, kids / 1024


def in_process_rate(keys: str, limit: int) -> float:
    """presign_many's rate on the same URLs, already in memory, in one process."""
    from fastsig import Signer
    from fastsig.cli import EXAMPLE_CREDENTIALS

    signer = Signer(EXAMPLE_CREDENTIALS, "us-east-1", "s3")
    prefix = f"https://{BUCKET}.s3.us-east-1.amazonaws.com/"
    with open(keys, encoding="utf-8") as handle:
        urls = [prefix + line.rstrip("\n") for _, line in zip(range(limit), handle)]
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for i in range(0, len(urls), 8192):
            signer.presign_many("GET", urls[i:i + 8192])
        best = min(best, time.perf_counter() - started)
    return len(urls) / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()

    import fastsig

    keys = os.path.join(args.dir, f"fastsig-keys-{args.keys}.txt")
    if not os.path.exists(keys):
        write_keys(keys, args.keys)
    out = os.path.join(args.dir, "fastsig-urls.txt")
    print(f"fastsig {fastsig.__version__} ({fastsig.backend}), {os.cpu_count()} cores, "
          f"{args.keys:,} keys ({os.path.getsize(keys) / 1e6:,.0f} MB)")
    try:
        wall, own, kids = run_cli(keys, out, args.workers)
        print(f"--workers {args.workers}: {wall:.2f} s wall, {args.keys / wall:,.0f} URLs/s, "
              f"output {os.path.getsize(out) / 1e9:.2f} GB; peak RSS main {own:.0f} MB, "
              f"largest worker {kids:.0f} MB")
        one = min(args.keys, 2_000_000)
        small = os.path.join(args.dir, f"fastsig-keys-{one}.txt")
        if not os.path.exists(small):
            write_keys(small, one)
        wall1, own1, _ = run_cli(small, out, 1)
        cli_rate = one / wall1
        rate = in_process_rate(small, one)
        print(f"--workers 1 on {one:,} keys: {cli_rate:,.0f} URLs/s (process start included), "
              f"peak RSS {own1:.0f} MB; presign_many in-process {rate:,.0f} URLs/s: "
              f"{cli_rate / rate:.0%}")
    finally:
        if os.path.exists(out):
            os.remove(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
