"""Serves tests/interop/app.py behind fastsig's middleware with one real server, in the
foreground (the interop conftest runs it as a subprocess):

    python -m tests.interop.serve uvicorn|gunicorn|waitress PORT [CERT KEY]

The store, keys and backend come from the environment (FASTSIG_INTEROP_STORE,
FASTSIG_INTEROP_KEY_ID, FASTSIG_INTEROP_SECRET, FASTSIG_NO_EXTENSIONS).
"""

from __future__ import annotations

import os
import sys
from typing import List


def main(argv: List[str]) -> None:
    server, port = argv[0], int(argv[1])
    cert, key = (argv[2], argv[3]) if len(argv) > 3 else (None, None)
    if server == "uvicorn":
        import uvicorn

        uvicorn.run("tests.interop.app:asgi_app", host="127.0.0.1", port=port, log_level="warning",
                    lifespan="off", ssl_certfile=cert, ssl_keyfile=key)
    elif server == "waitress":
        import waitress

        from tests.interop.app import wsgi_app

        waitress.serve(wsgi_app, host="127.0.0.1", port=port, threads=8, _quiet=True)
    elif server == "gunicorn":
        tls = ["--certfile", cert, "--keyfile", key] if cert and key else []
        # One worker process, so that the in-memory queues and tables are one; threads for
        # the clients' parallel part uploads.
        os.execvp(sys.executable, [
            sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1",
            "-k", "gthread", "--threads", "8", "--log-level", "warning", *tls,
            "tests.interop.app:wsgi_app"])
    else:
        raise SystemExit(f"unknown server {server!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
