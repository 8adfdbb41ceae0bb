"""Where each result file of one run goes in the MLPerf submission tree, for each tree layout a round may use.

Pure path arithmetic, relative to the experiment root, so the staging folder and the final tree share it. It is the
one definition of the tree: the harness writes by it and the host's checker (`msb.submission`) reads by it, so this
module, like `harness.contract`, needs nothing but the standard library.

v5 (rounds v5.0, v5.1):
  <division>/<submitter>/code/<benchmark>/<impl>/
  <division>/<submitter>/measurements/<system>/<benchmark>/<Scenario>/{user.conf,README.md,<system>_<impl>_<Scenario>.json}
  <division>/<submitter>/results/<system>/<benchmark>/<Scenario>/{accuracy,performance/run_1}/
  <division>/<submitter>/compliance/<system>/<benchmark>/<Scenario>/TEST0x/
v6 (rounds v6.0, v6.1): everything of a scenario in its results folder, the code in src/
  <division>/<submitter>/src/<benchmark>/<impl>/
  <division>/<submitter>/results/<system>/<benchmark>/<Scenario>/{user.conf,README.md,measurements.json}
  <division>/<submitter>/results/<system>/<benchmark>/<Scenario>/{accuracy,performance/run_1,TEST0x}/
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MODES = ("accuracy", "performance")
V5, V6 = "v5", "v6"
LAYOUTS = (V5, V6)
USER_CONF = "user.conf"
README = "README.md"
V6_MEASUREMENTS_JSON = "measurements.json"


def layout_of_round(round_name: str) -> str:
    """The tree layout a round uses: v6.x rounds moved measurements and compliance tests into results/."""
    return V6 if round_name.startswith("v6.") else V5


def accuracy_dir_patterns() -> tuple[str, ...]:
    """Globs, relative to a submitter folder, of every folder whose accuracy log is truncated, in any layout.

    A tree holds one layout, and no folder of one layout matches the other's patterns, so a tool that does not
    know the round (truncation) can look for all of them."""
    return (
        "results/*/*/*/accuracy",
        "compliance/*/*/*/TEST01/accuracy",  # v5
        "results/*/*/*/TEST01/accuracy",  # v6
    )


@dataclass(frozen=True)
class SubmitterLayout:
    """The folders of one submitter that do not depend on a result: systems, code, measurements, compliance."""

    division: str
    submitter: str
    kind: str = V5

    def __post_init__(self) -> None:
        if self.kind not in LAYOUTS:
            raise ValueError(f"layout {self.kind!r} is not one of {', '.join(LAYOUTS)}")

    @property
    def root(self) -> Path:
        return Path(self.division) / self.submitter

    @property
    def code_root(self) -> Path:
        """`code/` (v5) or `src/` (v6): the implementations' source and README, one folder per benchmark."""
        return self.root / ("src" if self.kind == V6 else "code")

    @property
    def calibration_doc(self) -> Path:
        """Where the tool writes the calibration document: v6's sample tree keeps it in documentation/."""
        if self.kind == V6:
            return self.root / "documentation" / "calibration.md"
        return self.root / "calibration.md"

    def system_json(self, system: str) -> Path:
        return self.root / "systems" / f"{system}.json"

    def scenario_dir(self, system: str, benchmark: str, scenario: str) -> Path:
        return self.root / "results" / system / benchmark / scenario

    def measurements_dir(self, system: str, benchmark: str, scenario: str) -> Path:
        """Where user.conf, README.md and the measurements JSON of a scenario lie."""
        if self.kind == V6:
            return self.scenario_dir(system, benchmark, scenario)
        return self.root / "measurements" / system / benchmark / scenario

    def compliance_root(self, system: str, benchmark: str, scenario: str) -> Path:
        """The folder holding a scenario's TEST0x/ folders."""
        if self.kind == V6:
            return self.scenario_dir(system, benchmark, scenario)
        return self.root / "compliance" / system / benchmark / scenario

    def measurements_json_name(self, system: str, impl: str, scenario: str) -> str:
        """v6 fixes the name; v5 names the implementation in it (the checker globs `<system>*.json`)."""
        return V6_MEASUREMENTS_JSON if self.kind == V6 else f"{system}_{impl}_{scenario}.json"


@dataclass(frozen=True)
class ResultLayout:
    """The paths of one (system, benchmark, scenario, implementation) result, relative to the experiment."""

    submitter: str
    system: str
    benchmark: str
    scenario: str
    impl: str
    division: str = "closed"
    kind: str = V5

    @property
    def tree(self) -> SubmitterLayout:
        return SubmitterLayout(self.division, self.submitter, self.kind)

    @property
    def root(self) -> Path:
        return self.tree.root

    @property
    def system_json(self) -> Path:
        return self.tree.system_json(self.system)

    @property
    def code_dir(self) -> Path:
        return self.tree.code_root / self.benchmark / self.impl

    @property
    def measurements_dir(self) -> Path:
        return self.tree.measurements_dir(self.system, self.benchmark, self.scenario)

    @property
    def measurements_json_name(self) -> str:
        return self.tree.measurements_json_name(self.system, self.impl, self.scenario)

    @property
    def measurement_files(self) -> tuple[Path, ...]:
        """The run's description files: user.conf, README.md and the measurements JSON."""
        names = (USER_CONF, README, self.measurements_json_name)
        return tuple(self.measurements_dir / name for name in names)

    def result_dir(self, mode: str) -> Path:
        """`accuracy/` or `performance/run_1/` of this scenario."""
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        scenario_dir = self.tree.scenario_dir(self.system, self.benchmark, self.scenario)
        return scenario_dir / "accuracy" if mode == "accuracy" else scenario_dir / "performance" / "run_1"

    def compliance_dir(self, test: str) -> Path:
        """One compliance test's logs and verification: `<compliance root>/<TEST>/`."""
        return self.tree.compliance_root(self.system, self.benchmark, self.scenario) / test

    def units(self, mode: str, with_system_json: bool) -> list[Path]:
        """What a run of `mode` replaces when it completes, each moved at once; the result folder first.

        v5 replaces the whole measurements folder. In v6 that folder is the scenario's, which also holds the
        other mode's results and the compliance tests, so only the three description files are replaced."""
        described = list(self.measurement_files) if self.kind == V6 else [self.measurements_dir]
        units = [self.result_dir(mode), *described, self.code_dir]
        if with_system_json:
            units.append(self.system_json)
        return units
