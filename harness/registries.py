"""What the backend and benchmark registries share: the look-up of an entry by name, the import of what it names
("module:attribute") only when asked, and the check of the options a run gives against the frozen options
dataclass an entry declares. It imports nothing heavy, so a mistyped option is refused before the entry's module
(and its runtime or dependencies) is imported, worded the same way for both kinds.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from typing import Any, TypeVar

Entry = TypeVar("Entry")


def lookup(entries: Mapping[str, Entry], kind: str, name: str, error: type[Exception]) -> Entry:
    """The entry called `name`; `error` names the `kind` ("backend", "benchmark") and the valid names otherwise."""
    entry = entries.get(name)
    if entry is None:
        raise error(f"unknown {kind} {name!r}; valid: {', '.join(sorted(entries))}")
    return entry


def load_target(target: str) -> Any:
    """The attribute a "module:attribute" target names, its module imported now (runtimes load on first use)."""
    module_name, attr = target.split(":")
    return getattr(importlib.import_module(module_name), attr)


def checked_options(
    kind: str, name: str, cls: type[Any] | None, given: Mapping[str, object], error: type[Exception]
) -> Any:
    """`given` as an instance of `cls` (None when `cls` is None: the entry takes no options). A key `cls` does not
    declare raises `error`, naming the `kind` ("backend", "benchmark") called `name` and the options it takes."""
    declared = [field.name for field in dataclasses.fields(cls)] if cls is not None else []
    unknown = sorted(set(given) - set(declared))
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        takes = ", ".join(declared) if declared else "none"
        raise error(
            f"the {name} {kind} has no option{plural} {', '.join(map(repr, unknown))}; it takes: {takes}; "
            f"drop {kind} option{plural} {', '.join(unknown)}"
        )
    return None if cls is None else cls(**given)
