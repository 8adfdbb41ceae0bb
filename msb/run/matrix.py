"""The run matrix of a system in its round (pure): which runs, in which order, which files prove each one done, and
whether a resumed matrix redoes it.

Per benchmark and required scenario: accuracy, performance, then each compliance test the round requires for the
model. Compliance runs come last because their verification reads the accuracy and performance results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.contract import ACCURACY, PERFORMANCE, SCENARIOS
from msb.descriptions.rounds import RoundProfile
from msb.descriptions.system import SystemSpec
from msb.errors import SpecError
from msb.run.progress import DONE


@dataclass(frozen=True)
class MatrixRun:
    system: str
    benchmark: str
    scenario: str
    kind: str  # "accuracy", "performance" or a compliance test ("TEST01", ...)

    @property
    def key(self) -> str:
        """Names the run in the state file, the progress table and the log file."""
        return f"{self.system}-{self.benchmark}-{self.scenario}-{self.kind}"

    @property
    def mode(self) -> str:
        """Harness mode: compliance tests are performance-mode runs that LoadGen's audit.config alters."""
        return ACCURACY if self.kind == ACCURACY else PERFORMANCE

    @property
    def compliance(self) -> str | None:
        return None if self.kind in (ACCURACY, PERFORMANCE) else self.kind


def plan_matrix(
    system: SystemSpec, profile: RoundProfile, benchmark: str | None = None, scenario: str | None = None
) -> list[MatrixRun]:
    """The runs of the whole matrix, or of the slice that `benchmark` and/or `scenario` select."""
    if benchmark is not None and benchmark not in system.benchmarks:
        raise SpecError(
            f"system '{system.name}' has no settings for benchmark '{benchmark}'",
            f"choose one of: {', '.join(system.benchmarks)}",
        )
    if scenario is not None and scenario not in SCENARIOS:
        raise SpecError(f"unknown scenario '{scenario}'", f"choose one of: {', '.join(SCENARIOS)}")
    runs = []
    for name, bench in system.benchmarks.items():
        if benchmark is not None and name != benchmark:
            continue
        if bench.outside_round:
            if benchmark is None:
                continue  # not part of what the round requires
            raise SpecError(
                f"{name} is outside round {profile.name}, so it has no matrix",
                "run it one mode at a time: --scenario S --mode accuracy|performance",
            )
        model = profile.model(name)
        if model is None:  # validation at load refuses this; kept so a hand-built spec fails clearly too
            raise SpecError(
                f"benchmark {name} has no rules in round {profile.name}",
                f"use {', '.join(profile.models)}",
            )
        required = model.scenarios_for(system.system_type) or ()
        scenarios = required if scenario is None else (scenario,)
        for sc in scenarios:
            if sc not in bench.scenarios:
                why = (
                    f"round {profile.name} requires it of {system.system_type} systems"
                    if sc in required
                    else f"round {profile.name} has only {', '.join(required)} for {system.system_type} systems"
                )
                raise SpecError(
                    f"system '{system.name}' has no {name} settings for scenario {sc} ({why})",
                    f"add {sc} under benchmarks.{name}.scenarios in the system description"
                    if sc in required
                    else f"choose one of: {', '.join(bench.scenarios)}",
                )
            kinds = (ACCURACY, PERFORMANCE, *model.compliance_tests)
            runs += [MatrixRun(system.name, name, sc, kind) for kind in kinds]
    if not runs:
        raise SpecError(
            f"nothing to run for system '{system.name}'"
            + (f" and benchmark {benchmark}" if benchmark else "")
            + (f" in scenario {scenario}" if scenario else ""),
            f"choose a benchmark of: {', '.join(system.benchmarks)}",
        )
    return runs


def needs_run(recorded: str | None, files_present: bool, force: bool) -> bool:
    """Redo a run unless it was recorded done and its files are still in the tree; `force` redoes everything.

    A run recorded `running` was interrupted; one recorded `done` whose files are gone was removed by hand.
    """
    return force or recorded != DONE or not files_present


def group_complete(runs: list[MatrixRun], states: Mapping[str, str]) -> bool:
    """All runs of one benchmark/scenario done: only then are its accuracy logs truncated (TEST01's verification
    compares its log with the full accuracy log)."""
    return all(states.get(run.key) == DONE for run in runs)


def groups(runs: list[MatrixRun]) -> list[list[MatrixRun]]:
    """Runs grouped by benchmark and scenario, in plan order."""
    grouped: dict[tuple[str, str], list[MatrixRun]] = {}
    for run in runs:
        grouped.setdefault((run.benchmark, run.scenario), []).append(run)
    return list(grouped.values())
