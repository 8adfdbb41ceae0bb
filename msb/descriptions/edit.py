"""One value of a YAML description set in place: only that value's line changes (or one line is added), so the
comments, order and layout stay as the author wrote them. find-peak and explore write what they found back into the
system description through it; `set_scenario_value` gives one scenario its own value (explore's batch size and
threads)."""

from __future__ import annotations

import re
import stat
from collections.abc import Sequence
from pathlib import Path

import yaml

from msb.errors import SpecError
from msb.paths import atomic_write


def format_value(value: float) -> str:
    """A whole number without a decimal point (`batch_size: 8`, `target_qps: 1200`), anything else as Python has it."""
    return str(int(value)) if float(value).is_integer() else repr(value)


def set_value(text: str, path: Sequence[str], key: str, value: float) -> str:
    """`text` with the mapping at `path` holding `key: value`, every other line unchanged.

    The mapping may be a block or a flow mapping on one line (`Offline: {target_qps: 10}`); a missing key is added
    as one line. The result is read back, and anything but `value` there is refused rather than written."""
    shown = format_value(value)
    new = _put(text, path, key, shown)
    loaded = _read_back(new, [*path, key])
    if not _same_number(loaded, value):
        raise SpecError(
            f"could not set {'.'.join([*path, key])} in place (read back {loaded!r})", f"set it by hand to {shown}"
        )
    return new


def set_scenario_value(text: str, path: Sequence[str], key: str, scenario: str, value: int, fallback: str) -> str:
    """`text` with `key` under `path` giving `value` to `scenario` alone, the other scenarios keeping theirs.

    - a mapping of scenario to value (flow or block): the scenario's entry set, or added as one line or entry;
    - one value for every scenario, other than `value`: its line becomes `key: {FALLBACK: OLD, SCENARIO: value}`,
      so the scenarios not listed keep OLD (comments on the line stay);
    - no value: `key: {SCENARIO: value}` is added as one line;
    - already `value` for every scenario: nothing changes.
    The whole setting is read back, and anything but what was meant is refused rather than written."""
    current = _read_back(text, [*path, key])
    dotted = ".".join([*path, key])
    shown = format_value(value)
    if isinstance(current, dict):
        new = set_value(text, [*path, key], scenario, value)
        expected: dict[object, object] = {**current, scenario: value}
    elif current is None:
        new = _put(text, path, key, f"{{{scenario}: {shown}}}")
        expected = {scenario: value}
    elif _same_number(current, value):
        return text
    elif isinstance(current, int) and not isinstance(current, bool):
        new = _put(text, path, key, f"{{{fallback}: {format_value(current)}, {scenario}: {shown}}}")
        expected = {fallback: current, scenario: value}
    else:
        raise SpecError(f"could not set {dotted} in place (it holds {current!r})", f"set {scenario}: {shown} by hand")
    loaded = _read_back(new, [*path, key])
    if not isinstance(loaded, dict) or loaded != expected:
        raise SpecError(
            f"could not set {dotted}.{scenario} in place (read back {loaded!r})", f"set {scenario}: {shown} by hand"
        )
    return new


def _same_number(loaded: object, value: float) -> bool:
    return not isinstance(loaded, bool) and isinstance(loaded, int | float) and float(loaded) == float(value)


def _put(text: str, path: Sequence[str], key: str, shown: str) -> str:
    """`text` with the line of `key` in the mapping at `path` holding `shown` (YAML as written), or that line added;
    unchecked: the callers read the result back."""
    lines = text.splitlines(keepends=True)
    start, indent = -1, -1
    for depth, name in enumerate(path):
        found = _child(lines, start + 1, indent, name)
        if found is None:
            where = ".".join(path[: depth + 1])
            if depth > 0 and _read_back(text, path[: depth + 1]) is not None:
                raise SpecError(
                    f"could not set {'.'.join([*path, key])} in place: {'.'.join(path[:depth])} is written as "
                    "a one-line {...} mapping",
                    f"set it by hand to {shown}",
                )
            raise SpecError(f"no {where} in the system description", f"add {'.'.join(path)} first")
        start, indent = found
    flow = re.match(r"^(\s*\S+:\s*)\{(.*)\}(\s*(#.*)?)$", lines[start].rstrip("\n"))
    if flow:
        head, body, tail = flow.group(1), flow.group(2), flow.group(3)
        setting = re.compile(rf"(^|,)(\s*{re.escape(key)}:\s*)[^,]+")
        if setting.search(body):
            body = setting.sub(lambda m: f"{m.group(1)}{m.group(2)}{shown}", body, count=1)
        else:
            body = f"{key}: {shown}, {body.strip()}" if body.strip() else f"{key}: {shown}"
        lines[start] = f"{head}{{{body}}}{tail}\n"
    else:
        child = _child(lines, start + 1, indent, key)
        if child is not None:
            at = child[0]
            lines[at] = re.sub(
                rf"^(\s*{re.escape(key)}:\s*)[^#\n]*?(\s*(#.*)?)$",
                lambda m: f"{m.group(1)}{shown}{m.group(2)}",
                lines[at],
            )
        else:
            # Indented like the mapping's other keys, so the new line belongs to it.
            lines.insert(start + 1, f"{' ' * _child_indent(lines, start + 1, indent)}{key}: {shown}\n")
    return "".join(lines)


def _read_back(text: str, path: Sequence[str]) -> object:
    try:
        data: object = yaml.safe_load(text)
        for name in path:
            data = data.get(name) if isinstance(data, dict) else None
        return data
    except yaml.YAMLError:
        return None


def _child(lines: list[str], start: int, parent_indent: int, name: str) -> tuple[int, int] | None:
    """The line index and indent of mapping key `name` directly inside the block that begins at `start`."""
    child_indent = None
    for i in range(start, len(lines)):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(lines[i]) - len(lines[i].lstrip(" "))
        if indent <= parent_indent:
            return None
        child_indent = indent if child_indent is None else child_indent
        if indent == child_indent and re.match(rf"^{re.escape(name)}\s*:", stripped):
            return i, indent
    return None


def _child_indent(lines: list[str], start: int, parent_indent: int) -> int:
    """The indent of the block's keys; two spaces in from the parent for an empty block."""
    for line in lines[start:]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        return indent if indent > parent_indent else parent_indent + 2
    return parent_indent + 2


def write_in_place(path: Path, text: str) -> None:
    """Replace the description's text atomically (a crash leaves the old or the new file, never half of one),
    keeping its permissions."""
    atomic_write(path, text, mode=stat.S_IMODE(path.stat().st_mode))
