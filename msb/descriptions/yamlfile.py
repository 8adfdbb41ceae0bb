"""Strict YAML loading: every spec file is UTF-8 text holding a mapping whose keys are checked (a misspelt key is an
error), and whose values are read through typed getters, so a wrong type is an error naming the file and the field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard, TypeVar

import yaml

from harness.contract import NAME_RULE, is_name
from msb.errors import SpecError

T = TypeVar("T")


class _Required:
    """The default of a getter whose field must be present."""


REQUIRED = _Required()


@dataclass(frozen=True)
class Where:
    """A place in a spec file as messages name it: `systems/x.yaml benchmarks.resnet50.batch_size`."""

    file: str
    path: str = ""

    def at(self, key: object) -> Where:
        return Where(self.file, f"{self.path}.{key}" if self.path else str(key))

    def __str__(self) -> str:
        return f"{self.file} {self.path}" if self.path else self.file


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of a file the tool reads; a missing, unreadable, binary or non-UTF-8 file is an error naming
    `what` and the path (never a UnicodeDecodeError or OSError traceback)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{what} {path} does not exist", "check the path") from None
    except IsADirectoryError:
        raise SpecError(f"{what} {path} is a directory, not a file", "give the path of the file") from None
    except PermissionError:
        raise SpecError(
            f"{what} {path} cannot be read: permission denied", f"make it readable: chmod a+r {path}"
        ) from None
    except OSError as exc:
        raise SpecError(f"{what} {path} cannot be read: {exc.strerror or exc}", "check the file and its disk") from None
    # A NUL byte is valid UTF-8 but never part of a text file: it means a binary file (or an image) by mistake.
    if b"\0" in data:
        raise SpecError(f"{what} {path} is a binary file, not text", "give the YAML/text file itself")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{what} {path} is not UTF-8 text (byte {exc.start} cannot be decoded)", "save the file as UTF-8"
        ) from None


def load_mapping(path: Path, what: str) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping; `what` names the kind of file in messages."""
    text = read_text(path, what)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{what} {path} is not valid YAML: {exc}", "fix the syntax at the line shown") from None
    if not isinstance(data, dict):
        raise SpecError(f"{what} {path} must be a YAML mapping, not {type(data).__name__}")
    return data


def check_keys(
    data: Mapping[str, Any],
    where: str | Where,
    required: Iterable[str],
    optional: Iterable[str] = (),
) -> None:
    """Reject missing required keys and unknown keys, naming each and the valid ones."""
    required = list(required)
    allowed = set(required) | set(optional)
    missing = [key for key in required if key not in data]
    if missing:
        raise SpecError(f"{where}: missing field(s) {', '.join(missing)}", f"add them; valid fields: {sorted(allowed)}")
    unknown = sorted(set(data) - allowed, key=str)
    if unknown:
        raise SpecError(
            f"{where}: unknown field(s) {', '.join(map(str, unknown))}",
            f"check the spelling; valid fields: {', '.join(sorted(allowed))}",
        )


def named_files(directory: Path, suffix: str = ".yaml") -> list[str]:
    """The names (file stems) of the spec files in a directory, sorted: used to list valid choices."""
    return sorted(p.stem for p in directory.glob(f"*{suffix}")) if directory.is_dir() else []


def shown(value: object) -> str:
    """A value as a message quotes it: YAML's spelling of booleans and null, a short repr of the rest."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return f"a mapping {_short(value)}"
    if isinstance(value, list):
        return f"a list {_short(value)}"
    return _short(value)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bad(where: Where, expected: str, value: object, fix: str) -> SpecError:
    return SpecError(f"{where}: expected {expected}, got {shown(value)}", fix)


def _present(data: Mapping[str, Any], key: str, where: Where) -> bool:
    """Whether `key` has a value; a blank one (`key:`, YAML's null) counts as absent, as if the line were not there."""
    if not isinstance(data, Mapping):
        raise _bad(where, "a mapping (KEY: VALUE lines)", data, "write it as indented KEY: VALUE lines")
    return data.get(key) is not None


def _defaulted(default: T | _Required, data: Mapping[str, Any], key: str, where: Where) -> TypeGuard[T]:
    """Whether `key` is absent so `default` stands; an absent key with no default (REQUIRED) is refused."""
    if _present(data, key, where):
        return False
    if isinstance(default, _Required):
        raise _missing(where.at(key))
    return True


def _missing(where: Where) -> SpecError:
    return SpecError(f"{where}: missing a value", f"set {where.path or where}")


def get_int(
    data: Mapping[str, Any], key: str, where: Where, default: T | _Required = REQUIRED, minimum: int | None = None
) -> int | T:
    """A whole number (not a boolean, not a float, not text), at least `minimum` when given."""
    field = where.at(key)
    if _defaulted(default, data, key, where):
        return default
    value = data[key]
    # bool is an int in Python; `batch_size: true` is a typo, not 1.
    ok = isinstance(value, int) and not isinstance(value, bool) and (minimum is None or value >= minimum)
    if not ok:
        expected = "a whole number" if minimum is None else f"a whole number of {minimum} or more"
        raise _bad(
            field, expected, value, f"set {key} to {expected}, without quotes (e.g. {key}: {max(minimum or 1, 1)})"
        )
    return int(value)


def get_number(
    data: Mapping[str, Any], key: str, where: Where, default: T | _Required = REQUIRED, above: float | None = None
) -> float | T:
    """A number, whole or not (not a boolean, not text), greater than `above` when given; kept as written (int or
    float) so that a file rewritten from it shows the same value."""
    field = where.at(key)
    if _defaulted(default, data, key, where):
        return default
    value = data[key]
    ok = isinstance(value, int | float) and not isinstance(value, bool) and (above is None or value > above)
    if not ok:
        expected = "a number" if above is None else f"a number above {above:g}"
        raise _bad(field, expected, value, f"set {key} to {expected}, without quotes (e.g. {key}: 100 or 12.5)")
    return float(value)


def get_str(data: Mapping[str, Any], key: str, where: Where, default: T | _Required = REQUIRED) -> str | T:
    """Text. A number is refused rather than converted: `version: 3.10` would silently become "3.1"."""
    field = where.at(key)
    if _defaulted(default, data, key, where):
        return default
    value = data[key]
    if not isinstance(value, str):
        raise _bad(field, "text", value, f'write {key} as text; quote it if it looks like a number: {key}: "..."')
    return value


def get_name(data: Mapping[str, Any], key: str, where: Where, default: T | _Required = REQUIRED) -> str | T:
    """Text that becomes a folder or file name: it follows the project's one name rule (harness.contract)."""
    value = get_str(data, key, where, default)
    if isinstance(value, str):
        check_name_at(value, where.at(key))
    return value


def check_name_at(value: object, where: Where | str) -> str:
    """`value` if it is a valid name; else an error naming where it came from and the rule."""
    if not is_name(value):
        raise SpecError(f"{where}: {shown(value)} is not a valid name", f"use {NAME_RULE}")
    return str(value)


def get_bool(data: Mapping[str, Any], key: str, where: Where, default: T | _Required = REQUIRED) -> bool | T:
    field = where.at(key)
    if _defaulted(default, data, key, where):
        return default
    value = data[key]
    if not isinstance(value, bool):
        raise _bad(field, "true or false", value, f"set {key}: true or {key}: false")
    return value


def get_mapping(
    data: Mapping[str, Any], key: str, where: Where, default: T | _Required = REQUIRED
) -> dict[str, Any] | T:
    """A nested mapping with text keys."""
    field = where.at(key)
    if _defaulted(default, data, key, where):
        return default
    value = data[key]
    if not isinstance(value, Mapping):
        raise _bad(field, "a mapping (KEY: VALUE lines)", value, f"write {key} as indented KEY: VALUE lines, or {{}}")
    bad_keys = [k for k in value if not isinstance(k, str)]
    if bad_keys:
        raise SpecError(f"{field}: key {shown(bad_keys[0])} is not text", "quote it, or use a name")
    return dict(value)


def get_strings(
    data: Mapping[str, Any], key: str, where: Where, default: T | _Required = REQUIRED
) -> tuple[str, ...] | T:
    """A list of text items."""
    field = where.at(key)
    if _defaulted(default, data, key, where):
        return default
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _bad(field, "a list of text items", value, f"write {key} as lines of `- TEXT` (quote numbers)")
    return tuple(value)


def get_scalars(data: Mapping[str, Any], key: str, where: Where) -> dict[str, str | int | float | bool]:
    """An optional mapping of text keys to single values (no lists or mappings): options and pins."""
    values = get_mapping(data, key, where, {})
    for name, value in values.items():
        if not isinstance(value, str | int | float | bool):
            raise _bad(where.at(key).at(name), "a single value (text, number, true or false)", value, "flatten it")
    return values
