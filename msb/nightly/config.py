"""The nightly job's YAML config, read strictly: unknown keys are errors naming the key, paths must exist, every unit
must have its counterpart in an explicit baseline experiment. Relative paths are relative to the config file's folder
(cron and systemd start the job in another working directory)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.contract import MODES
from msb.descriptions.image import image_names
from msb.descriptions.system import SystemSpec, load_system_spec
from msb.descriptions.yamlfile import (
    Where,
    check_keys,
    get_bool,
    get_int,
    get_number,
    get_str,
    get_strings,
    load_mapping,
)
from msb.errors import SpecError
from msb.project import Project
from msb.run import compare, manifest

PREVIOUS = "previous"  # baseline: the experiment of the last night recorded in the history
DEFAULT_REPOSITORY = "msb-nightly"  # nightly builds never move the msb/NAME:latest tags people use
DEFAULT_PLOT_NIGHTS = 30
_TOP_REQUIRED = ("images", "units", "dataset", "model", "baseline")
_TOP_OPTIONAL = ("tolerance", "output", "history", "no_cache", "repository", "plot_nights")
_UNIT_REQUIRED = ("system", "benchmark", "scenario", "mode")
_UNIT_OPTIONAL = ("count", "dataset", "model")
UnitKey = tuple[str, str, str, str]  # (system name, benchmark, scenario, mode)


@dataclass(frozen=True)
class Unit:
    system: SystemSpec
    benchmark: str
    scenario: str
    mode: str
    count: int | None
    dataset: Path
    model: Path

    @property
    def key(self) -> UnitKey:
        """What identifies the unit in any experiment: the names its spec records (not the harness's paths)."""
        return (self.system.name, self.benchmark, self.scenario, self.mode)

    @property
    def label(self) -> str:
        return " ".join(self.key)


@dataclass(frozen=True)
class NightlyConfig:
    path: Path
    images: tuple[str, ...]
    units: tuple[Unit, ...]
    baseline: Path | None  # None: `previous`, resolved from the history when the night starts
    tolerance_pct: float
    output: Path
    history: Path
    no_cache: bool
    repository: str
    plot_nights: int


def load_config(project: Project, path: Path) -> NightlyConfig:
    data = load_mapping(path, "nightly config")
    where = Where(str(path))
    check_keys(data, where, _TOP_REQUIRED, _TOP_OPTIONAL)
    base = path.resolve().parent
    images = _images(project, data, where)
    dataset = _existing(base, get_str(data, "dataset", where), where.at("dataset"))
    model = _existing(base, get_str(data, "model", where), where.at("model"))
    units = _units(project, data, where, base, dataset, model)
    _images_cover_units(images, units, where)
    output = (base / get_str(data, "output", where, "nights")).resolve()
    config = NightlyConfig(
        path=path.resolve(),
        images=images,
        units=units,
        baseline=_baseline(base, get_str(data, "baseline", where), where.at("baseline")),
        tolerance_pct=_tolerance(data, where),
        output=output,
        history=(base / get_str(data, "history", where, str(output / "history.sqlite"))).resolve(),
        no_cache=get_bool(data, "no_cache", where, True),
        repository=get_str(data, "repository", where, DEFAULT_REPOSITORY),
        plot_nights=get_int(data, "plot_nights", where, DEFAULT_PLOT_NIGHTS, minimum=2),
    )
    if config.baseline is not None:
        baseline_manifests(config.baseline, config.units, str(where.at("baseline")))
    return config


def baseline_manifests(experiment: Path, units: tuple[Unit, ...], what: str) -> dict[UnitKey, Path]:
    """The manifest of each unit's counterpart in `experiment`; a unit without one is an error naming it."""
    found = index_manifests(experiment)
    missing = [unit.label for unit in units if unit.key not in found]
    if missing:
        raise SpecError(
            f"{what}: {experiment} has no result for unit(s) {'; '.join(missing)}",
            "choose a baseline experiment that ran these units (build.py run writes their manifests), or drop them",
        )
    return {unit.key: found[unit.key] for unit in units}


def index_manifests(experiment: Path) -> dict[UnitKey, Path]:
    """Accuracy and performance units of an experiment by (system, benchmark, scenario, mode), from their manifests."""
    root = experiment / manifest.MANIFESTS_DIR
    found: dict[UnitKey, Path] = {}
    for path in sorted(root.rglob("*.json")) if root.is_dir() else []:
        spec = _spec_of(path)
        if spec is not None and spec.get("compliance") is None:
            found[(str(spec["system"]), str(spec["benchmark"]), str(spec["scenario"]), str(spec["mode"]))] = path
    return found


def _spec_of(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None  # not a manifest (reproduce leaves comparison files elsewhere; be lenient with strays)
    spec = data.get("spec") if isinstance(data, dict) else None
    return spec if isinstance(spec, dict) else None


def _images(project: Project, data: dict[str, Any], where: Where) -> tuple[str, ...]:
    names = get_strings(data, "images", where)
    known = image_names(project)
    for name in names:
        if name not in known:
            raise SpecError(f"{where.at('images')}: unknown image {name!r}", f"choose from {', '.join(known)}")
    if not names:
        raise SpecError(f"{where.at('images')}: no image to rebuild", "name at least one image from images/")
    return names


def _units(
    project: Project, data: dict[str, Any], where: Where, base: Path, dataset: Path, model: Path
) -> tuple[Unit, ...]:
    items = data["units"]
    if not isinstance(items, list) or not items:
        raise SpecError(f"{where.at('units')}: expected a list of units", "write units as lines of `- {system: ...}`")
    units = tuple(_unit(project, item, where.at("units").at(index), base, dataset, model)
                  for index, item in enumerate(items))  # fmt: skip
    keys = [unit.key for unit in units]
    repeated = sorted({unit.label for unit in units if keys.count(unit.key) > 1})
    if repeated:
        raise SpecError(f"{where.at('units')}: unit(s) listed twice: {'; '.join(repeated)}", "list each unit once")
    return units


def _unit(project: Project, item: object, where: Where, base: Path, dataset: Path, model: Path) -> Unit:
    if not isinstance(item, dict):
        raise SpecError(
            f"{where}: expected a mapping (system, benchmark, scenario, mode, count)", "see nightly/demo.yaml"
        )
    check_keys(item, where, _UNIT_REQUIRED, _UNIT_OPTIONAL)
    system = load_system_spec(project, get_str(item, "system", where))
    benchmark, scenario, mode = (get_str(item, key, where) for key in ("benchmark", "scenario", "mode"))
    if mode not in MODES:
        raise SpecError(f"{where.at('mode')}: {mode!r} is not a mode", f"use one of {', '.join(MODES)}")
    system.settings(benchmark, scenario)  # an unknown benchmark or scenario of the system fails here, named
    own_dataset = get_str(item, "dataset", where, None)
    own_model = get_str(item, "model", where, None)
    return Unit(
        system=system,
        benchmark=benchmark,
        scenario=scenario,
        mode=mode,
        count=get_int(item, "count", where, None, minimum=1),
        dataset=_existing(base, own_dataset, where.at("dataset")) if own_dataset else dataset,
        model=_existing(base, own_model, where.at("model")) if own_model else model,
    )


def _images_cover_units(images: tuple[str, ...], units: tuple[Unit, ...], where: Where) -> None:
    # A unit runs in the image rebuilt tonight, never in whatever an older build left tagged.
    for unit in units:
        if unit.system.image not in images:
            raise SpecError(
                f"{where.at('units')}: unit {unit.label} runs in image {unit.system.image!r}, not rebuilt tonight",
                f"add {unit.system.image} to images:",
            )


def _existing(base: Path, value: str, where: Where) -> Path:
    path = (base / value).resolve()
    if not path.exists():
        raise SpecError(f"{where}: {path} does not exist", "check the path (relative paths start at the config file)")
    return path


def _baseline(base: Path, value: str, where: Where) -> Path | None:
    if value == PREVIOUS:
        return None
    path = _existing(base, value, where)
    if not (path / manifest.MANIFESTS_DIR).is_dir():
        raise SpecError(
            f"{where}: {path} is not an experiment with manifests (no {manifest.MANIFESTS_DIR}/)",
            f"give an experiment folder made by build.py run or a night, or `{PREVIOUS}`",
        )
    return path


def _tolerance(data: dict[str, Any], where: Where) -> float:
    value = get_number(data, "tolerance", where, compare.DEFAULT_TOLERANCE_PCT)
    if value < 0:
        raise SpecError(f"{where.at('tolerance')}: {value:g} is negative", "give a percentage of 0 or more")
    return value
