"""What the ASGI middleware adds to a minimal ASGI app, measured with wrk on 127.0.0.1.

    python benchmarks/middleware_overhead.py [--seconds 3] [--rounds 15] [--calibrate 2]
    python benchmarks/middleware_overhead.py --instructions [--seconds 4]

Runs uvicorn (one worker, pinned to CPU 0 where taskset exists) with the bare app and with
``ASGIMiddleware`` in front, in alternating rounds, while wrk (pinned to CPU 1) sends the same
header-signed GET, and then a presigned GET; prints the best requests/s of each and the
overhead; and the server's own CPU time per request (the scheduler's count, from /proc),
which a busy neighbour disturbs less than throughput. Best of many short alternating rounds
(on a shared machine a slow spell can halve a single run), and the median and quartiles over
rounds of the two apps' CPU-per-request ratio within each round, with the interval that holds
the true median with 95% confidence (order statistics: no assumption about the noise's
distribution, which here is anything but normal). ``--kind`` picks one kind of request.

First it times the middleware in-process (the app's coroutine driven by hand, caches warm),
for scale. ``--calibrate US`` adds a third server whose middleware does nothing but burn US
microseconds of CPU a request: what that costs under wrk shows how this machine magnifies a
known amount of work. ``--instructions`` counts instead of timing: both servers run under
callgrind while wrk loads them, and the difference of instructions a request is what the
middleware adds (repeatable to a fraction of a percent; needs valgrind). Needs wrk (Debian:
apt-get install wrk) and uvicorn.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import timeit

APP = "middleware_overhead:{}"
KINDS = ("header-signed", "presigned")
HERE = os.path.dirname(os.path.abspath(__file__))
CREDS = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


async def bare_app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _verified_app():
    from fastsig import Credentials, Verifier
    from fastsig.middleware import ASGIMiddleware

    keys = {CREDS[0]: Credentials(*CREDS)}
    return ASGIMiddleware(bare_app, Verifier(keys.get))


verified_app = _verified_app()
SPIN_ENV = "FASTSIG_BENCH_SPIN_US"  # how --calibrate tells the spin_app server its time
_spin_ns = int(float(os.environ.get(SPIN_ENV, "0")) * 1000)


async def spin_app(scope, receive, send):
    """The calibration: a pass-through middleware that burns a fixed time a request."""
    end = time.perf_counter_ns() + _spin_ns
    while time.perf_counter_ns() < end:
        pass
    await bare_app(scope, receive, send)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pinned(cpu, argv):
    return (["taskset", "-c", str(cpu)] if shutil.which("taskset") and os.cpu_count() > 1
            else []) + argv


def _serve(app, port, spin_us, under=()):
    """uvicorn serving ``app``, pinned to CPU 0, or run by the command ``under``."""
    argv = [sys.executable, "-m", "uvicorn", APP.format(app), "--app-dir", HERE, "--port",
            str(port), "--host", "127.0.0.1", "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(
        [*under, *argv] if under else _pinned(0, argv),
        env={**os.environ, SPIN_ENV: str(spin_us), "PYTHONHASHSEED": "0"})
    deadline = time.monotonic() + (300 if under else 20)
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("uvicorn did not start")


def _cpu_seconds(pid):
    """(user-space, total) CPU seconds the process has used. The total is the scheduler's own
    count, in nanoseconds (/proc/PID/task/*/schedstat): /proc/PID/stat counts in 10 ms ticks,
    a sampling error of several percent over a round of a few seconds. The user-space part
    exists only in ticks."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    user = int(fields[11]) / os.sysconf("SC_CLK_TCK")
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as schedstat:
                total += int(schedstat.read().split()[0])
        except FileNotFoundError:  # a thread that has just ended
            pass
    return user, total / 1e9


def _wrk(url, headers, seconds, server):
    """(requests/s, server CPU microseconds per request, the user-space part of it) of one
    wrk run."""
    argv = ["wrk", "-t1", "-c32", f"-d{seconds}s", url]
    for name, value in headers.items():
        argv[1:1] = ["-H", f"{name}: {value}"]
    before = _cpu_seconds(server.pid)
    out = subprocess.run(_pinned(1, argv), capture_output=True, text=True, check=True).stdout
    after = _cpu_seconds(server.pid)
    user, cpu = after[0] - before[0], after[1] - before[1]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"the verifier refused requests: {out}")
    total = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rate, cpu / total * 1e6, user / total * 1e6


def _requests(signer, port):
    """(URL, headers) of the header-signed and the presigned GET, signed now (inside the
    verifier's 15-minute skew)."""
    url = f"http://127.0.0.1:{port}/items?id=42"
    signed = signer.sign("GET", url)
    return {
        "header-signed": (url, {k: v for k, v in signed.headers.items() if k != "Host"}),
        "presigned": (signer.presign("GET", url, expires_in=600), {}),
    }


def _in_process_us(app, url, headers, number=20000, repeat=9):
    """Microseconds an app takes a request when its coroutine is driven by hand with the
    scope uvicorn would give it: best of ``repeat``."""
    target = url.split("//", 1)[1].partition("/")[2]
    path, _, query = target.partition("?")
    raw_headers = [(b"host", b"127.0.0.1:8000")] + [
        (name.lower().encode(), value.encode()) for name, value in headers.items()]

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    def one():
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "scheme": "http", "method": "GET", "root_path": "", "path": "/" + path,
                 "raw_path": ("/" + path).encode(), "query_string": query.encode(),
                 "headers": raw_headers}
        try:
            app(scope, receive, send).send(None)
        except StopIteration:
            pass

    return min(timeit.repeat(one, number=number, repeat=repeat)) / number * 1e6


def _instructions(app, kind, seconds, signer, out_dir):
    """(requests served, instructions executed, those in SHA-256) by a uvicorn server with
    ``app`` under callgrind, from its start to its end, with ``seconds`` of wrk's load."""
    out = os.path.join(out_dir, f"{app}-{kind}-{seconds}.out")
    port = _free_port()
    server = _serve(app, port, 0, _callgrind(out))
    try:
        url, headers = _requests(signer, port)[kind]
        argv = ["wrk", "-t1", "-c32", f"-d{seconds}s", url]
        for name, value in headers.items():
            argv[1:1] = ["-H", f"{name}: {value}"]
        text = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        served = int(re.search(r"(\d+) requests in", text).group(1))
    finally:
        server.terminate()
        server.wait(300)
    return (served, *_profile(out))


def _callgrind(out):
    return ["valgrind", "-q", "--tool=callgrind", "--callgrind-out-file=" + out]


def _profile(out):
    """(instructions, those in SHA-256's compression) of a callgrind profile."""
    profile = subprocess.run(["callgrind_annotate", "--auto=no", "--threshold=100", out],
                             capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"^([\d,]+) .*PROGRAM TOTALS", profile, re.M).group(1).replace(",", ""))
    sha = sum(int(m.group(1).replace(",", "")) for m in
              re.finditer(r"^\s*([\d,]+) .*fs_sha256_blocks", profile, re.M))
    return total, sha


def _compression_instructions(out_dir):
    """Instructions of one SHA-256 compression as callgrind runs it (portable code)."""
    out = os.path.join(out_dir, "sha256.out")
    blocks = 4096
    subprocess.run([*_callgrind(out), sys.executable, "-c",
                    f"from fastsig import _speedups; _speedups.Sha256(bytes({64 * blocks}))"],
                   check=True)
    return _profile(out)[1] / blocks


def count_instructions(seconds, kinds=KINDS):
    """What the middleware adds to the instructions of a request, from whole servers under
    wrk's load: repeatable where timings on a shared machine are not. Each server runs twice,
    under ``seconds`` and three times as many of load: the difference leaves out starting,
    stopping and wrk's connecting. valgrind hides SHA-NI, so SHA-256 runs its portable code
    here; it is counted apart, in compressions."""
    import tempfile

    from fastsig import Credentials, Signer

    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    signer = Signer(Credentials(*CREDS), "us-east-1", "execute-api")
    with tempfile.TemporaryDirectory() as out_dir:
        compression = _compression_instructions(out_dir)
        for kind in kinds:
            per_request = {}
            for app in ("bare_app", "verified_app"):
                short = _instructions(app, kind, seconds, signer, out_dir)
                long = _instructions(app, kind, 3 * seconds, signer, out_dir)
                served = long[0] - short[0]
                per_request[app] = ((long[1] - short[1]) / served, (long[2] - short[2]) / served)
            bare = per_request["bare_app"][0]
            added, sha = per_request["verified_app"][0] - bare, per_request["verified_app"][1]
            print(f"{kind} GET under wrk, instructions a request: bare app {bare:,.0f}; "
                  f"ASGIMiddleware adds {added - sha:,.0f} ({(added - sha) / bare:+.1%}) and "
                  f"{sha / compression:.1f} SHA-256 compressions (SHA-NI's, natively)")


def _median_interval(values, confidence=0.95):
    """The order statistics that bracket the median of the distribution ``values`` come from
    with at least ``confidence``: it lies below each value with probability one half, so the
    count below it is binomial (n, 1/2), whatever the distribution."""
    ordered = sorted(values)
    n = len(ordered)
    tail, below = 0.0, 0
    while below < n // 2:
        step = math.comb(n, below) / 2 ** n
        if tail + step > (1 - confidence) / 2:
            break
        tail += step
        below += 1
    if below == 0:
        return None  # too few rounds for that confidence
    return ordered[below - 1], ordered[n - below]


def _spread(values):
    """The median and quartiles of paired overheads, and the median's 95% interval, as text."""
    low, mid, high = statistics.quantiles(values, n=4, method="inclusive")
    interval = _median_interval(values)
    sure = "" if interval is None else f", 95% interval {interval[0]:+.1%} .. {interval[1]:+.1%}"
    return f"{mid:+.1%} (quartiles {low:+.1%} .. {high:+.1%}{sure})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calibrate", type=float, metavar="US", default=0.0,
                        help="add a middleware that only burns US microseconds a request")
    parser.add_argument("--kind", choices=KINDS, action="append",
                        help="only this kind of request (repeatable; default: both)")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions a request under callgrind instead of timing")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    if args.instructions:
        count_instructions(args.seconds, args.kind or KINDS)
        return
    from fastsig import Credentials, Signer, backend

    global _spin_ns
    _spin_ns = int(args.calibrate * 1000)
    signer = Signer(Credentials(*CREDS), "us-east-1", "execute-api")
    apps = ["bare_app", "verified_app"] + (["spin_app"] if args.calibrate else [])
    extra = {app: f"a {args.calibrate:g} us spin" if app == "spin_app" else "ASGIMiddleware"
             for app in apps[1:]}
    kinds = args.kind or KINDS
    for kind in kinds:
        url, headers = _requests(signer, 8000)[kind]
        bare = _in_process_us(bare_app, url, headers)
        added = ", ".join(
            f"{extra[app]} +{_in_process_us(globals()[app], url, headers) - bare:.2f} us"
            for app in apps[1:])
        print(f"{kind} GET in-process: bare app {bare:.2f} us, {added}")
    ports = {app: _free_port() for app in apps}
    servers = {app: _serve(app, port, args.calibrate) for app, port in ports.items()}
    try:
        for kind in kinds:
            for app in apps:  # warm up: a server's first requests import and specialize code
                url, headers = _requests(signer, ports[app])[kind]
                _wrk(url, headers, 1, servers[app])
            best = dict.fromkeys(apps, 0.0)
            cost = {app: float("inf") for app in apps}
            # Each round's CPU-per-request ratio to the bare app (a slow spell hits both),
            # and the same for user-space CPU (the kernel's part is the network's).
            paired = {app: [] for app in apps[1:]}
            paired_user = {app: [] for app in apps[1:]}
            for round_ in range(args.rounds):
                cpu_of, user_of = {}, {}
                for app in apps if round_ % 2 == 0 else apps[::-1]:  # cancel drift
                    url, headers = _requests(signer, ports[app])[kind]
                    rate, cpu, user = _wrk(url, headers, args.seconds, servers[app])
                    best[app] = max(best[app], rate)
                    cost[app] = min(cost[app], cpu)
                    cpu_of[app], user_of[app] = cpu, user
                for app in apps[1:]:
                    paired[app].append(cpu_of[app] / cpu_of["bare_app"] - 1)
                    paired_user[app].append(user_of[app] / user_of["bare_app"] - 1)
            print(f"{kind} GET under wrk, fastsig backend {backend}: bare app "
                  f"{best['bare_app']:,.0f} req/s, {cost['bare_app']:.1f} us of server CPU "
                  f"a request")
            for app in apps[1:]:
                print(f"  {extra[app]}: {best[app]:,.0f} req/s "
                      f"({best['bare_app'] / best[app] - 1:+.1%}), {cost[app]:.1f} us a request "
                      f"({cost[app] / cost['bare_app'] - 1:+.1%}); paired rounds "
                      f"{_spread(paired[app])}; user-space CPU alone "
                      f"{_spread(paired_user[app])}")
    finally:
        for proc in servers.values():
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
