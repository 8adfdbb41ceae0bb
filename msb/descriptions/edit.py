"""One value of a YAML description set in place: only that value's line changes (or one line is added), so the
comments, order and layout stay as the author wrote them. find-peak and explore write what they found back into the
system description through it."""

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
    lines = text.splitlines(keepends=True)
    dotted = ".".join([*path, key])
    start, indent = -1, -1
    for depth, name in enumerate(path):
        found = _child(lines, start + 1, indent, name)
        if found is None:
            where = ".".join(path[: depth + 1])
            raise SpecError(f"no {where} in the system description", f"add {'.'.join(path)} first")
        start, indent = found
    shown = format_value(value)
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
            lines[at] = re.sub(rf"^(\s*{re.escape(key)}:\s*)[^#\n]*?(\s*(#.*)?)$", rf"\g<1>{shown}\g<2>", lines[at])
        else:
            # Indented like the mapping's other keys, so the new line belongs to it.
            lines.insert(start + 1, f"{' ' * _child_indent(lines, start + 1, indent)}{key}: {shown}\n")
    new = "".join(lines)
    loaded = _read_back(new, [*path, key])
    if isinstance(loaded, bool) or not isinstance(loaded, int | float) or float(loaded) != float(value):
        raise SpecError(f"could not set {dotted} in place (read back {loaded!r})", f"set it by hand to {shown}")
    return new


def _read_back(text: str, path: Sequence[str]) -> object:
    try:
        data: object = yaml.safe_load(text)
        for name in path:
            data = data[name] if isinstance(data, dict) else None
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
