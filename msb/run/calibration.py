"""closed/<submitter>/calibration.md (pure): how weights were calibrated or quantised, which the round requires
(v5.1 on). One section per system, so systems of one submitter share the file."""

from __future__ import annotations

import re

from msb.descriptions.system import SystemSpec
from msb.errors import SpecError

TITLE = "# Calibration and quantisation\n"
FULL_PRECISION = ("fp32",)


def system_section(system: SystemSpec) -> str:
    """The system's text: its `calibration:` field, or for full-precision models the statement that none was done."""
    heading = f"## {system.name}\n\n"
    if system.calibration is not None:
        return heading + system.calibration.strip() + "\n"
    lowered = sorted({b.precision for b in system.benchmarks.values()} - set(FULL_PRECISION))
    if lowered:
        raise SpecError(
            f"system '{system.name}' runs in {', '.join(lowered)} but says nothing about calibration",
            "add `calibration: |` to the system description: the calibration data set and the quantisation method",
        )
    runs = ", ".join(f"{name} ({b.precision}, {b.backend})" for name, b in system.benchmarks.items())
    return (
        heading + f"{runs}: the reference weights in full precision; no calibration and no quantisation were applied.\n"
    )


def calibration_doc(existing: str | None, system: SystemSpec) -> str:
    """The file with this system's section added or replaced; other systems' sections stay as they are."""
    section = system_section(system)
    text = existing if existing and existing.startswith(TITLE) else TITLE
    pattern = re.compile(rf"^## {re.escape(system.name)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: section + "\n", text).rstrip("\n") + "\n"
    return text.rstrip("\n") + "\n\n" + section
