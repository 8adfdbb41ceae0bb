"""data/calibration/lists.yaml: per benchmark, MLPerf's calibration list and the accuracy gate's defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from msb.descriptions.yamlfile import Where, check_keys, get_int, get_mapping, get_number, get_str, load_mapping
from msb.errors import SpecError

LISTS_FILE = "lists.yaml"


@dataclass(frozen=True)
class CalibrationDefaults:
    benchmark: str
    calibration_list: Path | None  # MLPerf's list, or None where MLPerf publishes none
    gate_samples: int
    gate_fraction: float


def load_defaults(folder: Path, benchmark: str) -> CalibrationDefaults:
    """The defaults of `benchmark`; one the file does not know is an error listing those it does."""
    path = folder / LISTS_FILE
    data = load_mapping(path, "calibration list index")
    check_keys(data, str(path), ["benchmarks"])
    where = Where(str(path))
    benchmarks = get_mapping(data, "benchmarks", where)
    if benchmark not in benchmarks:
        raise SpecError(
            f"{path} has no calibration defaults for benchmark '{benchmark}'",
            f"choose one of: {', '.join(sorted(benchmarks))}, or add it there",
        )
    entry = benchmarks[benchmark]
    at = where.at("benchmarks").at(benchmark)
    check_keys(entry, at, ["gate_samples", "gate_fraction"], ["list"])
    fraction = get_number(entry, "gate_fraction", at, above=0)
    if fraction > 1:
        raise SpecError(f"{at}.gate_fraction: {fraction:g} is above 1", "give a fraction such as 0.99")
    name = get_str(entry, "list", at, None)
    return CalibrationDefaults(
        benchmark=benchmark,
        calibration_list=None if name is None else folder / name,
        gate_samples=get_int(entry, "gate_samples", at, minimum=1),
        gate_fraction=fraction,
    )
