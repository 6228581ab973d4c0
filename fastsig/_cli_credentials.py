"""The command line's credential commands: ``fastsig session-token`` (as people script
``aws sts get-session-token``) and ``fastsig configure list`` (as ``aws configure list``)."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import tempfile
from typing import Any, Callable, List, Optional

from ._errors import NoCredentialsError
from .credentials import Credentials, SessionTokenProvider, default_provider, region_source
from .credentials import config as shared_config

__all__ = ["add_commands", "mask_key_id", "write_profile"]


class _Usage(Exception):
    """Raised through to cli.main, which maps it to its UsageError (exit status 2)."""


def mask_key_id(key_id: str) -> str:
    """The access key id as ``aws configure list`` shows it: its last four characters."""
    return "*" * 16 + key_id[-4:]


def _duration(text: str) -> int:
    if not text.isdigit() or not 900 <= int(text) <= 129600:
        raise argparse.ArgumentTypeError(f"{text!r} is not 900 to 129600 seconds")
    return int(text)


def _profile_in_use(profile: Optional[str]) -> str:
    return shared_config.profile_name(os.environ, profile)


def write_profile(path: str, name: str, credentials: Credentials) -> None:
    """Put ``[name]`` with the keys, token and expiration into the credentials file at
    ``path``, replacing a section of that name and keeping every other line as it was
    (comments included: configparser would drop them). Written to a temporary file with
    mode 0600 next to it, then moved into place."""
    lines: List[str] = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    kept: List[str] = []
    skipping = False
    for line in lines:
        header = re.fullmatch(r"\s*\[([^\]]*)\]\s*", line)
        if header:
            skipping = header.group(1).strip() == name
        if not skipping:
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    section = [f"[{name}]", f"aws_access_key_id = {credentials.access_key_id}",
               f"aws_secret_access_key = {credentials.secret_access_key}"]
    if credentials.session_token:
        section.append(f"aws_session_token = {credentials.session_token}")
    if credentials.expiration is not None:
        # Not read by the SDKs; says when to run the command again.
        section.append(f"# expires {credentials.expiration.isoformat()}")
    text = "\n".join(kept + ([""] if kept else []) + section) + "\n"
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    handle_fd, temporary = tempfile.mkstemp(prefix=".credentials-", dir=directory)
    try:
        with os.fdopen(handle_fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def session_token_command(args: argparse.Namespace) -> int:
    if args.token_code and not args.serial_number:
        raise _Usage("--token-code goes with --serial-number")
    if args.token_code is not None and not (args.token_code.isascii() and args.token_code.isdigit()):
        raise _Usage("--token-code is the MFA device's current code, digits only")
    if args.serial_number and not args.token_code and not sys.stdin.isatty():
        raise _Usage("--serial-number needs --token-code (no terminal to ask on)")
    if args.profile_out and args.profile_out == _profile_in_use(args.profile):
        raise _Usage(f"--profile-out {args.profile_out!r} would overwrite the profile in use")
    mfa_code: Optional[Callable[[str], str]] = (lambda serial: args.token_code) \
        if args.token_code else None
    chain = default_provider(args.profile, mfa_code=mfa_code)
    source = chain.resolve()
    region = args.region or region_source(args.profile)[0]
    if chain.method == "sts-session-token":
        session = source  # the profile's mfa_serial already got a session with the code
    else:
        session = SessionTokenProvider(
            source, serial_number=args.serial_number, mfa_code=mfa_code,
            duration_seconds=args.duration_seconds, region=region).resolve()
    if args.profile_out:
        path = shared_config.credentials_path(os.environ)
        write_profile(path, args.profile_out, session)
        expires = session.expiration.isoformat() if session.expiration else "never"
        print(f"wrote profile {args.profile_out!r} to {path} (expires {expires})")
        return 0
    # Printing them is what this command is for (eval "$(fastsig session-token ...)").
    exports = [("AWS_ACCESS_KEY_ID", session.access_key_id),
               ("AWS_SECRET_ACCESS_KEY", session.secret_access_key),
               ("AWS_SESSION_TOKEN", session.session_token or "")]
    if session.expiration is not None:
        exports.append(("AWS_CREDENTIAL_EXPIRATION", session.expiration.isoformat()))
    for name, value in exports:
        print(f"export {name}={shlex.quote(value)}")
    return 0


def configure_list_command(args: argparse.Namespace) -> int:
    rows = []
    if args.profile:
        rows.append(("profile", args.profile, "manual", "--profile"))
    elif os.environ.get("AWS_PROFILE"):
        rows.append(("profile", os.environ["AWS_PROFILE"], "env", "AWS_PROFILE"))
    else:
        rows.append(("profile", "<not set>", "None", "None"))
    chain = default_provider(args.profile)
    try:
        credentials: Optional[Credentials] = chain.resolve()
    except NoCredentialsError:
        credentials = None
    if credentials is None:
        rows += [("access_key", "<not set>", "None", "None"),
                 ("secret_key", "<not set>", "None", "None")]
    else:
        where = chain.describe()
        rows += [("access_key", mask_key_id(credentials.access_key_id), chain.method, where),
                 ("secret_key", "*" * 16, chain.method, where)]  # none of the secret
        if credentials.session_token:
            rows.append(("token", "*" * 16, chain.method, where))
    region, where = region_source(args.profile)
    if region is None:
        rows.append(("region", "<not set>", "None", "None"))
    elif where.startswith("env "):
        rows.append(("region", region, "env", where[4:]))
    elif where.startswith("profile "):
        rows.append(("region", region, "config-file", where))
    else:
        rows.append(("region", region, "imds", where))
    print(f"{'Name':>10} {'Value':>24} {'Type':>24}    Location")
    print(f"{'----':>10} {'-----':>24} {'----':>24}    --------")
    for name, value, kind, location in rows:
        print(f"{name:>10} {value:>24} {kind:>24}    {location}")
    return 0


def add_commands(commands: Any, usage: type) -> None:
    """Add ``session-token`` and ``configure`` to the CLI's subcommands; ``usage`` is the
    CLI's exception for usage errors (exit status 2)."""

    def run(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        def wrapped(args: argparse.Namespace) -> int:
            try:
                return command(args)
            except _Usage as exc:
                raise usage(str(exc)) from None
        return wrapped

    session = commands.add_parser(
        "session-token", help="temporary credentials from STS GetSessionToken (with MFA)",
        description="Call STS GetSessionToken with the long-term credentials of the chain "
                    "(or --profile) and print export lines for the session, or write it as a "
                    "profile of the shared credentials file.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  eval \"$(fastsig session-token --serial-number "
               "arn:aws:iam::123456789012:mfa/me --token-code 123456)\"\n"
               "  fastsig session-token --serial-number arn:aws:iam::123456789012:mfa/me "
               "--token-code 123456 --profile-out mfa")
    session.add_argument("--serial-number", help="the MFA device's ARN (or serial)")
    session.add_argument("--token-code", help="the device's current code (asked for on a "
                                              "terminal when left out)")
    session.add_argument("--duration-seconds", type=_duration,
                         help="900 to 129600 (STS's default: 43200)")
    session.add_argument("--region", help="the STS region (default: as for other commands)")
    session.add_argument("--profile-out", metavar="NAME",
                         help="write the session as profile NAME of the shared credentials "
                              "file instead of printing export lines")
    session.add_argument("--profile", help="the profile whose credentials call STS")
    session.set_defaults(run=run(session_token_command))

    configure = commands.add_parser(
        "configure", help="show where credentials and region come from",
        description="Like 'aws configure list': which source answered, never a secret.")
    actions = configure.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the profile, keys (masked) and region in use")
    listing.add_argument("--profile", help="a profile of the shared files")
    listing.set_defaults(run=run(configure_list_command))
