"""One loader for both layouts of the official SigV4 test suite in tests/vectors.

Every case becomes a ``SuiteCase`` with its request, signing inputs and expected outputs;
``tests/test_suite_vectors.py`` checks them stage by stage.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
# The vectors travel with the tests (tests/vectors, see its README for their provenance), so a
# clone, an sdist or a wheel's test step runs them with nothing beside it. FASTSIG_TESTDATA may
# point at another copy of the same layout.
SUITE = Path(os.environ.get("FASTSIG_TESTDATA") or HERE / "vectors") / "sigv4-suite"
if not SUITE.is_dir():
    raise RuntimeError(f"official SigV4 vectors not found at {SUITE}")

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TIMESTAMP = "20150830T123600Z"


@dataclass
class Request:
    method: str
    target: str  # the raw request target: path and query, as written
    headers: List[Tuple[str, str]]
    body: Optional[bytes]

    @property
    def url(self) -> str:
        host = next(v for n, v in self.headers if n.lower() == "host")
        return f"https://{host}{self.target}"


@dataclass
class SuiteCase:
    layout: str  # "aws-c-auth" or "botocore"
    name: str
    path: Path
    request: Request
    token: Optional[str] = None
    normalize: bool = True
    sign_body: bool = False
    omit_session_token: bool = False
    expires_in: int = 3600
    expected: Dict[str, str] = field(default_factory=dict)  # "header-creq", "query-sts", ...

    @property
    def id(self) -> str:
        return f"{self.layout}/{self.name}"


def parse_request(text: str) -> Request:
    """The suite's request files: a request line, ``Name:value`` lines (a line starting with
    blanks continues the previous value), then optionally a blank line and the body."""
    head, sep, body = text.partition("\n\n")
    lines = head.split("\n")
    method, _, rest = lines[0].partition(" ")
    target = rest.rsplit(" ", 1)[0]
    headers: List[Tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            name, value = headers[-1]
            headers[-1] = (name, value + "\n" + line)
        elif line:
            name, _, value = line.partition(":")
            headers.append((name, value))
    return Request(method, target, headers, body.encode() if sep else None)


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def aws_c_auth_cases(kind: str = "v4") -> List[SuiteCase]:
    cases: List[SuiteCase] = []
    for case_dir in sorted((SUITE / "aws-c-auth" / kind).iterdir()):
        if not (case_dir / "context.json").exists() or not (case_dir / "request.txt").exists():
            continue  # test_vectors_are_whole names the missing file
        context = json.loads(_read(case_dir / "context.json"))
        case = SuiteCase(
            layout=f"aws-c-auth-{kind}",
            name=case_dir.name,
            path=case_dir,
            request=parse_request(_read(case_dir / "request.txt")),
            token=context["credentials"].get("token"),
            normalize=context["normalize"],
            sign_body=context["sign_body"],
            omit_session_token=context.get("omit_session_token", False),
            expires_in=context["expiration_in_seconds"],
        )
        for style in ("header", "query"):
            for stage, suffix in (
                ("creq", "canonical-request"),
                ("sts", "string-to-sign"),
                ("signature", "signature"),
                ("signed-request", "signed-request"),
            ):
                file = case_dir / f"{style}-{suffix}.txt"
                if file.exists():
                    case.expected[f"{style}-{stage}"] = _read(file)
        cases.append(case)
    return cases


def botocore_cases() -> List[SuiteCase]:
    root = SUITE / "botocore"
    cases: List[SuiteCase] = []
    for req in sorted(root.rglob("*.req")):
        case_dir = req.parent
        name = req.stem
        if not all((case_dir / f"{name}.{ext}").exists() for ext in ("creq", "sts", "authz")):
            continue  # test_vectors_are_whole names the missing file
        creq = _read(case_dir / f"{name}.creq")
        token = None
        for line in creq.split("\n"):
            # The older suite leaves the token out of .req; it is in the canonical request.
            if line.startswith("x-amz-security-token:"):
                token = line.partition(":")[2]
        case = SuiteCase(
            layout="botocore",
            name=str(case_dir.relative_to(root)),
            path=case_dir,
            request=parse_request(_read(req)),
            token=token,
            sign_body=True,
        )
        case.expected["header-creq"] = creq
        case.expected["header-sts"] = _read(case_dir / f"{name}.sts")
        case.expected["header-authz"] = _read(case_dir / f"{name}.authz")
        cases.append(case)
    return cases
