"""Credentials printed by a ``credential_process`` command."""

from __future__ import annotations

import shlex
from typing import Any, Optional

from fastsig._errors import CredentialsError
from .base import Credentials, CredentialsProvider, _json_credentials, _json_object

__all__ = ["ProcessProvider"]


class ProcessProvider(CredentialsProvider):
    """Runs a ``credential_process`` command and reads the JSON it prints (``Version`` 1,
    ``AccessKeyId``, ``SecretAccessKey``, optional ``SessionToken`` and ``Expiration``).

    The command is split like a shell command line (no shell runs it). Without an
    ``Expiration`` the credentials are kept for the life of the provider."""

    def __init__(self, command: str, *, timeout: Optional[float] = 300.0,
                 label: str = "credential_process", **options: Any) -> None:
        super().__init__(**options)
        self.name = label
        self.method = "custom-process"
        try:
            self._argv = shlex.split(command)
        except ValueError as exc:
            raise CredentialsError(f"{label}: cannot split the command line ({exc})") from None
        if not self._argv:
            raise CredentialsError(f"{label}: the command is empty")
        self._timeout = timeout

    def _load(self) -> Credentials:
        import subprocess  # here, not at import: only credential_process runs a command

        # Failures are raised after the except clauses: TimeoutExpired keeps what the command
        # printed, which stays reachable as ``__context__`` even with ``from None``.
        problem = ""
        try:
            done = subprocess.run(self._argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=self._timeout, check=False)
        except FileNotFoundError:
            problem = f"{self._argv[0]!r} not found"
        except subprocess.TimeoutExpired:
            problem = f"no answer within {self._timeout} s"
        except OSError as exc:
            problem = f"cannot run {self._argv[0]!r} ({exc.strerror})"
        if problem:
            raise CredentialsError(f"{self.name}: {problem}")
        if done.returncode != 0:
            # Its error output is not repeated: a command that prints its JSON to stderr (or
            # echoes what it was given) would put the secret into the message, the log of a
            # failed refresh and the CLI's output. Only its size says there was something.
            said = len(done.stderr.strip())
            hint = (f" ({said} bytes on stderr, not shown: they could hold credentials; run the "
                    "command to see them)") if said else ""
            raise CredentialsError(f"{self.name}: exited with status {done.returncode}{hint}")
        document = _json_object(self.name, done.stdout)
        version = document.get("Version")
        if version != 1:
            raise CredentialsError(
                f"{self.name}: Version must be 1, got "
                + (repr(version) if isinstance(version, int) else type(version).__name__))
        return _json_credentials(self.name, document, "SessionToken")

    def __repr__(self) -> str:
        return f"ProcessProvider({self._argv[0]!r}, ...)"

