"""`build.py run`: plan one harness run from a system description, check it can run, run it, hand back results.

The host writes the run's `spec.json` (harness.contract.RunSpec) into `<experiment>/.msb/runs/<id>/`, starts the
image's harness on it through the engine, and learns what happened from the `record.json` the harness writes back.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import shlex
import signal
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any, Generic, TypeVar

from harness.contract import (
    CONTAINER_DATASET,
    CONTAINER_EXPERIMENT,
    CONTAINER_MODEL_DIR,
    MODES,
    RECORD_FILE,
    SPEC_FILE,
    BackendSpec,
    ComplianceSpec,
    ContractError,
    LoadGenSettings,
    Outcome,
    RunRecord,
    RunSpec,
    record_from_json,
    to_json,
)
from harness.contract.calibration import artefact_name
from msb.container import ContainerSpec, docker_run_argv
from msb.descriptions.rounds import load_round
from msb.descriptions.system import BenchmarkSettings, SystemSpec
from msb.engine import Engine, has_nvidia_runtime
from msb.errors import EXIT_BAD_INPUT, GpuUnavailable, RunFailed, SpecError
from msb.labels import LABEL_BACKENDS, LABEL_ROUND
from msb.paths import inside, remove_tree
from msb.run.container_plan import UnitInputs, plan_container
from msb.run.expdir import Identity, hand_back, prepare

RUNS_DIR = ".msb/runs"  # one folder per run: spec.json in, record.json out (inside the experiment volume)
PEAK_FILE = "peak.json"  # find-peak's answer
LOCK_FILE = "host.lock"  # held by the build.py that owns the run; a folder whose lock nobody holds is a leftover
LOG_TAIL_LINES = 15
_INT_SETTINGS = ("min_duration_ms", "min_query_count", "samples_per_query")
T = TypeVar("T")


@dataclass(frozen=True)
class RunArgs:
    benchmark: str
    scenario: str
    mode: str
    experiment: Path
    dataset: Path
    model: Path
    count: int | None = None
    image: str | None = None
    gpus: str | None = None
    compliance: str | None = None
    audit_config: str | None = None  # the compliance test's audit.config text


S = TypeVar("S")


@dataclass(frozen=True)
class ContainedRun(ABC, Generic[S]):
    """A spec run in a container on a folder of `<experiment>/.msb/runs/`: a run, find-peak, a calibration.
    `contained` needs only this; each plan adds what its own command reads and writes."""

    run_id: str
    experiment: Path  # on the host, absolute
    spec: S
    container: ContainerSpec

    @property
    def run_dir(self) -> Path:
        return self.experiment / RUNS_DIR / self.run_id

    @property
    def name(self) -> str:
        return self.container.name

    @property
    @abstractmethod
    def spec_json(self) -> str:
        """The spec as its contract writes it (each contract has its own typed serialiser)."""


@dataclass(frozen=True)
class RunPlan(ContainedRun[RunSpec]):
    """Everything about one run that follows from the inputs; made without side effects."""

    @property
    def spec_json(self) -> str:
        return to_json(self.spec)


class RunInterrupted(RunFailed):
    """Ctrl-C or SIGTERM stopped the run: a matrix stops too, even with --keep-going."""


class RunRefused(RunFailed):
    """The harness refused an input (its record says which); nothing was placed: bad input (exit 2)."""

    exit_status = EXIT_BAD_INPUT


def systems_json(system: SystemSpec) -> dict[str, object]:
    """The round's systems JSON: the description's facts plus the identity fields it repeats."""
    return {
        "division": system.division,
        "submitter": system.submitter,
        "system_name": system.name,
        "system_type": system.system_type,
        **system.systems_json,
    }


def check_inputs(args: RunArgs) -> None:
    if args.mode not in MODES:
        raise SpecError(f"unknown mode '{args.mode}'", f"choose one of: {', '.join(MODES)}")
    if not args.dataset.is_dir():
        raise SpecError(f"dataset directory {args.dataset} does not exist", "pass --dataset DIR with the images")
    if not any(args.dataset.iterdir()):
        raise SpecError(f"dataset directory {args.dataset} is empty", "point --dataset at the prepared dataset")
    if not args.model.is_file():
        raise SpecError(f"model file {args.model} does not exist", "pass --model FILE (an ONNX file)")
    if args.count is not None and args.count < 1:
        raise SpecError(f"--count {args.count} is not a whole number of 1 or more", "pass --count N with N >= 1")


def plan(system: SystemSpec, args: RunArgs, ident: Identity, command: str = "run") -> RunPlan:
    """The run's spec and container; `command` is the harness command (run, or find-peak)."""
    bench, scenario_settings = system.settings(args.benchmark, args.scenario)
    experiment = args.experiment.resolve()
    run_id = uuid.uuid4().hex[:12]
    what = args.compliance or (args.mode if command == "run" else command)
    run_dir = f"{CONTAINER_EXPERIMENT}/{RUNS_DIR}/{run_id}"
    harness_args = [command, "--spec", f"{run_dir}/{SPEC_FILE}"]
    if command == "find-peak":
        harness_args += ["--result-json", f"{run_dir}/{PEAK_FILE}"]
    unit = UnitInputs(args.benchmark, run_id, experiment, args.dataset, args.model, args.image, args.gpus)
    container = plan_container(system, unit, f"{args.scenario}-{what}", tuple(harness_args), ident)
    loadgen: dict[str, Any] = {k: int(v) if k in _INT_SETTINGS else float(v) for k, v in scenario_settings.items()}
    spec = RunSpec(
        benchmark=args.benchmark,
        scenario=args.scenario,
        mode=args.mode,
        round=system.round,
        division=system.division,
        submitter=system.submitter,
        system=system.name,
        impl=bench.impl,
        dataset=CONTAINER_DATASET,
        model=f"{CONTAINER_MODEL_DIR}/{args.model.name}",
        output=CONTAINER_EXPERIMENT,
        count=args.count,
        backend=BackendSpec(
            name=bench.backend,
            device=bench.device,
            precision=bench.precision,
            batch_size=bench.batch_size(args.scenario),
            threads=bench.threads(args.scenario),
            options=_backend_options(bench, args.model),
        ),
        benchmark_options=dict(bench.benchmark_options),
        loadgen=LoadGenSettings(**loadgen),
        system_json=systems_json(system),
        compliance=ComplianceSpec(args.compliance, args.audit_config or "") if args.compliance else None,
        run_info={
            "image": container.image,
            "user": container.user,
            "shm_size": container.shm_size,
            "gpus": container.gpus,
            "ulimits": container.ulimits,
        },
        exit_on_stdin_eof=True,
        # The round's seeds: the harness refuses a LoadGen that applies others before anything runs.
        seeds=dataclasses.asdict(load_round(system.round).seeds),
    )
    try:
        spec.validate()
    except ContractError as error:
        raise SpecError(f"system '{system.name}': {error}", "fix the system description") from None
    return RunPlan(run_id, experiment, spec, container)


def _backend_options(bench: BenchmarkSettings, model: Path) -> dict[str, Any]:
    """The system's backend options; TensorRT in INT8 also gets the calibration cache `build.py calibrate` made beside
    the model (`build.py run` checked its gate), which it uses as it is and never recalibrates."""
    options = dict(bench.backend_options)
    if bench.precision == "int8" and bench.backend == "tensorrt":
        options.setdefault("calibration_cache", f"{CONTAINER_MODEL_DIR}/{artefact_name('tensorrt', model.name)}")
    return options


def check_engine(run: RunPlan, engine: Engine) -> None:
    """Fail before starting anything: image present, of the system's round (its LoadGen carries that round's seeds)
    and carrying the backend, GPUs only where a runtime exists."""
    check_image(run.container, run.spec.round, run.spec.system, run.spec.backend.name, engine)


def check_image(container: ContainerSpec, round_name: str, system: str, backend: str, engine: Engine) -> None:
    """check_engine's checks, for any container of a system (a run, a calibration)."""
    labels = engine.image_labels(container.image)
    image_round = labels.get(LABEL_ROUND)
    if image_round is not None and image_round != round_name:
        raise SpecError(
            f"image {container.image} is built for round {image_round}, but system '{system}' follows "
            f"round {round_name}",
            f"use an image of round {round_name} (images/*.yaml `round:`, e.g. `image: cpu-v5.0` for v5.0) or --image",
        )
    carried = [b for b in labels.get(LABEL_BACKENDS, "").split(",") if b]
    if backend not in carried:
        raise SpecError(
            f"image {container.image} carries backends {carried or '(none)'}, not '{backend}'",
            "use an image that carries it (images/*.yaml `backends:`) or change the system's backend",
        )
    if container.gpus is not None and not has_nvidia_runtime(engine.info()):
        raise GpuUnavailable(
            f"--gpus {container.gpus} was asked for, but this Docker engine has no NVIDIA runtime",
            "install the NVIDIA Container Toolkit and restart dockerd, or run on a GPU host; we never fall back to CPU",
        )


def execute(
    run: RunPlan,
    engine: Engine,
    ident: Identity,
    on_output: Callable[[str], None] = print,
) -> RunRecord:
    """Run the container and return the harness's record of a run that placed its results (also one whose
    compliance verification failed: `record.outcome` says so). Raises RunInterrupted, RunRefused or RunFailed,
    with nothing partial left in the tree."""
    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)

    def read(run_dir: Path, status: int) -> RunRecord:
        return read_record(run_dir, status, tail, record_from_json)

    record = contained(run, engine, ident, keeping(tail, on_output), read)
    if record.placed:
        return record
    text = record.message + shown(tail)
    fix = "nothing partial was written into the submission tree"
    if record.outcome is Outcome.REFUSED:
        raise RunRefused(f"the harness refused run {run.name}: {text}", f"fix the input it names; {fix}")
    if record.outcome is Outcome.INTERRUPTED:
        raise RunInterrupted(f"run {run.name} was interrupted: {text}", fix)
    raise RunFailed(f"run {run.name} failed: {text}", f"read the harness output; {fix}")


def search(run: RunPlan, engine: Engine, ident: Identity, on_output: Callable[[str], None] = print) -> str:
    """Run the harness's find-peak (a plan made with command="find-peak"); returns the text of its peak.json."""
    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)

    def read(run_dir: Path, status: int) -> str:
        answer = run_dir / PEAK_FILE
        if status != 0 or not answer.is_file():
            raise RunFailed(f"find-peak exited with status {status} and found no peak{shown(tail)}", "read its output")
        return answer.read_text()

    return contained(run, engine, ident, keeping(tail, on_output), read)


def contained(
    run: ContainedRun[Any],
    engine: Engine,
    ident: Identity,
    on_output: Callable[[str], None],
    read: Callable[[Path, int], T],
) -> T:
    """The container run on the run's folder; `read` takes what it left there (folder, exit status) before the
    folder is removed. Ctrl-C or SIGTERM raise RunInterrupted."""
    prepare(run.experiment, ident)
    with _run_folder(run, ident) as run_dir, _sigterm_raises():
        try:
            status = engine.run_container(run.container, on_output)
        except (KeyboardInterrupt, _Interrupted) as exc:
            raise RunInterrupted(f"run {run.name} interrupted ({exc or 'SIGINT'}); no result was kept") from None
        finally:
            hand_back(run.experiment, ident)
        return read(run_dir, status)


def keeping(tail: deque[str], on_output: Callable[[str], None]) -> Callable[[str], None]:
    """`on_output` that also keeps the last lines in `tail`, for the error message of a failed container."""

    def output(line: str) -> None:
        tail.append(line)
        on_output(line)

    return output


def command_line(run: RunPlan) -> str:
    """What --print-command shows: the spec the run would write and the `docker run` line that runs it."""
    spec_path = run.run_dir / SPEC_FILE
    return f"# {spec_path}:\n{to_json(run.spec)}{shlex.join(docker_run_argv(run.container))}"


@contextmanager
def _run_folder(run: ContainedRun[Any], ident: Identity) -> Iterator[Path]:
    """The run's folder with its spec, locked by this process while the run lasts, removed afterwards."""
    run_dir = inside(run.experiment, run.run_dir, "the run folder")
    run_dir.mkdir(parents=True)
    lock: IO[str] = (run_dir / LOCK_FILE).open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        (run_dir / SPEC_FILE).write_text(run.spec_json)
        for path in (run_dir.parent.parent, run_dir.parent, run_dir):
            # The container's uid writes its record here: owner the invoking user, group the image's, setgid.
            if os.geteuid() == 0:
                os.chown(path, ident.invoking_uid, ident.gid)
            path.chmod(0o2775)
        yield run_dir
    finally:
        lock.close()
        remove_tree(run_dir)


def read_record(
    run_dir: Path, status: int, tail: deque[str], decode: Callable[[str, str], T], what: str = "record"
) -> T:
    """The record the harness wrote in `run_dir` (`decode`: the contract's decoder for it), or why there is none."""
    path = run_dir / RECORD_FILE
    try:
        return decode(path.read_text(), str(path))
    except FileNotFoundError:
        raise RunFailed(
            f"the harness exited with status {status} and wrote no {what}{shown(tail)}",
            "read the output above; the image may be older than this tool (rebuild it: build.py image NAME)",
        ) from None
    except ContractError as error:
        raise RunFailed(str(error), "rebuild the image with this version of the tool (build.py image NAME)") from None


def shown(tail: deque[str]) -> str:
    return "".join(f"\n    {line}" for line in tail)


class _Interrupted(Exception):
    pass


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Interrupted(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
