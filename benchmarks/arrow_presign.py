"""Column-at-a-time presigning (fastsig.arrow) against the per-URL API, and Parquet to Parquet
on the command line and on the engines (issue 27's targets: >= 1.5x presign_many on one core;
10M keys Parquet to Parquet with 2 workers in <= 10 s and <= 64 MB per process beyond the Arrow
buffers).

    python benchmarks/arrow_presign.py single  [--keys 200000] [--rounds 7]
    python benchmarks/arrow_presign.py parquet [--rows 10000000] [--workers 2]
    python benchmarks/arrow_presign.py engines [--rows 2000000]

``single``: one process, one core, contenders interleaved round by round, distinct keys with an
odd one (%, +, #, ?, spaces, unicode, emoji) in every 1,000, a ``datetime`` timestamp as
botocore passes it, every result kept until the next round; medians with their min-max.
``parquet``: the CLI as a user runs it, wall time and the largest resident set of its
processes (the CLI and its workers). ``engines``: the same Parquet file presigned by Spark
``local[2]`` (mapInArrow) and a Dask LocalCluster of 2 worker processes, beside the CLI with 2
workers; each engine's overhead is its time minus the CLI's.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ODD = ["50% off", "a+b=c", "tag#1", "what?", "two  spaces", "café ☃", "😀 emoji"]
WHEN = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=datetime.timezone.utc)
HERE = os.path.dirname(os.path.abspath(__file__))


def make_keys(count):
    return [f"{ODD[i // 1000 % len(ODD)]} {i}.txt" if i % 1000 == 500
            else f"photos/2024/img {i:07d}.jpg" for i in range(count)]


def single(args):
    import pyarrow

    import fastsig
    from fastsig import Credentials, Signer, arrow
    from fastsig._key_urls import quote_key

    signer = Signer(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                    "eu-west-1", "s3")
    keys = make_keys(args.keys)
    prefix = "https://my-bucket.s3.eu-west-1.amazonaws.com/"
    urls = [prefix + quote_key(key) for key in keys]
    column = pyarrow.array(keys, pyarrow.string())
    contenders = {
        "fastsig.arrow.presign (Arrow keys -> Arrow URLs)":
            lambda: arrow.presign(signer, column, bucket="my-bucket", timestamp=WHEN),
        "Signer.presign_many (list of URLs -> list of str)":
            lambda: signer.presign_many("GET", urls, timestamp=WHEN),
        "Signer.presign_keys (list of keys -> list of str)":
            lambda: signer.presign_keys("my-bucket", keys, timestamp=WHEN),
    }
    times = {name: [] for name in contenders}
    cpu = {name: [] for name in contenders}  # CPU time: what a shared machine's load spares
    kept = {}
    for _ in range(args.rounds):
        for name, run in contenders.items():
            kept.pop(name, None)  # the last round's results live until this one's start
            start, start_cpu = time.perf_counter(), time.process_time()
            kept[name] = run()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    check = pyarrow.array(kept[next(iter(contenders))]).to_pylist()
    assert check == kept["Signer.presign_keys (list of keys -> list of str)"]
    rates = {name: [args.keys / t for t in ts] for name, ts in times.items()}
    cpu_rates = {name: [args.keys / t for t in ts] for name, ts in cpu.items()}
    base = statistics.median(rates["Signer.presign_many (list of URLs -> list of str)"])
    cpu_base = statistics.median(cpu_rates["Signer.presign_many (list of URLs -> list of str)"])
    print(f"fastsig {fastsig.__version__}, {fastsig.backend} backend, Python "
          f"{sys.version.split()[0]}, pyarrow {pyarrow.__version__}; {args.keys:,} distinct keys, "
          f"1 in 1,000 odd, datetime timestamp, {args.rounds} interleaved rounds, results kept")
    print(f"{'contender':52s} {'URLs/s (median)':>16s} {'min-max':>21s} {'vs presign_many':>16s}"
          f" {'per CPU second':>15s} {'vs presign_many':>16s}")
    result = {}
    for name, values in rates.items():
        median = statistics.median(values)
        cpu_median = statistics.median(cpu_rates[name])
        result[name] = {"median": median, "min": min(values), "max": max(values),
                        "cpu_median": cpu_median}
        print(f"{name:52s} {median:16,.0f} {min(values):10,.0f}-{max(values):<10,.0f} "
              f"{median / base:15.2f}x {cpu_median:15,.0f} {cpu_median / cpu_base:15.2f}x")
    return result


def make_parquet(path, rows):
    import pyarrow
    import pyarrow.parquet as parquet

    if os.path.exists(path):
        return
    writer = None
    step = 1_000_000
    for start in range(0, rows, step):
        keys = [f"{ODD[i // 1000 % len(ODD)]} {i}.txt" if i % 1000 == 500
                else f"photos/2024/img {i:08d}.jpg" for i in range(start, min(rows, start + step))]
        table = pyarrow.table({"key": keys, "size": pyarrow.array(
            range(start, start + len(keys)), pyarrow.int64())})
        if writer is None:
            writer = parquet.ParquetWriter(path + ".tmp", table.schema)
        writer.write_table(table, row_group_size=256_000)
    writer.close()
    os.replace(path + ".tmp", path)


def run_cli(source, out, workers):
    """(wall seconds, the largest resident set of its processes in KiB or None if no larger
    than an earlier run's, CPU seconds of all its processes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fastsig", "presign", source, "--bucket", "my-bucket",
                    "--region", "eu-west-1", "--example", "--workers", str(workers),
                    "-o", out, "-q"], check=True, cwd=tempfile.gettempdir())
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    peak = after.ru_maxrss
    return elapsed, peak if peak > before.ru_maxrss else None, cpu


def baseline_rss():
    """The resident set of a Python that imported fastsig, pyarrow and pyarrow.parquet: what
    every process of the CLI holds before it reads a row."""
    code = ("import resource, fastsig, fastsig.arrow, pyarrow, pyarrow.parquet;"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout)


def make_parquet_apart(source, rows):
    """make_parquet in a process of its own: a child's peak resident set counts its parent's
    at fork, so this measuring process must stay small."""
    subprocess.run([sys.executable, __file__, "make", "--rows", str(rows), "--folder",
                    os.path.dirname(source)], check=True)


def parquet_part(args):
    folder = args.folder or tempfile.gettempdir()
    source = os.path.join(folder, f"fastsig-bench-{args.rows}.parquet")
    make_parquet_apart(source, args.rows)
    out = os.path.join(folder, "fastsig-bench-urls.parquet")
    runs = [run_cli(source, out, args.workers) for _ in range(args.rounds)]
    seconds = [r[0] for r in runs]
    cpu = [r[2] for r in runs]
    peak_kib = max(r[1] or 0 for r in runs)
    base = baseline_rss()
    print(f"Parquet to Parquet: {args.rows:,} keys (+ a size column), {args.workers} workers, "
          f"{args.rounds} runs: median {statistics.median(seconds):.2f} s "
          f"(min-max {min(seconds):.2f}-{max(seconds):.2f}), "
          f"{args.rows / statistics.median(seconds):,.0f} URLs/s; CPU time of all its "
          f"processes: median {statistics.median(cpu):.2f} s "
          f"(min-max {min(cpu):.2f}-{max(cpu):.2f})")
    print(f"largest resident set of the CLI's processes: {peak_kib / 1024:.0f} MB; a process "
          f"that only imported fastsig and pyarrow: {base / 1024:.0f} MB; beyond it: "
          f"{(peak_kib - base) / 1024:.0f} MB (of which Arrow buffers: the batches in flight)")
    os.unlink(out)
    return {"rows": args.rows, "workers": args.workers, "seconds": seconds, "cpu": cpu,
            "peak_rss_mb": peak_kib / 1024, "baseline_rss_mb": base / 1024}


def engines_part(args):
    folder = args.folder or tempfile.gettempdir()
    source = os.path.join(folder, f"fastsig-bench-{args.rows}.parquet")
    make_parquet_apart(source, args.rows)
    out = os.path.join(folder, "fastsig-bench-urls.parquet")
    cli, _, cli_cpu = run_cli(source, out, 2)
    os.unlink(out)
    print(f"{args.rows:,} keys, Parquet to Parquet (wall; CPU of all processes)")
    print(f"  CLI, 2 workers:                        {cli:7.2f} s   CPU {cli_cpu:7.2f} s")
    code = os.path.join(HERE, "arrow_presign_engines.py")
    for engine in ("dask", "spark"):
        done = subprocess.run([sys.executable, code, engine, source, folder],
                              capture_output=True, text=True, cwd=tempfile.gettempdir())
        if done.returncode:
            print(f"  {engine}: failed: {done.stderr.strip().splitlines()[-1]}")
            continue
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"  {engine:6s} start:                         {figures['start']:7.2f} s")
        print(f"  {engine:6s} run (read, presign, write):    {figures['run']:7.2f} s   "
              f"CPU {figures['cpu']:7.2f} s   overhead vs the CLI: {figures['run'] - cli:+.2f} "
              f"s wall, {figures['cpu'] - cli_cpu:+.2f} s CPU ({figures['overhead']})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["single", "parquet", "engines", "make"])
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--folder", help="where the Parquet files go (default: the temp dir)")
    args = parser.parse_args(argv)
    if args.part == "single":
        single(args)
    elif args.part == "parquet":
        args.rounds = min(args.rounds, 3)
        parquet_part(args)
    elif args.part == "make":
        make_parquet(os.path.join(args.folder or tempfile.gettempdir(),
                                  f"fastsig-bench-{args.rows}.parquet"), args.rows)
    else:
        engines_part(args)


if __name__ == "__main__":
    main()
