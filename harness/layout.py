"""Where each result file of one run goes in the MLPerf submission tree (round v5.1 layout).

Pure path arithmetic, relative to the experiment root, so the staging folder and the final tree share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MODES = ("accuracy", "performance")


@dataclass(frozen=True)
class ResultLayout:
    """The paths of one (system, benchmark, scenario, implementation) result, relative to the experiment."""

    submitter: str
    system: str
    benchmark: str
    scenario: str
    impl: str
    division: str = "closed"

    @property
    def root(self) -> Path:
        return Path(self.division) / self.submitter

    @property
    def system_json(self) -> Path:
        return self.root / "systems" / f"{self.system}.json"

    @property
    def code_dir(self) -> Path:
        return self.root / "code" / self.benchmark / self.impl

    @property
    def measurements_dir(self) -> Path:
        return self.root / "measurements" / self.system / self.benchmark / self.scenario

    @property
    def measurements_json_name(self) -> str:
        return f"{self.system}_{self.impl}_{self.scenario}.json"

    def result_dir(self, mode: str) -> Path:
        """`accuracy/` or `performance/run_1/` of this scenario."""
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        scenario_dir = self.root / "results" / self.system / self.benchmark / self.scenario
        return scenario_dir / "accuracy" if mode == "accuracy" else scenario_dir / "performance" / "run_1"

    def compliance_dir(self, test: str) -> Path:
        """`compliance/<system>/<benchmark>/<Scenario>/<TEST>/`: one compliance test's logs and verification."""
        return self.root / "compliance" / self.system / self.benchmark / self.scenario / test

    def units(self, mode: str, with_system_json: bool) -> list[Path]:
        """What a run of `mode` replaces when it completes, each moved at once; the result folder first."""
        units = [self.result_dir(mode), self.measurements_dir, self.code_dir]
        if with_system_json:
            units.append(self.system_json)
        return units
