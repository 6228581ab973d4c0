"""The test suite on every CPython fastsig supports: `nox` (all of them) or `nox -p 3.12`.

Each session installs the project as the README's test command does, in a fresh virtual
environment of that Python, and runs the suite on both backends. Not part of the default test
run (CI runs one Python; this is for release checks and for the versions the README names).
Extra arguments go to pytest: `nox -p 3.9 -- tests/test_signer.py -x`.
"""

from __future__ import annotations

import nox

PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]
nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = False


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("python", "-c",
                "import fastsig, sys; print('backend:', fastsig.backend);"
                " sys.exit(fastsig.backend != 'cython')")
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *session.posargs)
