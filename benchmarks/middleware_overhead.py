"""What the ASGI middleware adds to a minimal ASGI app, measured with wrk on 127.0.0.1.

    python benchmarks/middleware_overhead.py [--seconds 3] [--rounds 7]

Runs uvicorn (one worker, pinned to CPU 0 where taskset exists) with the bare app and with
``ASGIMiddleware`` in front, in alternating rounds, while wrk (pinned to CPU 1) sends the same
header-signed GET, and then a presigned GET; prints the best requests/s of each and the
overhead; and the server's own CPU time per request (from /proc), which a busy neighbour
disturbs less than throughput. Best of many short alternating rounds (on a shared machine a
slow spell can halve a single run), and the median over rounds of the two apps' CPU-per-request
ratio within each round. Needs wrk (Debian: apt-get install wrk) and uvicorn.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time

APP = "middleware_overhead:{}"
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


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pinned(cpu, argv):
    return (["taskset", "-c", str(cpu)] if shutil.which("taskset") and os.cpu_count() > 1
            else []) + argv


def _serve(app, port):
    proc = subprocess.Popen(
        _pinned(0, [sys.executable, "-m", "uvicorn", APP.format(app), "--app-dir", HERE,
                    "--port", str(port), "--host", "127.0.0.1", "--log-level", "warning",
                    "--no-access-log"]))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("uvicorn did not start")


def _cpu_seconds(pid):
    """(user, system) CPU time the process has used (from /proc, in clock ticks)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _wrk(url, headers, seconds, server):
    """(requests/s, server CPU microseconds per request, the user-space part of it) of one
    wrk run."""
    argv = ["wrk", "-t1", "-c32", f"-d{seconds}s", url]
    for name, value in headers.items():
        argv[1:1] = ["-H", f"{name}: {value}"]
    before = _cpu_seconds(server.pid)
    out = subprocess.run(_pinned(1, argv), capture_output=True, text=True, check=True).stdout
    after = _cpu_seconds(server.pid)
    user, cpu = after[0] - before[0], sum(after) - sum(before)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"the verifier refused requests: {out}")
    total = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rate, cpu / total * 1e6, user / total * 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    from fastsig import Credentials, Signer, backend

    signer = Signer(Credentials(*CREDS), "us-east-1", "execute-api")
    ports = {"bare_app": _free_port(), "verified_app": _free_port()}
    servers = {app: _serve(app, port) for app, port in ports.items()}
    try:
        for kind in ("header-signed", "presigned"):
            best = {app: 0.0 for app in ports}
            cost = {app: float("inf") for app in ports}
            paired = []  # each round's CPU-per-request ratio: a slow spell hits both apps
            paired_user = []  # the same for user-space CPU (the kernel's part is the network's)
            for round_ in range(args.rounds):
                cpu_of, user_of = {}, {}
                order = list(ports.items())
                for app, port in order if round_ % 2 == 0 else order[::-1]:  # cancel drift
                    url = f"http://127.0.0.1:{port}/items?id=42"
                    if kind == "header-signed":
                        signed = signer.sign("GET", url)  # fresh: inside the 15-minute skew
                        headers = {k: v for k, v in signed.headers.items() if k != "Host"}
                    else:
                        url, headers = signer.presign("GET", url, expires_in=600), {}
                    rate, cpu, user = _wrk(url, headers, args.seconds, servers[app])
                    best[app] = max(best[app], rate)
                    cost[app] = min(cost[app], cpu)
                    cpu_of[app], user_of[app] = cpu, user
                paired.append(cpu_of["verified_app"] / cpu_of["bare_app"] - 1)
                paired_user.append(user_of["verified_app"] / user_of["bare_app"] - 1)
            overhead = best["bare_app"] / best["verified_app"] - 1
            print(f"{kind} GET, fastsig backend {backend}: bare app {best['bare_app']:,.0f} req/s, "
                  f"with ASGIMiddleware {best['verified_app']:,.0f} req/s: "
                  f"overhead {overhead:+.1%}; server CPU per request "
                  f"{cost['bare_app']:.1f} us vs {cost['verified_app']:.1f} us: "
                  f"{cost['verified_app'] / cost['bare_app'] - 1:+.1%}; "
                  f"median of {len(paired)} paired rounds {statistics.median(paired):+.1%} "
                  f"(user-space CPU alone {statistics.median(paired_user):+.1%})")
    finally:
        for proc in servers.values():
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
