"""Round profiles: the rules of one MLPerf Inference round, loaded from `rounds/<round>.yaml` and checked.

A profile is data: the checker, the image pins and the harness settings read it, never a hard-coded round.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.contract import SCENARIOS
from harness.contract.layout import LAYOUTS, V5
from msb.descriptions.yamlfile import (
    Where,
    check_keys,
    get_bool,
    get_int,
    get_number,
    get_str,
    load_mapping,
    named_files,
)
from msb.errors import SpecError

ROUNDS_DIR = Path(__file__).resolve().parents[2] / "rounds"


@dataclass(frozen=True)
class Seeds:
    """The RNG seeds compiled into the round's LoadGen; a detail log with other seeds is not valid."""

    qsl_rng_seed: int
    sample_index_rng_seed: int
    schedule_rng_seed: int

    def as_dict(self) -> dict[str, int]:
        return {
            "qsl_rng_seed": self.qsl_rng_seed,
            "sample_index_rng_seed": self.sample_index_rng_seed,
            "schedule_rng_seed": self.schedule_rng_seed,
        }


@dataclass(frozen=True)
class AccuracyRule:
    """Target: `fraction` of the reference figure, read from accuracy.txt with `pattern` (group 1)."""

    metric: str
    reference: float
    fraction: float
    pattern: str

    @property
    def target(self) -> float:
        return self.reference * self.fraction


@dataclass(frozen=True)
class ModelRules:
    """What one benchmark must deliver in this round; `name` is its results directory name."""

    name: str
    official_name: str
    required_scenarios: Mapping[str, tuple[str, ...]]  # canonical system type -> scenarios
    compliance_tests: tuple[str, ...]
    accuracy: AccuracyRule
    performance_sample_count: int
    dataset_size: int
    offline_min_samples_per_query: int
    min_query_count: Mapping[str, int]
    server_target_latency_ns: int | None  # None for a model without a Server scenario (YOLO in v6.x)

    def scenarios_for(self, system_type: str) -> tuple[str, ...] | None:
        """Required scenarios for a system type, or None where the model is not part of that suite."""
        return self.required_scenarios.get(canonical_system_type(system_type))


@dataclass(frozen=True)
class RequiredFiles:
    """File lists per result directory, as the round's checker compares them (exact set, minus `ignored`)."""

    performance: tuple[str, ...]
    performance_optional: tuple[str, ...]
    accuracy: tuple[str, ...]
    ignored: tuple[str, ...]
    measurements: tuple[str, ...]
    measurements_json_fields: tuple[str, ...]
    compliance_performance: tuple[str, ...]
    test01_accuracy: tuple[str, ...]
    test01_accuracy_on_fail: tuple[str, ...]


@dataclass(frozen=True)
class SystemsSchema:
    """Fields every systems/<system>.json must have, and those that must not be empty."""

    required_fields: tuple[str, ...]
    nonempty_fields: tuple[str, ...]


@dataclass(frozen=True)
class RoundProfile:
    name: str
    loadgen: str  # pip requirement, e.g. "mlcommons-loadgen==5.1.2"
    seeds: Seeds
    divisions: tuple[str, ...]
    statuses: tuple[str, ...]
    system_types: tuple[str, ...]
    min_duration_ms: int
    early_stopping_scenarios: tuple[str, ...]
    max_file_bytes: int
    max_accuracy_log_bytes: int
    calibration_doc_required: bool
    accuracy_run_covers_dataset: bool
    every_system_has_results: bool
    files: RequiredFiles
    systems: SystemsSchema
    valid_models: tuple[str, ...]
    models: Mapping[str, ModelRules]
    # test -> model name (or "*" for all models) -> audit.config key -> value, as the round published them
    compliance_audit: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)
    layout: str = V5  # the submission tree's layout (harness.contract.layout.LAYOUTS); v5.x rounds leave it out

    def model(self, name: str) -> ModelRules | None:
        return self.models.get(name)


def canonical_system_type(system_type: str) -> str:
    """The official checker accepts both spellings of a mixed system; profiles key its rules by the first."""
    return "datacenter,edge" if system_type == "edge,datacenter" else system_type


def available_rounds(rounds_dir: Path = ROUNDS_DIR) -> list[str]:
    return named_files(rounds_dir)


def load_round(name: str, rounds_dir: Path = ROUNDS_DIR) -> RoundProfile:
    """Load and validate `rounds/<name>.yaml`; an unknown round is an error that lists the valid ones."""
    valid = available_rounds(rounds_dir)
    if name not in valid:
        raise SpecError(
            f"unknown MLPerf round {name!r}: no {rounds_dir / (name + '.yaml')}",
            f"use one of: {', '.join(valid) or '(none found)'}",
        )
    path = rounds_dir / f"{name}.yaml"
    return parse_round(load_mapping(path, "round profile"), str(path))


def parse_round(data: Mapping[str, Any], where: str) -> RoundProfile:
    """Build a profile from its mapping; every key is checked, so a misspelt one is an error naming it."""
    check_keys(data, where, _ROUND_KEYS, optional=("compliance_audit", "layout"))
    seeds = _section(data, "seeds", Seeds, where)
    files = _section(data, "files", RequiredFiles, where)
    systems = _section(data, "systems", SystemsSchema, where)
    models = _mapping(data["models"], f"{where}: models")
    profile = RoundProfile(
        name=_get(data, "round", str, where),
        loadgen=_get(data, "loadgen", str, where),
        seeds=Seeds(**{k: _get(seeds, k, int, f"{where}: seeds") for k in seeds}),
        divisions=_strings(data["divisions"], f"{where}: divisions"),
        statuses=_strings(data["statuses"], f"{where}: statuses"),
        system_types=_strings(data["system_types"], f"{where}: system_types"),
        min_duration_ms=_get(data, "min_duration_ms", int, where),
        early_stopping_scenarios=_scenarios(data["early_stopping_scenarios"], f"{where}: early_stopping_scenarios"),
        max_file_bytes=_get(data, "max_file_bytes", int, where),
        max_accuracy_log_bytes=_get(data, "max_accuracy_log_bytes", int, where),
        calibration_doc_required=_get(data, "calibration_doc_required", bool, where),
        accuracy_run_covers_dataset=_get(data, "accuracy_run_covers_dataset", bool, where),
        every_system_has_results=_get(data, "every_system_has_results", bool, where),
        files=RequiredFiles(**{k: _strings(v, f"{where}: files.{k}") for k, v in files.items()}),
        systems=SystemsSchema(**{k: _strings(v, f"{where}: systems.{k}") for k, v in systems.items()}),
        valid_models=_strings(data["valid_models"], f"{where}: valid_models"),
        models={
            str(name): _parse_model(str(name), _mapping(spec, f"{where}: models.{name}"), f"{where}: models.{name}")
            for name, spec in models.items()
        },
        compliance_audit=_audit(data.get("compliance_audit") or {}, f"{where}: compliance_audit"),
        layout=_layout(data.get("layout", V5), where),
    )
    _cross_check(profile, where)
    return profile


_ROUND_KEYS = (
    "round",
    "loadgen",
    "seeds",
    "divisions",
    "statuses",
    "system_types",
    "min_duration_ms",
    "early_stopping_scenarios",
    "max_file_bytes",
    "max_accuracy_log_bytes",
    "calibration_doc_required",
    "accuracy_run_covers_dataset",
    "every_system_has_results",
    "files",
    "systems",
    "valid_models",
    "models",
)
_MODEL_KEYS = (
    "official_name",
    "required_scenarios",
    "compliance_tests",
    "accuracy",
    "performance_sample_count",
    "dataset_size",
    "offline_min_samples_per_query",
    "min_query_count",
)


def _parse_model(name: str, spec: Mapping[str, Any], where: str) -> ModelRules:
    check_keys(spec, where, _MODEL_KEYS, optional=("server_target_latency_ns",))
    accuracy = _section(spec, "accuracy", AccuracyRule, where)
    required = _mapping(spec["required_scenarios"], f"{where}.required_scenarios")
    min_queries = _mapping(spec["min_query_count"], f"{where}.min_query_count")
    _scenarios(list(min_queries), f"{where}.min_query_count")
    return ModelRules(
        name=name,
        official_name=_get(spec, "official_name", str, where),
        required_scenarios={
            str(kind): _scenarios(scenarios, f"{where}.required_scenarios.{kind}")
            for kind, scenarios in required.items()
        },
        compliance_tests=_strings(spec["compliance_tests"], f"{where}.compliance_tests"),
        accuracy=AccuracyRule(
            metric=_get(accuracy, "metric", str, f"{where}.accuracy"),
            reference=float(_get(accuracy, "reference", (int, float), f"{where}.accuracy")),
            fraction=float(_get(accuracy, "fraction", (int, float), f"{where}.accuracy")),
            pattern=_get(accuracy, "pattern", str, f"{where}.accuracy"),
        ),
        performance_sample_count=_get(spec, "performance_sample_count", int, where),
        dataset_size=_get(spec, "dataset_size", int, where),
        offline_min_samples_per_query=_get(spec, "offline_min_samples_per_query", int, where),
        min_query_count={
            scenario: _get(min_queries, scenario, int, f"{where}.min_query_count") for scenario in min_queries
        },
        server_target_latency_ns=(
            _get(spec, "server_target_latency_ns", int, where) if "server_target_latency_ns" in spec else None
        ),
    )


def _cross_check(profile: RoundProfile, where: str) -> None:
    """Catch mistakes that single fields cannot show: unknown system types, models outside the round."""
    for model in profile.models.values():
        if model.official_name not in profile.valid_models:
            raise SpecError(
                f"{where}: model {model.name} maps to {model.official_name!r}, which is not in valid_models",
                f"use one of: {', '.join(profile.valid_models)}",
            )
        needs_bound = any("Server" in scenarios for scenarios in model.required_scenarios.values())
        if needs_bound and model.server_target_latency_ns is None:
            raise SpecError(
                f"{where}: model {model.name} has a Server scenario but no server_target_latency_ns",
                "add the round's latency-constraint for it, in ns",
            )
        for kind in model.required_scenarios:
            if kind not in profile.system_types:
                raise SpecError(
                    f"{where}: models.{model.name}.required_scenarios has unknown system type {kind!r}",
                    f"use one of: {', '.join(profile.system_types)}",
                )


def _layout(value: Any, where: str) -> str:
    if value not in LAYOUTS:
        raise SpecError(f"{where}: layout {value!r} is not a known tree layout", f"use one of: {', '.join(LAYOUTS)}")
    return str(value)


def _audit(value: Any, where: str) -> dict[str, dict[str, dict[str, str]]]:
    """Audit settings as strings: LoadGen reads them as text, and 64-bit seeds must not pass through floats."""
    return {
        str(test): {
            str(model): {str(k): str(v) for k, v in _mapping(keys, f"{where}.{test}.{model}").items()}
            for model, keys in _mapping(models, f"{where}.{test}").items()
        }
        for test, models in _mapping(value, where).items()
    }


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(f"{where} must be a mapping, not {type(value).__name__}")
    return value


def _section(data: Mapping[str, Any], key: str, shape: type, where: str) -> Mapping[str, Any]:
    """A nested mapping whose keys must be exactly the fields of the dataclass `shape`."""
    section = _mapping(data[key], f"{where}: {key}")
    check_keys(section, f"{where}: {key}", [f.name for f in dataclasses.fields(shape)])
    return section


def _get(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """A required field of type `kind`, read through yamlspec's typed getters (a count written as `true` is a typo,
    not 1), so the message names the file, the field and the type wanted."""
    at = Where(where)
    if kind is bool:
        return get_bool(data, key, at)
    if kind is int:
        return get_int(data, key, at)
    if kind is str:
        return get_str(data, key, at)
    return get_number(data, key, at)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SpecError(f"{where} must be a list of strings, not {value!r}")
    return tuple(value)


def _scenarios(value: Any, where: str) -> tuple[str, ...]:
    scenarios = _strings(value, where)
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise SpecError(f"{where}: unknown scenario(s) {', '.join(unknown)}", f"use {', '.join(SCENARIOS)}")
    return scenarios
