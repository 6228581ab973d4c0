"""``fastsig presign`` on plain keys against keys with a few odd ones, in CPU time.

    python benchmarks/cli_mixed.py [--keys 2000000] [--every 1000] [--rounds 3] [--workers 2]
                                   [--baseline DIR] [--step]

Two files of distinct keys like ``photos/2011/img 00000042.jpg``: all plain, and the same with
one key in ``--every`` holding what real listings hold (``%``, ``#``, ``?``, ``+``, CJK, an
emoji, a run of spaces, in turn). Each round runs ``fastsig presign --workers N`` once on each
file, the order alternating, and takes the CPU time (user + system, and user alone) of the CLI
process and all its workers (``os.wait4`` of the CLI, which waits for its workers) and the peak
RSS of the main process and of its largest worker. Prints the medians with their min-max
spread and the ratio mixed/plain of keys per CPU second (issue 24: >= 90%, <= 64 MB per
process). ``--baseline DIR`` runs the fastsig of another source tree (its extension built in
place, e.g. an export of ``main``) in the same interleaved rounds, for a before/after.
``--step`` times the workers' step alone instead (``_bulk.work`` on every 512 KiB block of the
file, read beforehand, in one process: its CPU time, without the kernel's page-cache copying
that makes the CLI's figures swing; the RSS then includes the whole file).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

BUCKET = "examplebucket"
# One odd key of each kind in turn; each stays distinct by the number it carries.
ODD = (
    "reports/100%/q{n}.csv",
    "docs/notes#{n}.txt",
    "search/what?{n}.html",
    "c++/lib{n}+x.o",
    "写真/東京/画像{n}.jpg",
    "emoji/\U0001f600 party {n}.png",
    "archive/old   file  {n}.txt",
)

WRAPPER = (
    "import resource, sys, runpy\n"
    "sys.argv = ['fastsig'] + sys.argv[1:]\n"
    "try:\n"
    "    runpy.run_module('fastsig', run_name='__main__')\n"
    "finally:\n"
    "    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "    print(f'RSS {own} {kids}', file=sys.stderr)\n"
)

# The children run from here: "python -c" puts its working directory first on sys.path, where
# a source tree's fastsig would shadow --baseline's.
CHILD_CWD = os.path.abspath(os.sep)
# --step: the workers' step on every block of the file, in one process.
STEP = (
    "import resource, sys, time\n"
    "from fastsig import _bulk\n"
    "from fastsig.cli import EXAMPLE_CREDENTIALS\n"
    "stamp = 1440938160\n"
    "_bulk._setup(_bulk.Job(credentials=EXAMPLE_CREDENTIALS, region='us-east-1', service=None,\n"
    "    method='GET', expires_in=3600, timestamp=stamp, input_format='lines', field='key',\n"
    "    bucket=sys.argv[1], path_style=False, endpoint_url=None, dualstack=False, query='',\n"
    "    output_format='lines', skip_invalid=False, expires_text=_bulk.expiry_text(stamp, 3600)))\n"
    "with open(sys.argv[2], 'rb') as handle:\n"
    "    blocks = list(_bulk.byte_blocks(handle))\n"
    "start = time.process_time()\n"
    "for block, line in blocks:\n"
    "    _bulk.work(block, line)\n"
    "took = time.process_time() - start\n"
    "print(f'RSS {took} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', file=sys.stderr)\n"
)


def write_keys(path: str, count: int, every: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        block = 100_000
        for start in range(0, count, block):
            lines = []
            for i in range(start, min(count, start + block)):
                if every and i % every == every // 2:
                    lines.append(ODD[(i // every) % len(ODD)].format(n=i))
                else:
                    lines.append(f"photos/{2000 + i % 25}/img {i:08d}.jpg")
            handle.write("\n".join(lines) + "\n")


def run_step(keys: str, tree: str = "") -> tuple:
    """(CPU seconds of the workers' step on every block, the same, max RSS MB, 0)."""
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = tree + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-c", STEP, BUCKET, keys], env=env,
                          capture_output=True, text=True, cwd=CHILD_CWD)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    seconds, rss = done.stderr.strip().splitlines()[-1].split()[1:]
    return float(seconds), float(seconds), int(rss) / 1024, 0


def run_cli(keys: str, out: str, workers: int, tree: str = "") -> tuple:
    """(CPU seconds of the CLI and its workers, their user-mode part, max RSS main MB, max RSS
    of any worker MB)."""
    if os.path.exists(out):
        os.remove(out)
    env = dict(os.environ)
    if tree:  # ahead of the installed fastsig
        env["PYTHONPATH"] = tree + os.pathsep + env.get("PYTHONPATH", "")
    with open(os.devnull, "wb") as null, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            [sys.executable, "-c", WRAPPER, "presign", keys, "--example", "--bucket", BUCKET,
             "--workers", str(workers), "-o", out, "--quiet"], stdout=null, stderr=err, env=env,
            cwd=CHILD_CWD)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode()
    if process.returncode != 0:
        raise SystemExit(text)
    own, kids = (int(x) for x in text.strip().splitlines()[-1].split()[1:])
    return usage.ru_utime + usage.ru_stime, usage.ru_utime, own / 1024, kids / 1024


def spread(values: list) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=2_000_000)
    parser.add_argument("--every", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--baseline", default="", help="another source tree to measure alike")
    parser.add_argument("--step", action="store_true", help="time the workers' step in-process")
    args = parser.parse_args()
    args.dir = os.path.abspath(args.dir)

    import fastsig

    files = {}
    for kind, every in (("plain", 0), ("mixed", args.every)):
        files[kind] = os.path.join(args.dir, f"fastsig-{kind}-{args.keys}-{every}.txt")
        if not os.path.exists(files[kind]):
            write_keys(files[kind], args.keys, every)
    out = os.path.join(args.dir, "fastsig-mixed-urls.txt")
    print(f"fastsig {fastsig.__version__} ({fastsig.backend}), {os.cpu_count()} cores, "
          f"{args.keys:,} keys, odd 1 in {args.every:,}, --workers {args.workers}, "
          f"{args.rounds} interleaved rounds" + (", the workers' step in-process" if args.step
                                                 else ""))
    trees = {"this": ""}
    if args.baseline:
        trees["baseline"] = os.path.abspath(args.baseline)
    runs = [(tree, kind) for tree in trees for kind in ("plain", "mixed")]
    cpu: dict = {run: [] for run in runs}
    user: dict = {run: [] for run in runs}
    rss: dict = {run: [] for run in runs}
    try:
        for round_ in range(args.rounds):
            # Each run in turn first, forwards then backwards: drifts of the machine spread
            # over all of them alike.
            shift = round_ % len(runs)
            order = runs[shift:] + runs[:shift]
            if round_ % 2:
                order.reverse()
            for run in order:
                if args.step:
                    seconds, user_seconds, own, kids = run_step(files[run[1]], trees[run[0]])
                else:
                    seconds, user_seconds, own, kids = run_cli(
                        files[run[1]], out, args.workers, trees[run[0]])
                cpu[run].append(seconds)
                user[run].append(user_seconds)
                rss[run].append((own, kids))
    finally:
        if os.path.exists(out):
            os.remove(out)
    for tree in trees:
        for kind in ("plain", "mixed"):
            run = (tree, kind)
            rates = [args.keys / s / 1e3 for s in cpu[run]]
            print(f"{tree} {kind}: CPU {spread(cpu[run])} s (user {spread(user[run])} s), "
                  f"{spread(rates)} k keys per CPU s; peak RSS "
                  f"main {max(r[0] for r in rss[run]):.0f} MB, "
                  f"largest worker {max(r[1] for r in rss[run]):.0f} MB")
        plain, mixed = cpu[(tree, "plain")], cpu[(tree, "mixed")]
        ratios = [p / m for p, m in zip(plain, mixed)]
        user_ratio = (statistics.median(user[(tree, "plain")])
                      / statistics.median(user[(tree, "mixed")]))
        print(f"{tree} mixed/plain rate: "
              f"{statistics.median(plain) / statistics.median(mixed):.1%} (per round "
              f"{min(ratios):.1%}-{max(ratios):.1%}); in user CPU only (the kernel's page-cache "
              f"copying left out): {user_ratio:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
