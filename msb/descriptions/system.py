"""System descriptions (systems/NAME.yaml): systems-JSON facts, how to run the container, harness settings."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from harness.contract import CURRENT_ROUND, DEFAULT_BATCH_SIZE, NAME_RULE, SCENARIOS, is_name
from msb.descriptions.per_scenario import BATCH_SIZE, THREADS, PerScenario, parse_per_scenario
from msb.descriptions.rounds import RoundProfile, load_round
from msb.descriptions.slurm import SlurmOptions, parse_slurm
from msb.descriptions.yamlfile import (
    Where,
    check_keys,
    check_name_at,
    get_bool,
    get_int,
    get_mapping,
    get_name,
    get_number,
    get_scalars,
    get_str,
    load_mapping,
    named_files,
    shown,
)
from msb.errors import SpecError
from msb.project import Project

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
    "benchmark_options",
)
UID_WHEN_ROOT = 15000  # the container's uid when root invokes build.py (never 0); the images' default USER
# systems-JSON fields the description states at its top level; the rest live under systems_json:.
IDENTITY_FIELDS = ("division", "submitter", "system_name", "system_type")
# In a per-scenario mapping (`batch_size:`, `threads:`), the key whose value the scenarios not listed take (without
# it they take what an absent setting means: batch size 1, the runtime's threads).
# What `build.py system detect` leaves for a person to fill in; validation refuses it.
TODO_MARK = "TODO"


@dataclass(frozen=True)
class RunOptions:
    """How `docker run` starts the harness; recorded with the results."""

    shm_size: str = "1g"
    gpus: str | None = None  # None: no GPU; "all", "2", "device=0,1"
    uid_when_root: int = UID_WHEN_ROOT  # the container never runs as uid 0
    ulimits: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BenchmarkSettings:
    backend: str
    device: str
    precision: str
    batch_sizes: PerScenario[int]
    thread_counts: PerScenario[int | None]  # None: the runtime's default
    impl: str | None
    scenarios: dict[str, dict[str, float]]
    # A benchmark the round has no rules for (SSD-ResNet34 in v5.x), run for engineering by explicit choice: single
    # runs only, never part of the round's matrix, and its results cannot be submitted in that round.
    outside_round: bool = False
    # Backend-specific settings passed as `--backend-option KEY=VALUE` (e.g. TensorRT's engine, plugins,
    # calibration list; PyTorch's compile mode); the backend refuses keys it does not take.
    backend_options: dict[str, object] = field(default_factory=dict)
    # Settings of the benchmark itself (YOLO's `padding`), passed as the spec's benchmark_options; the harness
    # refuses keys the benchmark does not declare (harness/benchmarks/options.py).
    benchmark_options: dict[str, object] = field(default_factory=dict)

    def batch_size(self, scenario: str) -> int:
        """The batch size of this benchmark's runs in `scenario`."""
        return self.batch_sizes.of(scenario)

    def threads(self, scenario: str) -> int | None:
        """The backend's intra-op threads in `scenario`'s runs; None: the runtime's default."""
        return self.thread_counts.of(scenario)


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
    round: str = CURRENT_ROUND
    calibration: str | None = None  # calibration.md text; None: the default for unquantised models
    path: Path | None = None  # the YAML it was loaded from (find-peak writes back into it)
    text: str | None = None  # that YAML's text
    slurm: SlurmOptions | None = None  # how its jobs are submitted (`slurm:`); None: the cluster's defaults

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
    is_path = name.endswith((".yaml", ".yml"))
    if not is_path and not is_name(name):
        raise SpecError(
            f"system {name!r} is neither a system name nor a .yaml file",
            f"give a name from {project.systems} ({NAME_RULE}) or the path of a .yaml file",
        )
    path = Path(name) if is_path else project.systems / f"{name}.yaml"
    if not path.exists():
        valid = ", ".join(system_names(project)) or "(none)"
        raise SpecError(f"unknown system '{name}'", f"choose one of: {valid} (descriptions live in {project.systems})")
    system = parse_system_spec(load_mapping(path, "system description"), str(path))
    # The text as read, for the manifests of its results (load_mapping has checked it is UTF-8).
    system = replace(system, path=path, text=path.read_text())
    validate_against_round(system, load_round(system.round, project.rounds), str(path))
    return system


def parse_system_spec(data: dict[str, Any], where: str) -> SystemSpec:
    """Every field type-checked; names that become folders (system, submitter, benchmarks, image) follow the rule."""
    top = Where(where)
    check_keys(
        data,
        where,
        required=["name", "submitter", "division", "system_type", "image", "systems_json", "benchmarks"],
        optional=["run", "round", "calibration", "slurm"],
    )
    run = _parse_run(get_mapping(data, "run", top, {}), top.at("run"))
    benchmarks_where = top.at("benchmarks")
    benchmarks = {
        check_name_at(name, benchmarks_where.at(name)): _parse_benchmark(bench, benchmarks_where.at(name))
        for name, bench in get_mapping(data, "benchmarks", top).items()
    }
    return SystemSpec(
        name=_name(data, "name", top),
        submitter=_name(data, "submitter", top),
        division=get_str(data, "division", top),
        system_type=get_str(data, "system_type", top),
        image=_name(data, "image", top),
        systems_json=get_mapping(data, "systems_json", top),
        run=run,
        benchmarks=benchmarks,
        round=get_name(data, "round", top, CURRENT_ROUND),
        calibration=get_str(data, "calibration", top, None),
        slurm=parse_slurm(data["slurm"], top.at("slurm")) if data.get("slurm") is not None else None,
    )


def _name(data: dict[str, Any], key: str, where: Where) -> str:
    """A name field; a `build.py system detect` placeholder is left for validation's TODO message, which says more."""
    value = get_str(data, key, where)
    return value if value.startswith(TODO_MARK) else check_name_at(value, where.at(key))


def _parse_run(data: dict[str, Any], where: Where) -> RunOptions:
    check_keys(data, where, required=[], optional=["shm_size", "gpus", "uid_when_root", "ulimits"])
    # docker's --gpus takes a count too: `gpus: 2` is as good as `gpus: "2"`.
    count = isinstance(data.get("gpus"), int) and not isinstance(data.get("gpus"), bool)
    gpus = str(get_int(data, "gpus", where, minimum=1)) if count else get_str(data, "gpus", where, None)
    run = RunOptions(
        shm_size=get_str(data, "shm_size", where, "1g"),
        gpus=gpus,
        uid_when_root=get_int(data, "uid_when_root", where, UID_WHEN_ROOT, minimum=0),
        ulimits={k: str(v) for k, v in get_scalars(data, "ulimits", where).items()},
    )
    if run.uid_when_root == 0:
        raise SpecError(
            f"{where.at('uid_when_root')}: 0 is root, and containers never run as root",
            f"choose an unprivileged uid, e.g. {UID_WHEN_ROOT}",
        )
    return run


def _parse_benchmark(data: object, where: Where) -> BenchmarkSettings:
    if not isinstance(data, dict):
        raise SpecError(f"{where}: expected a mapping (KEY: VALUE lines), got {shown(data)}", "give its settings")
    check_keys(data, where, required=["backend", "scenarios"], optional=BENCHMARK_SETTINGS)
    scenarios_where = where.at("scenarios")
    given = get_mapping(data, "scenarios", where)
    scenarios = {}
    for scenario in given:
        if scenario not in SCENARIOS:
            raise SpecError(f"{where}: unknown scenario '{scenario}'", f"use one of: {', '.join(SCENARIOS)}")
        # `Offline:` with nothing under it takes the round's settings.
        settings = get_mapping(given, scenario, scenarios_where, {})
        scenarios[scenario] = _parse_scenario(settings, scenarios_where.at(scenario))
    return BenchmarkSettings(
        backend=get_name(data, "backend", where),
        device=get_str(data, "device", where, "cpu"),
        precision=get_str(data, "precision", where, "fp32"),
        batch_sizes=parse_per_scenario(data, BATCH_SIZE, where, DEFAULT_BATCH_SIZE),
        thread_counts=parse_per_scenario(data, THREADS, where, None),
        impl=get_name(data, "impl", where, None),
        scenarios=scenarios,
        outside_round=get_bool(data, "outside_round", where, False),
        # Values as the backend declares them: lists too (TensorRT's plugins, batch sizes); the backend checks them.
        backend_options=dict(get_mapping(data, "backend_options", where, {})),
        benchmark_options=dict(get_mapping(data, "benchmark_options", where, {})),
    )


def _parse_scenario(data: dict[str, Any], where: Where) -> dict[str, float]:
    """LoadGen settings: targets are numbers above 0, durations and counts whole numbers of 1 or more."""
    check_keys(data, where, required=[], optional=SCENARIO_SETTINGS)
    numbers = ("target_qps", "target_latency_ms")
    settings = {
        key: get_number(data, key, where, None, above=0)
        if key in numbers
        else get_int(data, key, where, None, minimum=1)
        for key in data
    }
    # A blank setting (`target_qps:`) leaves the round's value, as if the line were not there.
    return {key: value for key, value in settings.items() if value is not None}


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


def _empty_suite_note(profile: RoundProfile, system_type: str) -> str:
    """Say so when no benchmark of this project is in the round's suite for the type (datacenter in v6.x): then
    no other benchmark would do, only another system type or round."""
    if any(model.scenarios_for(system_type) is not None for model in profile.models.values()):
        return ""
    ours = ", ".join(profile.models)
    return f"; round {profile.name}'s {system_type} suite has none of this project's benchmarks ({ours})"


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
                f" (the round has it only for system types: {kinds}){_empty_suite_note(profile, system.system_type)}",
                f"use system_type {kinds.split(', ')[0]}, drop {name}, or choose a round that has it (round:)",
            )
        extra = [s for s in bench.scenarios if s not in allowed]
        if extra:
            raise SpecError(
                f"{where}: {name} scenario(s) {', '.join(extra)} are not in round {profile.name}'s suite"
                f" for {system.system_type} systems",
                f"use only: {', '.join(allowed)}",
            )
