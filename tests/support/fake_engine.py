"""A stand-in for the Docker engine, named as such: it "runs" a harness container by reading the spec the host wrote
and doing what a script says the harness did (place the result units and write a record, fail, crash, be
interrupted). The runner and the run matrix are unit-tested against it; the real engine and harness run in the
Docker tests (tests/integration/test_docker_integration.py, tests/integration/test_docker_matrix.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.contract import (
    CONTAINER_EXPERIMENT,
    RECORD_FILE,
    Figures,
    Outcome,
    RunRecord,
    RunSpec,
    spec_from_json,
    to_json,
)
from msb.container import ContainerSpec
from msb.engine import ContainerInfo, EngineInfo
from msb.errors import MsbError
from msb.labels import LABEL_BACKENDS, LABEL_CONTENT, LABEL_ROUND

# What the scripted harness does for one run: a behaviour for every run whose key (see `run_key`) matches.
PLACE, VERIFICATION_FAILS, REFUSE, ERROR, CRASH, INTERRUPT = (
    "place",
    "verification-fails",
    "refuse",
    "error",
    "crash",  # exits 1 without a record (a Python crash, an OOM kill)
    "interrupt",  # Ctrl-C reaches build.py while the container runs
)
ACCURACY_LOG_BYTES = 20_000  # above the truncation limit, so truncation has work to do


def run_key(spec: RunSpec) -> str:
    kind = spec.compliance.test if spec.compliance else spec.mode
    return f"{spec.benchmark}-{spec.scenario}-{kind}"


@dataclass
class FakeEngine:
    experiment: Path
    script: dict[str, str] = field(default_factory=dict)  # run_key -> behaviour; PLACE when absent
    round: str = "v5.1"
    started: list[str] = field(default_factory=list)  # run keys, in order
    specs: list[RunSpec] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    leftovers: list[ContainerInfo] = field(default_factory=list)
    on_run: Callable[[RunSpec], None] | None = None
    # Per run instead of per key (explore's points share one key): a behaviour, and a performance run's figures (for
    # its record) and detail-log results (`result_*` key -> value) to place, as the harness places the log.
    behaviour_of: Callable[[RunSpec], str] | None = None
    results_of: Callable[[RunSpec], tuple[Figures, dict[str, object]]] | None = None
    content: str | None = None  # the image's content digest label, where a test needs one

    def info(self) -> EngineInfo:
        return EngineInfo("fake", ("runc",))

    def image_labels(self, ref: str) -> dict[str, str]:
        content = {LABEL_CONTENT: self.content} if self.content else {}
        return {LABEL_BACKENDS: "onnxruntime", LABEL_ROUND: self.round, **content}

    def image_id(self, ref: str) -> str | None:
        return "sha256:" + "f" * 64

    def inspect(self, ref: str) -> dict[str, object]:
        return {"Id": "sha256:" + "f" * 64, "RepoDigests": [], "Config": {"Labels": self.image_labels(ref)}}

    def containers(self, labels: dict[str, str]) -> list[ContainerInfo]:
        return [c for c in self.leftovers if all(c.labels.get(k) == v for k, v in labels.items())]

    def remove_container(self, name: str) -> None:
        self.removed.append(name)
        self.leftovers = [c for c in self.leftovers if c.name != name]

    def run_container(self, spec: ContainerSpec, on_output: Callable[[str], None]) -> int:
        # The experiment the container was given (explore gives each point its own).
        mounted = [m.source for m in spec.mounts if m.target == CONTAINER_EXPERIMENT]
        self.experiment = mounted[0] if mounted else self.experiment
        spec_path = self._host(spec.command[spec.command.index("--spec") + 1])
        run = spec_from_json(spec_path.read_text())
        key = run_key(run)
        self.started.append(key)
        self.specs.append(run)
        if self.on_run is not None:
            self.on_run(run)
        behaviour = self.behaviour_of(run) if self.behaviour_of else self.script.get(key, PLACE)
        on_output(f"fake harness: {key} {behaviour}")
        record_path = spec_path.with_name(RECORD_FILE)
        if behaviour == INTERRUPT:
            raise KeyboardInterrupt
        if behaviour == CRASH:
            return 1
        if behaviour in (REFUSE, ERROR):
            outcome = Outcome.REFUSED if behaviour == REFUSE else Outcome.ERROR
            record_path.write_text(to_json(RunRecord(outcome, message=f"scripted {behaviour}")))
            return 2 if behaviour == REFUSE else 1
        record = self._place(run, failed=behaviour == VERIFICATION_FAILS)
        record_path.write_text(to_json(record))
        return record.exit_code

    def _host(self, container_path: str) -> Path:
        return self.experiment / Path(container_path).relative_to(CONTAINER_EXPERIMENT)

    def _place(self, run: RunSpec, failed: bool) -> RunRecord:
        """The units the harness places (its layout: division/submitter/...), with an accuracy log to truncate."""
        root = Path(run.division) / run.submitter
        scenario = Path(run.system) / run.benchmark / run.scenario
        accuracy_dirs: tuple[str, ...] = ()
        if run.compliance is not None:
            unit = root / "compliance" / scenario / run.compliance.test
            files = ["verify_performance.txt", "performance/run_1/mlperf_log_summary.txt"]
            if run.compliance.test == "TEST01":
                accuracy_dirs = (str(unit / "accuracy"),)
        elif run.mode == "accuracy":
            unit = root / "results" / scenario / "accuracy"
            files = ["accuracy.txt"]
            accuracy_dirs = (str(unit),)
        else:
            unit = root / "results" / scenario / "performance" / "run_1"
            files = ["mlperf_log_summary.txt"]
        figures = Figures("VALID", "Samples per second", 100.0)
        if self.results_of is not None and run.mode == "performance" and run.compliance is None:
            figures, results = self.results_of(run)
            lines = [f":::MLLOG {json.dumps({'key': k, 'value': v, 'metadata': {}})}" for k, v in results.items()]
            (self.experiment / unit).mkdir(parents=True, exist_ok=True)
            (self.experiment / unit / "mlperf_log_detail.txt").write_text("\n".join(lines) + "\n")
        for name in files:
            (self.experiment / unit / name).parent.mkdir(parents=True, exist_ok=True)
            (self.experiment / unit / name).write_text("TEST FAIL\n" if failed else "TEST PASS\nResult is : VALID\n")
        for folder in accuracy_dirs:
            log = self.experiment / folder / "mlperf_log_accuracy.json"
            log.parent.mkdir(parents=True, exist_ok=True)
            entries = ",\n".join(f'{{"seq_id": {i}, "qsl_idx": {i}, "data": "{"AB" * 16}"}}' for i in range(400))
            log.write_text(f"[\n{entries}\n]\n")
            assert log.stat().st_size > ACCURACY_LOG_BYTES // 2
            if not (self.experiment / folder / "accuracy.txt").exists():
                (self.experiment / folder / "accuracy.txt").write_text("accuracy=100.000%\n")
        return RunRecord(
            outcome=Outcome.VERIFICATION_FAILED if failed else Outcome.PLACED,
            message="performance verification failed" if failed else "",
            units=(str(unit),),
            files=tuple(
                sorted(str(f.relative_to(self.experiment)) for f in (self.experiment / unit).rglob("*") if f.is_file())
            ),
            accuracy_dirs=accuracy_dirs,
            figures=figures,
            verifications={"verify_performance": "TEST FAIL" if failed else "TEST PASS"} if run.compliance else {},
        )


@dataclass
class FakeImages:
    """A stand-in for the engine's image store, named as such: references (tags or IDs) to images with labels.
    `save_image` writes a small JSON "archive" of the image and its tag; `load_image` reads one back and tags it, as
    `docker load` moves a tag to the loaded image. Enough for the decisions of msb.image.archive; the real save and
    load run in test_docker_archive.py."""

    tags: dict[str, str] = field(default_factory=dict)  # reference -> image ID
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # image ID -> labels
    loaded: list[Path] = field(default_factory=list)
    saved: list[str] = field(default_factory=list)

    def add(self, ref: str, image_id: str, labels: dict[str, str]) -> None:
        self.tags[ref] = image_id
        self.labels[image_id] = labels

    def image_id(self, ref: str) -> str | None:
        return self.tags.get(ref, ref if ref in self.labels else None)

    def image_labels(self, ref: str) -> dict[str, str]:
        image_id = self.image_id(ref)
        if image_id is None:
            raise MsbError(f"image {ref} does not exist here", "build it first: python3 build.py image NAME")
        return dict(self.labels[image_id])

    def inspect(self, ref: str) -> dict[str, object]:
        image_id = self.image_id(ref)
        repo_tags = sorted(tag for tag, target in self.tags.items() if target == image_id and ":" in tag)
        return {"Id": image_id, "RepoTags": repo_tags, "Config": {"Labels": self.image_labels(ref)}}

    def save_image(self, ref: str, dest: Path) -> None:
        self.saved.append(ref)
        image_id = self.image_id(ref)
        assert image_id is not None, ref
        dest.write_text(json.dumps({"tag": ref, "id": image_id, "labels": self.labels[image_id]}))

    def load_image(self, archive: Path) -> list[str]:
        self.loaded.append(archive)
        data = json.loads(archive.read_text())
        self.add(data["tag"], data["id"], data["labels"])
        return [data["tag"]]
