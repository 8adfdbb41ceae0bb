"""A chain: the units of one system, benchmark and scenario, in the matrix's order (accuracy, performance,
compliance tests), run by one Slurm job. Pure: what the job needs (its chain file, as JSON) and its sbatch line.

The chain file (`<experiment>/.msb/cluster/<chain>.json`) holds everything the node needs that is not on shared
storage by name already: the system description's text as submitted, the run inputs, the image and its content
digest, who owns the results. The node plans its units again from it, through the same matrix planner."""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.contract import ACCURACY
from msb.descriptions.slurm import SlurmOptions
from msb.errors import SpecError
from msb.paths import inside
from msb.run.expdir import Identity
from msb.run.matrix import MatrixRun

SCHEMA = 1
CLUSTER_DIR = ".msb/cluster"
SYSTEMS_DIR = f"{CLUSTER_DIR}/systems"
LOGS_DIR = ".msb/logs"


@dataclass(frozen=True)
class ChainInputs:
    """What every unit of the chain shares from the command line (paths absolute, on shared storage)."""

    dataset: str
    model: str
    count: int | None
    image: str
    gpus: str | None


@dataclass(frozen=True)
class Chain:
    experiment: str  # absolute, the same path on every node
    system: str  # the system's name
    benchmark: str
    scenario: str
    kinds: tuple[str, ...]  # accuracy, performance, TEST01, ... in the matrix's order
    system_file: str  # the description as submitted, relative to the experiment
    inputs: ChainInputs
    image_content_sha256: str | None
    image_archives: str | None
    identity: Identity
    force: bool = False

    @property
    def name(self) -> str:
        return f"{self.system}-{self.benchmark}-{self.scenario}"

    @property
    def runs(self) -> list[MatrixRun]:
        return [MatrixRun(self.system, self.benchmark, self.scenario, kind) for kind in self.kinds]

    @property
    def timed(self) -> bool:
        """Performance and compliance runs are measured: their job has the node to itself."""
        return any(kind != ACCURACY for kind in self.kinds)


def chain_path(experiment: Path, name: str) -> Path:
    return inside(experiment, experiment / CLUSTER_DIR / f"{name}.json", "the chain file")


def job_path(experiment: Path, name: str) -> Path:
    """The chain's latest job id, written when sbatch answers (the units' states name it once they start)."""
    return inside(experiment, experiment / CLUSTER_DIR / f"{name}.job", "the chain's job file")


def chain_jobs(experiment: Path) -> dict[str, str]:
    """Each submitted chain's latest job id."""
    folder = experiment / CLUSTER_DIR
    jobs = {path.stem: path.read_text().strip() for path in folder.glob("*.job")} if folder.is_dir() else {}
    return {name: job for name, job in jobs.items() if job.isdigit()}


def chain_names(experiment: Path) -> list[str]:
    folder = experiment / CLUSTER_DIR
    return sorted(path.stem for path in folder.glob("*.json")) if folder.is_dir() else []


def system_file(system: str) -> str:
    return f"{SYSTEMS_DIR}/{system}.yaml"


def chains_of(runs: list[MatrixRun]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(system, benchmark, scenario, kinds) per chain, in plan order."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for run in runs:
        grouped.setdefault((run.system, run.benchmark, run.scenario), []).append(run.kind)
    return [(*key, tuple(kinds)) for key, kinds in grouped.items()]


def chain_json(chain: Chain) -> str:
    return json.dumps({"schema": SCHEMA, **asdict(chain)}, indent=2, sort_keys=True) + "\n"


def chain_from_json(text: str, where: str) -> Chain:
    """A chain file, strictly: one of another schema or shape is named with the fix."""
    fix = "submit again with this version of the tool (build.py run ... --slurm)"
    try:
        data: dict[str, Any] = json.loads(text)
        if data.pop("schema", None) != SCHEMA:
            raise SpecError(f"{where} is not a chain file of schema {SCHEMA}", fix)
        return Chain(
            **{
                **data,
                "kinds": tuple(data["kinds"]),
                "inputs": ChainInputs(**data["inputs"]),
                "identity": Identity(**data["identity"]),
            }
        )
    except (json.JSONDecodeError, TypeError, KeyError, AttributeError) as error:
        raise SpecError(f"{where} is not a readable chain file ({error})", fix) from None


def log_pattern(experiment: Path, name: str) -> Path:
    """The job's output file; sbatch replaces %j by the job id."""
    return experiment / LOGS_DIR / f"{name}.slurm-%j.log"


def job_log(experiment: Path, name: str, job: str) -> Path:
    return experiment / LOGS_DIR / f"{name}.slurm-{job}.log"


def sbatch_argv(chain: Chain, slurm: SlurmOptions | None, node_command: list[str]) -> list[str]:
    """sbatch's command line for the chain's job. No requeue: a job that lost its node ends (NODE_FAIL), so its
    units show failed and the next submission redoes them, rather than the controller rerunning it unseen."""
    options = slurm or SlurmOptions()
    experiment = Path(chain.experiment)
    argv = [
        "sbatch",
        "--parsable",
        f"--job-name=msb-{chain.name}",
        f"--output={log_pattern(experiment, chain.name)}",
        "--no-requeue",
    ]
    if chain.timed:
        argv.append("--exclusive")
    for flag, value in (
        ("--partition", options.partition),
        ("--gres", f"gpu:{options.gpus_per_task}" if options.gpus_per_task else None),
        ("--time", options.time),
        ("--account", options.account),
        ("--constraint", options.constraint),
    ):
        if value is not None:
            argv.append(f"{flag}={value}")
    argv += list(options.sbatch_options)
    return [*argv, "--wrap", "exec " + shlex.join(node_command)]


def node_command(python: str, build_py: Path, experiment: Path, name: str) -> list[str]:
    """What the job runs on its node: the one node-side entry of build.py."""
    return [python, str(build_py), "node-run", str(experiment), name]
