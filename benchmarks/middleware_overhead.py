"""What the middlewares add to a minimal app, measured with wrk on 127.0.0.1.

    python benchmarks/middleware_overhead.py [--server uvicorn|waitress|gunicorn]
        [--seconds 3] [--rounds 15] [--calibrate 2]
    python benchmarks/middleware_overhead.py --instructions [--seconds 4]

Runs a server (uvicorn with ``ASGIMiddleware``, or waitress or gunicorn with
``WSGIMiddleware``: one worker, pinned to CPU 0 where taskset exists) with the bare app and with
the middleware in front, in alternating rounds, while wrk (pinned to CPU 1) cycles through 1,000
distinct header-signed requests (a GET; for WSGI a POST with a 100-byte body the app reads),
and then 1,000 distinct presigned GETs, through a Lua script (wrk cannot sign: the requests are
signed before each round, within the verifier's skew). It prints the medians over rounds of
requests/s and of the server's own CPU time per request (the scheduler's count for the server
and its workers, from /proc, over the wrk run, divided by the requests served), with their
min-max, and the median, quartiles and min-max of the middleware's added CPU a request as a
ratio to the bare app's within each round (a slow spell hits both), with the interval that
holds the true median with 95% confidence (order statistics: no assumption about the noise's
distribution, which here is anything but normal). ``--kind`` picks one kind of request.

First it times the middleware in-process over the same kinds of distinct requests (the WSGI app
called with waitress's environ, the ASGI app's coroutine driven by hand; this thread's CPU
time, medians of interleaved rounds with min-max). ``--calibrate US`` adds a third server whose
middleware does nothing but burn US microseconds of CPU a request: what that costs under wrk
shows how this machine magnifies a known amount of work. ``--instructions`` counts instead of
timing: both servers run under callgrind while wrk loads them, and the difference of
instructions a request is what the middleware adds (repeatable to a fraction of a percent;
needs valgrind). Needs wrk (Debian: apt-get install wrk) and uvicorn.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

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


def bare_wsgi(environ, start_response):
    environ["wsgi.input"].read()  # an app reads the body it is given
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def _verified_wsgi():
    from fastsig import Credentials, Verifier
    from fastsig.middleware import WSGIMiddleware

    keys = {CREDS[0]: Credentials(*CREDS)}
    return WSGIMiddleware(bare_wsgi, Verifier(keys.get))


verified_wsgi = _verified_wsgi()
SPIN_ENV = "FASTSIG_BENCH_SPIN_US"  # how --calibrate tells the spin_app server its time
_spin_ns = int(float(os.environ.get(SPIN_ENV, "0")) * 1000)


def _spin():
    end = time.perf_counter_ns() + _spin_ns
    while time.perf_counter_ns() < end:
        pass


async def spin_app(scope, receive, send):
    """The calibration: a pass-through middleware that burns a fixed time a request."""
    _spin()
    await bare_app(scope, receive, send)


def spin_wsgi(environ, start_response):
    _spin()
    return bare_wsgi(environ, start_response)


# The apps each server runs: bare, verified, calibration.
APPS = {"uvicorn": ("bare_app", "verified_app", "spin_app"),
        "waitress": ("bare_wsgi", "verified_wsgi", "spin_wsgi"),
        "gunicorn": ("bare_wsgi", "verified_wsgi", "spin_wsgi")}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pinned(cpu, argv):
    return (["taskset", "-c", str(cpu)] if shutil.which("taskset") and os.cpu_count() > 1
            else []) + argv


def _server_argv(server, app, port):
    if server == "waitress":  # one thread: one core's worth, as uvicorn's one worker
        return [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}", "--threads=1",
                APP.format(app)]
    if server == "gunicorn":  # one sync worker (a second process, counted with its master)
        return [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                "--log-level", "warning", APP.format(app)]
    return [sys.executable, "-m", "uvicorn", APP.format(app), "--app-dir", HERE, "--port",
            str(port), "--host", "127.0.0.1", "--log-level", "warning", "--no-access-log"]


def _serve(app, port, spin_us, under=(), server="uvicorn"):
    """``server`` serving ``app``, pinned to CPU 0, or run by the command ``under``."""
    argv = _server_argv(server, app, port)
    proc = subprocess.Popen(
        [*under, *argv] if under else _pinned(0, argv), cwd=HERE,
        env={**os.environ, SPIN_ENV: str(spin_us), "PYTHONHASHSEED": "0",
             "PYTHONPATH": os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")])})
    deadline = time.monotonic() + (300 if under else 20)
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{server} did not start")


def _cpu_seconds(pid):
    """(user-space, total) CPU seconds the process and its children (gunicorn's worker) have
    used. The total is the scheduler's own count, in nanoseconds (/proc/PID/task/*/schedstat):
    /proc/PID/stat counts in 10 ms ticks, a sampling error of several percent over a round of
    a few seconds. The user-space part exists only in ticks."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    user = int(fields[11]) / os.sysconf("SC_CLK_TCK")
    total = 0
    children = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as schedstat:
                total += int(schedstat.read().split()[0])
            with open(f"/proc/{pid}/task/{task}/children") as listed:
                children += listed.read().split()
        except FileNotFoundError:  # a thread that has just ended
            pass
    for child in children:
        child_user, child_total = _cpu_seconds(int(child))
        user, total = user + child_user, total + child_total * 1e9
    return user, total / 1e9


def _lua(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk_argv(port, requests, seconds):
    """wrk sending ``requests`` (method, target, headers, body), distinct signed requests,
    in turn: a Lua script holds them, as wrk cannot sign."""
    script = os.path.join(tempfile.gettempdir(), f"fastsig-wrk-{port}.lua")
    lines = ["local requests = {}", "function init(args)"]
    for method, target, headers, body in requests:
        fields = ", ".join(f"[{_lua(name)}] = {_lua(value)}" for name, value in headers.items())
        lines.append(f"  requests[#requests + 1] = wrk.format({_lua(method)}, {_lua(target)}, "
                     f"{{{fields}}}, {'nil' if body is None else _lua(body.decode())})")
    lines += ["end", "local i = 0", "function request()", "  i = i % #requests + 1",
              "  return requests[i]", "end"]
    with open(script, "w") as lua:
        lua.write("\n".join(lines) + "\n")
    return ["wrk", "-t1", "-c32", f"-d{seconds}s", "-s", script, f"http://127.0.0.1:{port}/"]


def _wrk(port, requests, seconds, server):
    """(requests/s, server CPU microseconds per request, the user-space part of it) of one
    wrk run."""
    argv = _wrk_argv(port, requests, seconds)
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


BODY = b'{"TableName": "Music", "Key": {"Artist": {"S": "No One You Know"}}}'.ljust(100)


DISTINCT = 1000  # requests each kind cycles through: caches see what real traffic gives them


def _requests(signer, port, wsgi=False, count=DISTINCT):
    """kind -> ``count`` distinct (method, target, headers, body): the header-signed request
    (a GET, or for a WSGI server a POST with a 100-byte body the app reads) and the presigned
    GET, signed now (inside the verifier's 15-minute skew), each for another item."""
    host = f"127.0.0.1:{port}"
    signed, presigned = [], []
    for i in range(count):
        url = f"http://{host}/items?id={i}"
        body = BODY if wsgi else None
        sent = signer.sign("POST" if wsgi else "GET", url, body=body)
        signed.append(("POST" if wsgi else "GET", f"/items?id={i}",
                       {"Host": host, **{k: v for k, v in sent.headers.items() if k != "Host"}},
                       body))
        url = signer.presign("GET", url, expires_in=600)
        presigned.append(("GET", url.split(host, 1)[1], {"Host": host}, None))
    return {"header-signed": signed, "presigned": presigned}


def _cycle(items):
    return itertools.cycle(items).__next__


def _cpu_us(one, number):
    """Microseconds of this thread's CPU a call of ``one`` takes, over ``number`` calls: CPU
    time, not wall time, which the machine's other jobs stretch."""
    start = time.thread_time_ns()
    for _ in range(number):
        one()
    return (time.thread_time_ns() - start) / number / 1000


def _wsgi_call(app, requests):
    """A call of ``app`` with the next request's environ as waitress gives it (RAW_URI,
    REQUEST_URI, wsgi.input_terminated; the body read by the app from wsgi.input)."""
    import io

    environs = []
    for method, target, headers, body in requests:
        path, _, query = target.partition("?")
        environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path,
                   "QUERY_STRING": query, "REQUEST_URI": target, "RAW_URI": target,
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
                   "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_USER_AGENT": "wrk", "HTTP_ACCEPT": "*/*",
                   "wsgi.url_scheme": "http", "wsgi.input_terminated": True}
        for name, value in headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        if body is not None:
            environ["CONTENT_LENGTH"] = str(len(body))
        environs.append((environ, body or b""))
    following = _cycle(environs)

    def start_response(status, response_headers, exc_info=None):
        pass

    def one():
        base, body = following()
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO(body)
        for _ in app(environ, start_response):
            pass

    return one


def _asgi_call(app, requests):
    """A call of ``app`` with the next request's scope as uvicorn gives it, its coroutine
    driven by hand."""
    scopes = []
    for method, target, headers, _ in requests:
        path, _, query = target.partition("?")
        scopes.append({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                       "scheme": "http", "method": method, "root_path": "", "path": path,
                       "raw_path": path.encode(), "query_string": query.encode(),
                       "headers": [(name.lower().encode(), value.encode())
                                   for name, value in headers.items()]})
    following = _cycle(scopes)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    def one():
        try:
            app(dict(following()), receive, send).send(None)
        except StopIteration:
            pass

    return one


def _in_process(apps, requests, wsgi, rounds=15, number=10000):
    """app -> per-round microseconds of CPU a request, the apps interleaved in each round (in
    alternating order) over the same distinct requests, caches warm."""
    calls = {app: (_wsgi_call if wsgi else _asgi_call)(globals()[app], requests) for app in apps}
    for one in calls.values():
        _cpu_us(one, number)  # warm up
    times = {app: [] for app in apps}
    for round_ in range(rounds):
        for app in apps if round_ % 2 == 0 else apps[::-1]:
            times[app].append(_cpu_us(calls[app], number))
    return times


def _median_range(values, unit=" us", sign=""):
    return (f"{statistics.median(values):{sign}.2f}{unit} (min {min(values):{sign}.2f}, "
            f"max {max(values):{sign}.2f})")


def _instructions(app, kind, seconds, signer, out_dir):
    """(requests served, instructions executed, those in SHA-256) by a uvicorn server with
    ``app`` under callgrind, from its start to its end, with ``seconds`` of wrk's load."""
    out = os.path.join(out_dir, f"{app}-{kind}-{seconds}.out")
    port = _free_port()
    server = _serve(app, port, 0, _callgrind(out))
    try:
        text = subprocess.run(_wrk_argv(port, _requests(signer, port)[kind], seconds),
                              capture_output=True, text=True, check=True).stdout
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
    here; it is counted apart, in compressions. (uvicorn only: waitress's and gunicorn's
    counts a request swing with how requests queue under valgrind's slowness.)"""
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
    parser.add_argument("--server", choices=tuple(APPS), default="uvicorn",
                        help="uvicorn (ASGIMiddleware) or waitress/gunicorn (WSGIMiddleware)")
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
    wsgi = args.server != "uvicorn"
    bare_name, verified_name, spin_name = APPS[args.server]
    apps = [bare_name, verified_name] + ([spin_name] if args.calibrate else [])
    extra = {spin_name: f"a {args.calibrate:g} us spin",
             verified_name: "WSGIMiddleware" if wsgi else "ASGIMiddleware"}
    kinds = args.kind or KINDS
    for kind in kinds:
        times = _in_process(apps, _requests(signer, 8000, wsgi)[kind], wsgi)
        bare = times[bare_name]
        added = "; ".join(
            f"{extra[app]} adds {_median_range([v - b for v, b in zip(times[app], bare)])}"
            for app in apps[1:])
        print(f"{kind} request in-process ({DISTINCT} distinct, CPU time, medians of "
              f"{len(bare)} interleaved rounds): bare app {_median_range(bare)}; {added}")
    ports = {app: _free_port() for app in apps}
    servers = {app: _serve(app, port, args.calibrate, server=args.server)
               for app, port in ports.items()}
    try:
        for kind in kinds:
            for app in apps:  # warm up: a server's first requests import and specialize code
                _wrk(ports[app], _requests(signer, ports[app], wsgi)[kind], 1, servers[app])
            rates = {app: [] for app in apps}
            costs = {app: [] for app in apps}
            # Each round's CPU-per-request ratio to the bare app (a slow spell hits both),
            # and the same for user-space CPU (the kernel's part is the network's).
            paired = {app: [] for app in apps[1:]}
            paired_user = {app: [] for app in apps[1:]}
            for round_ in range(args.rounds):
                cpu_of, user_of = {}, {}
                for app in apps if round_ % 2 == 0 else apps[::-1]:  # cancel drift
                    requests = _requests(signer, ports[app], wsgi)[kind]
                    rate, cpu, user = _wrk(ports[app], requests, args.seconds, servers[app])
                    rates[app].append(rate)
                    costs[app].append(cpu)
                    cpu_of[app], user_of[app] = cpu, user
                for app in apps[1:]:
                    paired[app].append(cpu_of[app] / cpu_of[bare_name] - 1)
                    paired_user[app].append(user_of[app] / user_of[bare_name] - 1)
            bare_rate = statistics.median(rates[bare_name])
            print(f"{kind} request under wrk and {args.server} ({DISTINCT} distinct requests "
                  f"cycled), fastsig backend {backend}, medians of {args.rounds} interleaved "
                  f"rounds: bare app {bare_rate:,.0f} req/s, server CPU a request "
                  f"{_median_range(costs[bare_name])}")
            for app in apps[1:]:
                rate = statistics.median(rates[app])
                print(f"  {extra[app]}: {rate:,.0f} req/s ({bare_rate / rate - 1:+.1%}), server "
                      f"CPU a request {_median_range(costs[app])}; added CPU a request, paired "
                      f"rounds: {_spread(paired[app])}, min {min(paired[app]):+.1%} max "
                      f"{max(paired[app]):+.1%}; user-space CPU alone "
                      f"{_spread(paired_user[app])}")
    finally:
        for proc in servers.values():
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
