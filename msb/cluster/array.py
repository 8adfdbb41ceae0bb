"""A job array (pure): independent points (an exploration's grid points) submitted as one `sbatch --array`, each
task picking its point by SLURM_ARRAY_TASK_ID, and the job that runs once they have all ended
(`--dependency=afterany:`) to write the report. What the tasks need is the array file,
`<experiment>/.msb/cluster/array.json`; its job ids are in `array.job` and `finish.job` beside it."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from msb.cluster.chain import CLUSTER_DIR, LOGS_DIR
from msb.descriptions.slurm import SlurmOptions
from msb.errors import SpecError
from msb.paths import inside
from msb.run.expdir import Identity

SCHEMA = 1
ARRAY_FILE = f"{CLUSTER_DIR}/array.json"
ARRAY_JOB = f"{CLUSTER_DIR}/array.job"
FINISH_JOB = f"{CLUSTER_DIR}/finish.job"
FINISH = "finish"  # the finishing job's row in `build.py status`


@dataclass(frozen=True)
class ArrayPlan:
    kind: str  # what the tasks run: "explore"
    name: str  # the jobs' and logs' name
    experiment: str  # absolute, the same path on every node
    tasks: tuple[str, ...]  # each task's point (its state file's key), by task index
    timed: bool  # measured points: each task has its node to itself
    image: str
    image_content_sha256: str
    image_archives: str | None
    identity: Identity
    submitted: str  # when the first submission was made (UTC)
    payload: dict[str, Any]  # what the kind needs to plan a task again on its node

    def same_work(self, other: ArrayPlan) -> bool:
        """Another submission of the same points with the same inputs (times and archives aside)."""

        def work(plan: ArrayPlan) -> tuple[object, ...]:
            return plan.kind, plan.tasks, plan.image, plan.payload

        return work(self) == work(other)


def array_path(experiment: Path) -> Path:
    return inside(experiment, experiment / ARRAY_FILE, "the array file")


def array_json(plan: ArrayPlan) -> str:
    return json.dumps({"schema": SCHEMA, **asdict(plan)}, indent=2, sort_keys=True) + "\n"


def array_from_json(text: str, where: str) -> ArrayPlan:
    """An array file, strictly: one of another schema or shape is named with the fix."""
    fix = "submit again with this version of the tool (build.py explore ... --slurm)"
    try:
        data: dict[str, Any] = json.loads(text)
        if data.pop("schema", None) != SCHEMA:
            raise SpecError(f"{where} is not an array file of schema {SCHEMA}", fix)
        return ArrayPlan(**{**data, "tasks": tuple(data["tasks"]), "identity": Identity(**data["identity"])})
    except (json.JSONDecodeError, TypeError, KeyError, AttributeError) as error:
        raise SpecError(f"{where} is not a readable array file ({error})", fix) from None


def task_job(array_job: str, index: int) -> str:
    """An array task's id as squeue and scontrol take it: `<array job>_<task index>`."""
    return f"{array_job}_{index}"


def task_index(plan: ArrayPlan, environ: Mapping[str, str]) -> int:
    """The task's point, from SLURM_ARRAY_TASK_ID; outside an array task, or past its tasks, an error."""
    value = environ.get("SLURM_ARRAY_TASK_ID", "")
    if not value.isdigit():
        raise SpecError(
            "SLURM_ARRAY_TASK_ID is not set: build.py node-task runs as a task of the array a --slurm submission made",
            f"submit with build.py {plan.kind} ... --slurm, or set SLURM_ARRAY_TASK_ID=N to run point N by hand",
        )
    if int(value) >= len(plan.tasks):
        raise SpecError(f"task {value} is past the array's {len(plan.tasks)} point(s)",
                        f"run a task of 0 to {len(plan.tasks) - 1}")  # fmt: skip
    return int(value)


def log_name(plan: ArrayPlan, job: str) -> str:
    """A task's log (relative to the experiment); sbatch writes it from `--output=...%A_%a.log`."""
    return f"{LOGS_DIR}/{plan.name}.slurm-{job}.log"


def _options(slurm: SlurmOptions | None, gpus: bool) -> list[str]:
    options = slurm or SlurmOptions()
    argv = []
    for flag, value in (
        ("--partition", options.partition),
        ("--gres", f"gpu:{options.gpus_per_task}" if options.gpus_per_task and gpus else None),
        ("--time", options.time),
        ("--account", options.account),
        ("--constraint", options.constraint),
    ):
        if value is not None:
            argv.append(f"{flag}={value}")
    return argv + list(options.sbatch_options)


def array_argv(plan: ArrayPlan, slurm: SlurmOptions | None, indices: Sequence[int], command: list[str]) -> list[str]:
    """sbatch's line for the tasks of `indices` (a resubmission names only the points not done): no requeue, as for
    a chain; measured points get --exclusive, so no other job shares the node while one measures."""
    experiment = Path(plan.experiment)
    argv = ["sbatch", "--parsable", f"--job-name=msb-{plan.name}",
            f"--output={experiment / LOGS_DIR}/{plan.name}.slurm-%A_%a.log", "--no-requeue"]  # fmt: skip
    if plan.timed:
        argv.append("--exclusive")
    argv.append("--array=" + ",".join(str(i) for i in indices))
    return [*argv, *_options(slurm, gpus=True), "--wrap", "exec " + shlex.join(command)]


def finish_argv(plan: ArrayPlan, slurm: SlurmOptions | None, array_job: str | None, command: list[str]) -> list[str]:
    """The job that writes the report once every task has ended, however it ended (afterany; `array_job` None: no
    task to wait for): it measures nothing, so it shares its node and asks for no GPU."""
    experiment = Path(plan.experiment)
    return [
        "sbatch",
        "--parsable",
        f"--job-name=msb-{plan.name}-{FINISH}",
        f"--output={experiment / LOGS_DIR}/{plan.name}-{FINISH}.slurm-%j.log",
        "--no-requeue",
        *([f"--dependency=afterany:{array_job}"] if array_job else []),
        *_options(slurm, gpus=False),
        "--wrap",
        "exec " + shlex.join(command),
    ]


def node_command(python: str, build_py: Path, entry: str, experiment: Path) -> list[str]:
    """What a task (`node-task`) or the finishing job (`node-finish`) runs on its node."""
    return [python, str(build_py), entry, str(experiment)]
