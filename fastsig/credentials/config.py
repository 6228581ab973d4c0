"""The shared AWS files, ``~/.aws/config`` and ``~/.aws/credentials``, read as the AWS CLI reads them.

The CLI (botocore) parses both with ``configparser.RawConfigParser`` and its defaults, so this
module does the same, which brings the same rules for free: ``#`` and ``;`` comment lines (no
inline comments), ``=`` or ``:``, option names folded to lowercase, section names kept as
written, indented lines continuing a value, duplicate sections or options rejected, and a
``[DEFAULT]`` section inherited by every other. On top of that, as the CLI does:

- An option whose value starts on the next line is a nested section (``s3 =`` followed by
  indented ``key = value`` lines): one level, parsed into a dict.
- In the config file a profile is ``[profile NAME]`` (split like a shell word, so quotes
  work) or ``[default]``, an IAM Identity Center session ``[sso-session NAME]``; any other
  section (``[services x]``, ``[plain]``) is neither. In the credentials file every
  section is a profile, by its name as written.
- For each profile, keys of the credentials file win over the same keys in the config file.
"""

from __future__ import annotations

import os
from typing import Dict, Mapping, Optional, Union

from fastsig._errors import CredentialsError

__all__ = ["SharedConfig", "credentials_path", "load", "profile_name"]

Section = Dict[str, Union[str, Dict[str, str]]]


def _path(environ: Mapping[str, str], variable: str, default: str) -> str:
    return os.path.expanduser(os.path.expandvars(environ.get(variable) or default))


def profile_name(environ: Mapping[str, str], profile: Optional[str] = None) -> str:
    """The profile in use: the one asked for, else ``AWS_PROFILE``, else ``default``."""
    return profile or environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or "default"


def _parse(path: str, what: str) -> Dict[str, Section]:
    """The sections of one file, or nothing when the file does not exist."""
    if not os.path.isfile(path):
        return {}
    import configparser  # here, not at import: only profiles need it

    parser = configparser.RawConfigParser()
    # The error is raised after the except clause, not in it: ``raise ... from None`` hides
    # the original from tracebacks but keeps it as ``__context__``, and configparser's
    # messages quote the offending line, which may be a bare secret.
    problem = None
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle, path)
    except UnicodeDecodeError as exc:
        problem = f"{what} {path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
    except OSError as exc:
        problem = f"{what} {path}: cannot be read ({exc.strerror})"
    except configparser.Error as exc:
        # Only the line number and the kind of problem go into ours.
        problem = f"{what} {path}, {_describe(exc)}"
    if problem is not None:
        raise CredentialsError(problem)
    sections: Dict[str, Section] = {}
    for name in parser.sections():
        values: Section = {}
        for option in parser.options(name):
            value = parser.get(name, option)
            if value.startswith("\n"):
                nested: Dict[str, str] = {}
                for line in value.splitlines():
                    line = line.strip()
                    if not line:
                        continue
                    key, equals, item = line.partition("=")
                    if not equals:
                        raise CredentialsError(
                            f"{what} {path}, section [{name}]: a line nested under "
                            f"{option!r} is not 'name = value'")
                    nested[key.strip()] = item.strip()
                values[option] = nested
            else:
                values[option] = value
        sections[name] = values
    return sections


def _describe(exc: Exception) -> str:
    import configparser

    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"line {exc.lineno}: a setting comes before the first [section] header"
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"line {exc.lineno}: section [{exc.section}] appears twice"
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"line {exc.lineno}: {exc.option!r} appears twice in section [{exc.section}]"
    if isinstance(exc, configparser.ParsingError):
        lines = ", ".join(str(lineno) for lineno, _ in exc.errors)
        return f"line {lines}: not a [section] header, a 'name = value' setting or a comment"
    return type(exc).__name__


def _config_profile(section: str, kind: str = "profile") -> Optional[str]:
    """The profile (or, with ``kind="sso-session"``, the SSO session) a config file section
    names, split like a shell word as the CLI splits it; None for any other section."""
    if section == "default" and kind == "profile":
        return "default"
    if not section.startswith(kind):
        return None
    import shlex

    try:
        words = shlex.split(section)
    except ValueError:  # an unbalanced quote: the CLI skips the section
        return None
    return words[1] if len(words) == 2 else None


class SharedConfig:
    """Profiles from both files. ``profiles`` merges them; the per-file maps keep what each
    file said, for the providers that care where a key came from."""

    def __init__(self, config_path: str, credentials_path: str) -> None:
        self.config_path = config_path
        self.credentials_path = credentials_path
        self.config_profiles: Dict[str, Section] = {}
        self.credentials_profiles: Dict[str, Section] = {}
        self.profiles: Dict[str, Section] = {}
        #: The ``[sso-session NAME]`` sections of the config file, by name.
        self.sso_sessions: Dict[str, Section] = {}

    def where(self, profile: str) -> str:
        """Which file(s) name this profile, for error messages."""
        files = [path for path, table in ((self.config_path, self.config_profiles),
                                          (self.credentials_path, self.credentials_profiles))
                 if profile in table]
        return " and ".join(files) or f"{self.config_path} or {self.credentials_path}"


def credentials_path(environ: Mapping[str, str]) -> str:
    """``AWS_SHARED_CREDENTIALS_FILE``, else ``~/.aws/credentials``, expanded."""
    return _path(environ, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")


def load(environ: Mapping[str, str]) -> SharedConfig:
    """Read both files as the environment points to them (``AWS_CONFIG_FILE``,
    ``AWS_SHARED_CREDENTIALS_FILE``); missing files are empty."""
    config_path = _path(environ, "AWS_CONFIG_FILE", "~/.aws/config")
    shared = SharedConfig(config_path, credentials_path(environ))
    for section, values in _parse(config_path, "config file").items():
        name = _config_profile(section)
        if name is not None:
            shared.config_profiles[name] = values
        session = _config_profile(section, "sso-session")
        if session is not None:
            shared.sso_sessions[session] = values
    shared.credentials_profiles = _parse(shared.credentials_path, "credentials file")
    for name, values in shared.config_profiles.items():
        shared.profiles[name] = dict(values)
    for name, values in shared.credentials_profiles.items():
        shared.profiles.setdefault(name, {}).update(values)
    return shared
