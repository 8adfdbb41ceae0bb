"""Strict YAML loading: every spec file is a mapping whose keys are checked, so a misspelt key is an error."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from msb.errors import SpecError


def load_mapping(path: Path, what: str) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping; `what` names the kind of file in messages."""
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SpecError(f"{what} {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{what} {path} is not valid YAML: {exc}", "fix the syntax at the line shown") from None
    if not isinstance(data, dict):
        raise SpecError(f"{what} {path} must be a YAML mapping, not {type(data).__name__}")
    return data


def check_keys(
    data: Mapping[str, Any],
    where: str,
    required: Iterable[str],
    optional: Iterable[str] = (),
) -> None:
    """Reject missing required keys and unknown keys, naming each and the valid ones."""
    required = list(required)
    allowed = set(required) | set(optional)
    missing = [key for key in required if key not in data]
    if missing:
        raise SpecError(f"{where}: missing field(s) {', '.join(missing)}", f"add them; valid fields: {sorted(allowed)}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SpecError(
            f"{where}: unknown field(s) {', '.join(unknown)}",
            f"check the spelling; valid fields: {', '.join(sorted(allowed))}",
        )


def named_files(directory: Path, suffix: str = ".yaml") -> list[str]:
    """The names (file stems) of the spec files in a directory, sorted: used to list valid choices."""
    return sorted(p.stem for p in directory.glob(f"*{suffix}")) if directory.is_dir() else []
