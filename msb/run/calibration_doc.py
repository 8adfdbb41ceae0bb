"""closed/<submitter>/calibration.md (pure): how weights were calibrated or quantised, which the round requires
(v5.1 on). One section per system, so systems of one submitter share the file."""

from __future__ import annotations

import re
from collections.abc import Mapping

from msb.descriptions.system import SystemSpec
from msb.errors import SpecError

TITLE = "# Calibration and quantisation\n"
FULL_PRECISION = ("fp32",)


def system_section(system: SystemSpec, calibrated: Mapping[str, str] | None = None) -> str:
    """The system's text: its `calibration:` field; else one line per benchmark, an INT8 one from its calibration
    record (`calibrated`: benchmark -> text, from `build.py calibrate`), a full-precision one saying none was done."""
    heading = f"## {system.name}\n\n"
    if system.calibration is not None:
        return heading + system.calibration.strip() + "\n"
    calibrated = calibrated or {}
    lowered = sorted(
        name
        for name, b in system.benchmarks.items()
        if b.precision not in FULL_PRECISION and not (b.precision == "int8" and name in calibrated)
    )
    if lowered:
        precisions = ", ".join(sorted({system.benchmarks[name].precision for name in lowered}))
        raise SpecError(
            f"system '{system.name}' runs {', '.join(lowered)} in {precisions} but says nothing about calibration",
            "make the INT8 artefact with build.py calibrate (its record describes it), or add `calibration: |` to "
            "the system description: the calibration data set and the quantisation method",
        )
    full = [(name, b) for name, b in system.benchmarks.items() if b.precision in FULL_PRECISION]
    lines = [calibrated[name] for name, b in system.benchmarks.items() if b.precision == "int8"]
    if full:
        runs = ", ".join(f"{name} ({b.precision}, {b.backend})" for name, b in full)
        lines.append(
            f"{runs}: the reference weights in full precision; no calibration and no quantisation were applied."
        )
    return heading + "\n\n".join(lines) + "\n"


def calibration_doc(existing: str | None, system: SystemSpec, calibrated: Mapping[str, str] | None = None) -> str:
    """The file with this system's section added or replaced; other systems' sections stay as they are."""
    section = system_section(system, calibrated)
    text = existing if existing and existing.startswith(TITLE) else TITLE
    pattern = re.compile(rf"^## {re.escape(system.name)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: section + "\n", text).rstrip("\n") + "\n"
    return text.rstrip("\n") + "\n\n" + section
