"""`build.py run`: plan one harness run from a system description, check it can run, run it, hand back results."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import signal
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from msb.engine import Engine, has_nvidia_runtime
from msb.errors import GpuUnavailable, RunFailed, SpecError
from msb.expdir import Identity, hand_back, prepare
from msb.runcmd import CONTAINER_EXPERIMENT, RunRequest, docker_run_argv
from msb.system_spec import MODES, SystemSpec

INPUTS_DIR = ".msb/inputs"  # per-run inputs the host hands to the container, inside the experiment volume
AUDIT_CONFIG = "audit.config"
LOG_TAIL_LINES = 15


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
    compliance: str | None = None  # compliance test; its audit.config goes into the run's inputs
    command: str = "run"  # or "find-peak"
    result_json: str | None = None  # where find-peak writes its answer, relative to the experiment


class RunInterrupted(RunFailed):
    """Ctrl-C or SIGTERM stopped the run: a matrix stops too, even with --keep-going."""


class RunExited(RunFailed):
    """The harness exited non-zero; `code` tells a refused input (2) from a compliance test that placed its results
    but did not pass verification (1, as does a crash)."""

    def __init__(self, message: str, code: int, fix: str = "") -> None:
        super().__init__(message, fix)
        self.code = code


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


def plan(system: SystemSpec, args: RunArgs, ident: Identity) -> RunRequest:
    """Everything about the run that follows from the inputs; no side effects."""
    bench, scenario_settings = system.settings(args.benchmark, args.scenario)
    options = system.run
    if args.gpus is not None:
        options = dataclasses.replace(options, gpus=args.gpus)
    if bench.device.startswith("cuda") and options.gpus is None:
        raise GpuUnavailable(
            f"{args.benchmark} on system '{system.name}' runs on device '{bench.device}' but no GPUs were requested",
            "pass --gpus all (or set run.gpus in the system description)",
        )
    run_id = uuid.uuid4().hex[:8]
    what = args.compliance or (args.mode if args.command == "run" else args.command)
    name = f"msb-{system.name}-{args.benchmark}-{args.scenario}-{what}-{run_id}".lower().replace("_", "-")
    inputs = f"{CONTAINER_EXPERIMENT}/{INPUTS_DIR}/{run_id}"
    image = args.image or f"msb/{system.image}:latest"
    run_info = {
        "image": image,
        "user": f"{ident.container_uid}:{ident.gid}",
        "shm_size": options.shm_size,
        "gpus": options.gpus,
        "ulimits": options.ulimits,
    }
    return RunRequest(
        image=image,
        container_name=name,
        uid=ident.container_uid,
        gid=ident.gid,
        experiment=args.experiment.resolve(),
        dataset=args.dataset.resolve(),
        model=args.model.resolve(),
        options=options,
        submitter=system.submitter,
        system=system.name,
        benchmark=args.benchmark,
        scenario=args.scenario,
        mode=args.mode,
        settings=bench,
        scenario_settings=scenario_settings,
        count=args.count,
        system_json=f"{inputs}/{system.name}.json",
        run_info=json.dumps(run_info, sort_keys=True),
        compliance=args.compliance,
        audit_config=f"{inputs}/{AUDIT_CONFIG}" if args.compliance else None,
        command=args.command,
        result_json=f"{CONTAINER_EXPERIMENT}/{args.result_json}" if args.result_json else None,
    )


def check_engine(req: RunRequest, engine: Engine, round_name: str | None = None) -> None:
    """Fail before starting anything: image present, of the system's round (its LoadGen carries that round's seeds)
    and carrying the backend, GPUs only where a runtime exists."""
    labels = engine.image_labels(req.image)
    image_round = labels.get("io.mlperf-builder.round")
    if round_name is not None and image_round is not None and image_round != round_name:
        raise SpecError(
            f"image {req.image} is built for round {image_round}, but system '{req.system}' follows round {round_name}",
            f"use an image of round {round_name} (images/*.yaml `round:`, e.g. `image: cpu-v5.0` for v5.0) or --image",
        )
    carried = [b for b in labels.get("io.mlperf-builder.backends", "").split(",") if b]
    if req.settings.backend not in carried:
        raise SpecError(
            f"image {req.image} carries backends {carried or '(none)'}, not '{req.settings.backend}'",
            "use an image that carries it (images/*.yaml `backends:`) or change the system's backend",
        )
    if req.options.gpus is not None and not has_nvidia_runtime(engine.info()):
        raise GpuUnavailable(
            f"--gpus {req.options.gpus} was asked for, but this Docker engine has no NVIDIA runtime",
            "install the NVIDIA Container Toolkit and restart dockerd, or run on a GPU host; we never fall back to CPU",
        )


class _Interrupted(Exception):
    pass


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise _Interrupted(signal.Signals(signum).name)


def execute(
    req: RunRequest,
    system: SystemSpec,
    engine: Engine,
    ident: Identity,
    log: Path | None = None,
    audit_config: str | None = None,
) -> None:
    """Run the container, its output live or into `log`; on interruption remove it (its harness discards the staged
    results). `audit_config` is the text of the compliance run's audit.config."""
    prepare(req.experiment, ident)
    inputs = req.experiment / INPUTS_DIR / Path(req.system_json or "").parent.name
    inputs.mkdir(parents=True, exist_ok=True)
    (inputs / f"{system.name}.json").write_text(json.dumps(systems_json(system), indent=2, sort_keys=True) + "\n")
    if audit_config is not None:
        (inputs / AUDIT_CONFIG).write_text(audit_config)
    if os.geteuid() == 0:
        os.chown(inputs.parent.parent, ident.invoking_uid, ident.gid)
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    output = None
    try:
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            output = log.open("w")
        process = subprocess.Popen(docker_run_argv(req), stdout=output, stderr=subprocess.STDOUT if output else None)
        try:
            code = process.wait()
        except (KeyboardInterrupt, _Interrupted) as exc:
            engine.remove_container(req.container_name)
            process.wait()
            raise RunInterrupted(
                f"run {req.container_name} interrupted ({exc or 'SIGINT'}); no result was kept"
            ) from None
    finally:
        if output is not None:
            output.close()
        signal.signal(signal.SIGTERM, previous)
        for path in sorted(inputs.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        inputs.rmdir()
        hand_back(req.experiment, ident)
    if code != 0:
        where = f"its log {log}" if log else "the harness message above"
        tail = _tail(log) if log else ""
        raise RunExited(
            f"harness run {req.container_name} exited with status {code}{tail}",
            code,
            f"read {where}; nothing partial was written into the submission tree",
        )


def _tail(log: Path) -> str:
    lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
    return "".join(f"\n    {line}" for line in lines)


def command_line(req: RunRequest) -> str:
    return shlex.join(docker_run_argv(req))
