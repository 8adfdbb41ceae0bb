"""What a completed run produced, and the record (`harness.contract.RunRecord`) the host reads from it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.backends.base import BackendInfo
from harness.benchmarks.base import AccuracyReport
from harness.compliance.results import ComplianceVerdict
from harness.contract import Figures, Outcome, RunRecord
from harness.results.loadgen_logs import SummaryResult


@dataclass(frozen=True)
class RunOutcome:
    """What a completed run produced: the summary the CLI prints and the record the host reads."""

    summary: SummaryResult
    accuracy: AccuracyReport | None
    result_dir: Path
    placed: tuple[Path, ...]
    accuracy_dirs: tuple[Path, ...]  # folders holding an accuracy log to truncate, relative to the experiment
    samples: int
    preprocessed: int
    backend: BackendInfo
    compliance: ComplianceVerdict | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    readme: Path | None = None  # relative to the experiment
    performance: Figures = field(default_factory=Figures)  # LoadGen's figures (harness.results.loadgen_logs)

    def record(self, experiment: Path, started: str, finished: str) -> RunRecord:
        accepted = self.compliance is None or self.compliance.accepted
        verdicts = {
            name: next((line for line in verification.text.splitlines() if line.startswith("TEST ")), "")
            for name, verification in (self.compliance.verifications if self.compliance else ())
        }
        backend: dict[str, Any] = {
            "backend": self.backend.backend,
            "version": self.backend.version,
            "device": self.backend.device,
            "precision": self.backend.precision,
            "details": dict(self.backend.details),
        }
        return RunRecord(
            outcome=Outcome.PLACED if accepted else Outcome.VERIFICATION_FAILED,
            message="" if self.compliance is None else self.compliance.note,
            units=tuple(str(path.relative_to(experiment)) for path in self.placed),
            files=tuple(sorted(str(f.relative_to(experiment)) for f in _files(self.placed))),
            accuracy_dirs=tuple(str(path) for path in self.accuracy_dirs),
            figures=replace(
                self.performance,
                validity=self.summary.validity,
                metric=self.summary.metric,
                value=self.summary.value,
                accuracy=self.accuracy.line if self.accuracy else None,
            ),
            backend=backend,
            verifications=verdicts,
            provenance=self.provenance,
            readme=str(self.readme) if self.readme else "",
            started=started,
            finished=finished,
        )


def _files(units: tuple[Path, ...]) -> list[Path]:
    return [f for unit in units for f in ([unit] if unit.is_file() else unit.rglob("*")) if f.is_file()]
