"""`build.py find-peak`: run the harness's peak search in the image and write the value found into the system
description, changing only that value's line (comments and layout stay as the author wrote them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from msb.descriptions.edit import set_value, write_in_place
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


def rewrite_setting(text: str, benchmark: str, scenario: str, key: str, value: float) -> str:
    """`text` with benchmarks.<benchmark>.scenarios.<scenario>.<key> set to `value`, every other line unchanged."""
    return set_value(text, ["benchmarks", benchmark, "scenarios", scenario], key, value)


def write_peak(path: Path, benchmark: str, scenario: str, peak: Peak) -> None:
    write_in_place(path, rewrite_setting(path.read_text(), benchmark, scenario, peak.setting, peak.value))
