"""Findings: what the checker reports, one per problem, with the file, the rule broken and the fix."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class Severity(enum.Enum):
    ERROR = "error"  # the official checker would reject the result, or the rules forbid it
    WARNING = "warning"  # allowed, but worth a look


@dataclass(frozen=True)
class Finding:
    severity: Severity
    path: Path
    message: str
    fix: str


def error(path: Path, message: str, fix: str) -> Finding:
    return Finding(Severity.ERROR, path, message, fix)


def warning(path: Path, message: str, fix: str) -> Finding:
    return Finding(Severity.WARNING, path, message, fix)


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


def format_finding(finding: Finding, root: Path) -> str:
    """One linter-style line, `path: severity: message`, and an indented fix line."""
    try:
        shown = finding.path.relative_to(root)
    except ValueError:
        shown = finding.path
    return f"{shown}: {finding.severity.value}: {finding.message}\n    fix: {finding.fix}"


def format_report(findings: Iterable[Finding], root: Path) -> str:
    """All findings sorted by path, then a count line."""
    ordered = sorted(findings, key=lambda f: (str(f.path), f.severity.value, f.message))
    errors = sum(f.severity is Severity.ERROR for f in ordered)
    lines = [format_finding(f, root) for f in ordered]
    lines.append(f"{errors} error(s), {len(ordered) - errors} warning(s) in {root}")
    return "\n".join(lines)
