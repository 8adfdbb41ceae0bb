"""`build.py find-peak`: run the harness's peak search in the image and write the value found into the system
description, changing only that value's line (comments and layout stay as the author wrote them)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from msb.descriptions.system import SCENARIO_SETTINGS
from msb.errors import SpecError


@dataclass(frozen=True)
class Peak:
    setting: str  # target_qps or target_latency_ms
    value: float


def read_peak(text: str, where: str) -> Peak:
    """The harness's --result-json: {"setting": ..., "value": ..., "trials": [...]}."""
    try:
        data = json.loads(text)
        peak = Peak(str(data["setting"]), float(data["value"]))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"{where} is not a find-peak result ({exc})", "run find-peak again; see its output") from None
    if peak.setting not in SCENARIO_SETTINGS:
        raise SpecError(f"{where}: unknown setting {peak.setting!r}", f"expected one of {', '.join(SCENARIO_SETTINGS)}")
    return peak


def format_value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def rewrite_setting(text: str, benchmark: str, scenario: str, key: str, value: float) -> str:
    """`text` with benchmarks.<benchmark>.scenarios.<scenario>.<key> set to `value`, every other line unchanged.

    Handles the scenario's settings as a flow mapping on one line (`Offline: {target_qps: 10}`) or as a block."""
    lines = text.splitlines(keepends=True)
    path = ["benchmarks", benchmark, "scenarios", scenario]
    start, indent = -1, -1
    for name in path:
        found = _child(lines, start + 1, indent, name)
        if found is None:
            raise SpecError(
                f"no {'.'.join(path[: path.index(name) + 1])} in the system description",
                f"add benchmarks.{benchmark}.scenarios.{scenario} first",
            )
        start, indent = found
    shown = format_value(value)
    line = lines[start]
    flow = re.match(r"^(\s*\S+:\s*)\{(.*)\}(\s*(#.*)?)$", line.rstrip("\n"))
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
            lines.insert(start + 1, f"{' ' * (indent + 2)}{key}: {shown}\n")
    new = "".join(lines)
    loaded = yaml.safe_load(new)["benchmarks"][benchmark]["scenarios"][scenario][key]
    if float(loaded) != float(value):
        raise SpecError(
            f"could not set {'.'.join(path)}.{key} in place (read back {loaded!r})",
            f"set it by hand to {shown}",
        )
    return new


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


def write_peak(path: Path, benchmark: str, scenario: str, peak: Peak) -> None:
    path.write_text(rewrite_setting(path.read_text(), benchmark, scenario, peak.setting, peak.value))
