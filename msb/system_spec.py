"""System descriptions (systems/NAME.yaml): systems-JSON facts, how to run the container, harness settings."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from msb.errors import SpecError
from msb.project import Project
from msb.rounds import RoundProfile, load_round
from msb.yamlspec import check_keys, load_mapping, named_files

SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
MODES = ("accuracy", "performance")
# Scenario settings that become harness flags (and, through the harness, user.conf lines).
SCENARIO_SETTINGS = (
    "target_qps",
    "target_latency_ms",
    "min_duration_ms",
    "min_query_count",
    "samples_per_query",
)
BENCHMARK_SETTINGS = (
    "backend",
    "device",
    "precision",
    "batch_size",
    "threads",
    "impl",
    "scenarios",
    "outside_round",
    "backend_options",
)
DEFAULT_ROUND = "v5.1"
# systems-JSON fields the description states at its top level; the rest live under systems_json:.
IDENTITY_FIELDS = ("division", "submitter", "system_name", "system_type")
# What `build.py system detect` leaves for a person to fill in; validation refuses it.
TODO_MARK = "TODO"


@dataclass(frozen=True)
class RunOptions:
    """How `docker run` starts the harness; recorded with the results."""

    shm_size: str = "1g"
    gpus: str | None = None  # None: no GPU; "all", "2", "device=0,1"
    uid_when_root: int = 15000  # the container never runs as uid 0
    ulimits: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BenchmarkSettings:
    backend: str
    device: str
    precision: str
    batch_size: int
    threads: int | None
    impl: str | None
    scenarios: dict[str, dict[str, float]]
    # A benchmark the round has no rules for (SSD-ResNet34 in v5.x), run for engineering by explicit choice: single
    # runs only, never part of the round's matrix, and its results cannot be submitted in that round.
    outside_round: bool = False
    # Backend-specific settings passed as `--backend-option KEY=VALUE` (e.g. TensorRT's engine, plugins,
    # calibration list; PyTorch's compile mode); the backend refuses keys it does not take.
    backend_options: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class SystemSpec:
    name: str
    submitter: str
    division: str
    system_type: str
    image: str
    systems_json: dict[str, Any]
    run: RunOptions
    benchmarks: dict[str, BenchmarkSettings]
    round: str = DEFAULT_ROUND
    calibration: str | None = None  # calibration.md text; None: the default for unquantised models
    path: Path | None = None  # the YAML it was loaded from (find-peak writes back into it)

    def settings(self, benchmark: str, scenario: str) -> tuple[BenchmarkSettings, dict[str, float]]:
        """The harness settings for one benchmark and scenario; unknown ones are errors listing the valid ones."""
        if benchmark not in self.benchmarks:
            raise SpecError(
                f"system '{self.name}' has no settings for benchmark '{benchmark}'",
                f"choose one of: {', '.join(sorted(self.benchmarks))}, or add it under benchmarks: in systems/",
            )
        bench = self.benchmarks[benchmark]
        if scenario not in SCENARIOS:
            raise SpecError(f"unknown scenario '{scenario}'", f"choose one of: {', '.join(SCENARIOS)}")
        if scenario not in bench.scenarios:
            raise SpecError(
                f"system '{self.name}' has no {benchmark} settings for scenario '{scenario}'",
                f"choose one of: {', '.join(sorted(bench.scenarios))}, or add it under {benchmark}.scenarios",
            )
        return bench, bench.scenarios[scenario]


def system_names(project: Project) -> list[str]:
    return named_files(project.systems)


def load_system_spec(project: Project, name: str) -> SystemSpec:
    """A system by name (systems/NAME.yaml) or by the path of a YAML file (a description kept elsewhere)."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else project.systems / f"{name}.yaml"
    if not path.is_file():
        valid = ", ".join(system_names(project)) or "(none)"
        raise SpecError(f"unknown system '{name}'", f"choose one of: {valid} (descriptions live in {project.systems})")
    system = parse_system_spec(load_mapping(path, "system description"), str(path))
    system = replace(system, path=path)
    validate_against_round(system, load_round(system.round, project.rounds), str(path))
    return system


def parse_system_spec(data: dict[str, Any], where: str) -> SystemSpec:
    check_keys(
        data,
        where,
        required=["name", "submitter", "division", "system_type", "image", "systems_json", "benchmarks"],
        optional=["run", "round", "calibration"],
    )
    run_data = data.get("run") or {}
    check_keys(run_data, f"{where} run", required=[], optional=["shm_size", "gpus", "uid_when_root", "ulimits"])
    run = RunOptions(
        shm_size=str(run_data.get("shm_size", "1g")),
        gpus=None if run_data.get("gpus") is None else str(run_data["gpus"]),
        uid_when_root=int(run_data.get("uid_when_root", 15000)),
        ulimits={str(k): str(v) for k, v in (run_data.get("ulimits") or {}).items()},
    )
    if run.uid_when_root == 0:
        raise SpecError(f"{where}: run.uid_when_root is 0", "choose an unprivileged uid, e.g. 15000")
    benchmarks = {}
    for bench_name, bench in (data["benchmarks"] or {}).items():
        bench_where = f"{where} benchmarks.{bench_name}"
        check_keys(bench, bench_where, required=["backend", "scenarios"], optional=BENCHMARK_SETTINGS)
        scenarios = {}
        for scenario, settings in (bench["scenarios"] or {}).items():
            if scenario not in SCENARIOS:
                raise SpecError(f"{bench_where}: unknown scenario '{scenario}'", f"use one of: {', '.join(SCENARIOS)}")
            check_keys(settings or {}, f"{bench_where}.scenarios.{scenario}", required=[], optional=SCENARIO_SETTINGS)
            scenarios[scenario] = dict(settings or {})
        benchmarks[bench_name] = BenchmarkSettings(
            backend=str(bench["backend"]),
            device=str(bench.get("device", "cpu")),
            precision=str(bench.get("precision", "fp32")),
            batch_size=int(bench.get("batch_size", 1)),
            threads=None if bench.get("threads") is None else int(bench["threads"]),
            impl=bench.get("impl"),
            scenarios=scenarios,
            outside_round=bool(bench.get("outside_round", False)),
            backend_options=dict(bench.get("backend_options") or {}),
        )
    return SystemSpec(
        name=str(data["name"]),
        submitter=str(data["submitter"]),
        division=str(data["division"]),
        system_type=str(data["system_type"]),
        image=str(data["image"]),
        systems_json=dict(data["systems_json"] or {}),
        run=run,
        benchmarks=benchmarks,
        round=str(data.get("round") or DEFAULT_ROUND),
        calibration=None if data.get("calibration") is None else str(data["calibration"]),
    )


def _check_systems_json_fields(data: dict[str, Any], profile: RoundProfile, where: str) -> None:
    """Every field of the round's systems JSON, no other: a misspelt one is named with the field it resembles."""
    fields = [f for f in profile.systems.required_fields if f not in IDENTITY_FIELDS]
    missing = [f for f in fields if f not in data]
    unknown = sorted(set(data) - set(fields))
    if not missing and not unknown:
        return
    problems = []
    if unknown:
        guesses = [f"{u} (did you mean {m[0]}?)" if (m := get_close_matches(u, fields, 1)) else u for u in unknown]
        problems.append(f"unknown field(s) {', '.join(guesses)}")
    if missing:
        problems.append(f"missing field(s) {', '.join(missing)}")
    raise SpecError(
        f"{where} systems_json does not match round {profile.name}'s systems JSON: {'; '.join(problems)}",
        f"valid fields: {', '.join(fields)} ({', '.join(IDENTITY_FIELDS)} come from the top level)",
    )


def validate_against_round(system: SystemSpec, profile: RoundProfile, where: str) -> None:
    """Refuse a description the round would refuse: systems-JSON fields, division, system type, and benchmarks and
    scenarios outside the round's suite for that system type. Each error names the rule and the valid choices."""
    _check_systems_json_fields(system.systems_json, profile, where)
    todo = [k for k in ("name", "submitter", "image") if getattr(system, k).startswith(TODO_MARK)]
    todo += sorted(k for k, v in system.systems_json.items() if str(v).strip().startswith(TODO_MARK))
    if todo:
        raise SpecError(
            f"{where}: field(s) still {TODO_MARK}: {', '.join(todo)}",
            "fill in what `build.py system detect` could not tell (see the comments in the file)",
        )
    for key, value, valid in (
        ("division", system.division, profile.divisions),
        ("system_type", system.system_type, profile.system_types),
    ):
        if value not in valid:
            raise SpecError(f"{where}: {key} '{value}' is not valid in round {profile.name}", f"use one of: {valid}")
    for name, bench in system.benchmarks.items():
        model = profile.model(name)
        if model is not None and bench.outside_round:
            raise SpecError(
                f"{where}: {name} is marked outside_round but round {profile.name} has rules for it",
                f"remove `outside_round: true` from {name}",
            )
        if bench.outside_round:
            continue
        if model is None:
            raise SpecError(
                f"{where}: benchmark '{name}' has no rules in round {profile.name}",
                f"use one of: {', '.join(profile.models)}, choose a round that has it (round:), or mark it "
                "`outside_round: true` to run it for engineering only (its results cannot be submitted)",
            )
        allowed = model.scenarios_for(system.system_type)
        if allowed is None:
            kinds = ", ".join(model.required_scenarios)
            raise SpecError(
                f"{where}: {name} is not part of the {system.system_type} suite in round {profile.name}"
                f" (the round has it only for system types: {kinds})",
                f"use system_type {kinds.split(', ')[0]}, drop {name}, or choose a round that has it (round:)",
            )
        extra = [s for s in bench.scenarios if s not in allowed]
        if extra:
            raise SpecError(
                f"{where}: {name} scenario(s) {', '.join(extra)} are not in round {profile.name}'s suite"
                f" for {system.system_type} systems",
                f"use only: {', '.join(allowed)}",
            )
