"""`build.py node-run EXPERIMENT CHAIN`: what a Slurm job runs on its node. The chain's units go through the local
matrix's own machinery (msb/run/matrix_run.py: the same engine, contract, staging, manifests, truncation), held to
the image digest planned at submission, with the GPUs Slurm allocated, owned as the submitter's."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console

from msb.cluster.chain import Chain, chain_from_json, chain_names, chain_path
from msb.cluster.gpus import allocated_gpus
from msb.descriptions.rounds import load_round
from msb.descriptions.system import SystemSpec, load_system_spec
from msb.engine import Engine
from msb.errors import GpuUnavailable, MsbError, SpecError
from msb.image.archive import ensure_image
from msb.project import Project
from msb.run import artefact, matrix, matrix_run, runner
from msb.run.progress import DONE, FAILED
from msb.run.state import RunState, read_states, write_state


def read_chain(experiment: Path, name: str) -> Chain:
    path = chain_path(experiment, name)
    known = chain_names(experiment)
    if known and name not in known:
        raise SpecError(f"experiment {experiment} has no chain {name!r}", f"choose one of: {', '.join(known)}")
    try:
        text = path.read_text()
    except OSError as error:
        raise SpecError(
            f"cannot read chain file {path} on {socket.gethostname()} ({error.strerror or error})",
            "put the experiment on storage every node mounts at the same path, then submit again",
        ) from None
    chain = chain_from_json(text, str(path))
    if Path(chain.experiment) != experiment:
        raise SpecError(
            f"chain {name} was planned for experiment {chain.experiment}, but runs in {experiment}",
            "mount the experiment at the same path on every node as on the submitting host",
        )
    return chain


def node_run(
    project: Project, experiment: Path, name: str, engine: Engine, environ: Mapping[str, str], console: Console
) -> matrix_run.MatrixOutcome:
    experiment = experiment.resolve()
    chain = read_chain(experiment, name)
    job, node = environ.get("SLURM_JOB_ID"), socket.gethostname()
    try:
        system = load_system_spec(project, str(experiment / chain.system_file))
        profile = load_round(system.round, project.rounds)
        runs = [
            r for r in matrix.plan_matrix(system, profile, chain.benchmark, chain.scenario) if r.kind in chain.kinds
        ]
        if [r.key for r in runs] != [r.key for r in chain.runs]:
            raise SpecError(
                f"chain {name} lists {', '.join(chain.kinds)}, but its system's matrix plans "
                f"{', '.join(r.kind for r in runs)} now",
                "submit again (build.py run ... --slurm), which writes the chain anew",
            )
        archives = Path(chain.image_archives) if chain.image_archives else None
        image = ensure_image(engine, chain.inputs.image, chain.image_content_sha256, archives)
        gpus = job_gpus(system, chain.inputs.gpus, environ, job)
        inputs = runner.RunArgs(
            "",
            "",
            "accuracy",
            experiment,
            Path(chain.inputs.dataset),
            Path(chain.inputs.model),
            chain.inputs.count,
            image,
            gpus,
        )
        calibrated = {}
        record = artefact.check_runnable(system, chain.benchmark, inputs.model)
        if record is not None:
            calibrated[chain.benchmark] = artefact.calibration_text(chain.benchmark, record)
        options = matrix_run.MatrixOptions(inputs, force=chain.force, calibrated=calibrated, job=job, node=node)
        # The matrix checks these again; here a refusal (another round's image, GPUs without a runtime) is recorded.
        matrix_run.check_before_start(system, runs, options, engine, chain.identity)
    except MsbError as error:
        _fail_units(experiment, chain, f"on {node}: {error.message}", job, node)
        raise
    console.print(f"[bold]chain[/] {name} on {node} (job {job}): {len(runs)} unit(s)")
    return matrix_run.run_matrix(system, profile, runs, options, engine, chain.identity, console)


def _fail_units(experiment: Path, chain: Chain, reason: str, job: str | None, node: str) -> None:
    """The chain could not start here: its units not done say why (where the experiment can be written)."""
    states = read_states(experiment)
    for run in chain.runs:
        if run.key not in states or states[run.key].state != DONE:
            try:
                write_state(experiment, run.key, RunState(FAILED, job=job, node=node, reason=reason[:300]))
            except OSError:
                return  # the shared folder is not writable from here: Slurm's end of the job tells status


def job_gpus(system: SystemSpec, gpus: str | None, environ: Mapping[str, str], job: str | None) -> str | None:
    """The GPUs a job's containers get: exactly what Slurm allocated to the job, never more. A system that asks
    for GPUs (`gpus`: --gpus at submission, else its run.gpus) in a job given none is refused rather than handed the
    node's."""
    allocated = allocated_gpus(environ)
    wanted = gpus or system.run.gpus
    if allocated is None and wanted is not None:
        raise GpuUnavailable(
            f"system '{system.name}' asks for GPUs ({wanted}) but Slurm allocated none to job {job}",
            "give the system's slurm: block gpus_per_task: N (sbatch --gres=gpu:N)",
        )
    return allocated
