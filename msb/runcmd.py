"""The `docker run` line for one harness run: a pure function, so `--print-command` shows exactly what runs and
tests can assert every argument without a Docker engine."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from msb.system_spec import BenchmarkSettings, RunOptions

CONTAINER_EXPERIMENT = "/work/experiment"
CONTAINER_DATASET = "/data/dataset"
CONTAINER_MODEL_DIR = "/data/model"
RUN_LABEL = "io.mlperf-builder.run"

# harness flag <- scenario setting name in systems/*.yaml
SCENARIO_FLAGS = {
    "target_qps": "--target-qps",
    "target_latency_ms": "--target-latency-ms",
    "min_duration_ms": "--min-duration-ms",
    "min_query_count": "--min-query-count",
    "samples_per_query": "--samples-per-query",
}


@dataclass(frozen=True)
class RunRequest:
    image: str
    container_name: str
    uid: int
    gid: int
    experiment: Path
    dataset: Path
    model: Path
    options: RunOptions
    submitter: str
    system: str
    benchmark: str
    scenario: str
    mode: str
    settings: BenchmarkSettings
    scenario_settings: dict[str, float]
    count: int | None = None
    system_json: str | None = None  # path inside the container
    run_info: str | None = None  # JSON of the run options, recorded with the results
    compliance: str | None = None  # compliance test (TEST01, TEST04): a performance run LoadGen's audit.config alters
    audit_config: str | None = None  # path inside the container
    command: str = "run"  # harness command: run, or find-peak (which searches the setting, so takes no --mode)
    result_json: str | None = None  # find-peak's answer, path inside the container


def docker_options(req: RunRequest) -> list[str]:
    args = [
        "--rm",
        "--init",  # a real PID 1 forwards SIGTERM to the harness, so an interrupted run cleans its staging
        "--name", req.container_name,
        "--label", f"{RUN_LABEL}={req.container_name}",
        "--user", f"{req.uid}:{req.gid}",
        "--shm-size", req.options.shm_size,
    ]  # fmt: skip
    for name, value in sorted(req.options.ulimits.items()):
        args += ["--ulimit", f"{name}={value}"]
    if req.options.gpus is not None:
        args += ["--gpus", req.options.gpus]
    args += [
        "-v", f"{req.experiment}:{CONTAINER_EXPERIMENT}",
        "-v", f"{req.dataset}:{CONTAINER_DATASET}:ro",
        "-v", f"{req.model.parent}:{CONTAINER_MODEL_DIR}:ro",
    ]  # fmt: skip
    return args


def harness_args(req: RunRequest) -> list[str]:
    s = req.settings
    args = [
        req.command,
        "--benchmark", req.benchmark,
        "--scenario", req.scenario,
        *(["--mode", req.mode] if req.command == "run" else []),
        "--dataset", CONTAINER_DATASET,
        "--model", f"{CONTAINER_MODEL_DIR}/{req.model.name}",
        "--backend", s.backend,
        "--device", s.device,
        "--precision", s.precision,
        "--batch-size", str(s.batch_size),
        "--output", CONTAINER_EXPERIMENT,
        "--submitter", req.submitter,
        "--system", req.system,
    ]  # fmt: skip
    if s.threads is not None:
        args += ["--threads", str(s.threads)]
    if s.impl:
        args += ["--impl", s.impl]
    for key, value in sorted(s.backend_options.items()):
        # JSON so lists and numbers keep their type; the harness reads the value as JSON where it parses.
        args += ["--backend-option", f"{key}={value if isinstance(value, str) else json.dumps(value)}"]
    for key, flag in SCENARIO_FLAGS.items():
        if key in req.scenario_settings:
            value = req.scenario_settings[key]
            args += [flag, str(int(value)) if float(value).is_integer() else str(value)]
    if req.count is not None:
        args += ["--count", str(req.count)]
    if req.system_json:
        args += ["--system-json", req.system_json]
    if req.run_info:
        args += ["--run-info-json", req.run_info]
    if req.compliance:
        args += ["--compliance", req.compliance, "--audit-config", req.audit_config or ""]
    if req.result_json:
        args += ["--result-json", req.result_json]
    return args


def docker_run_argv(req: RunRequest) -> list[str]:
    return ["docker", "run", *docker_options(req), req.image, *harness_args(req)]
