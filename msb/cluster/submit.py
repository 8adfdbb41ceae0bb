"""`build.py run --system A --system B ... --slurm`: plan every unit as a local matrix would, write each chain's
file into the experiment, and submit one job per chain whose units are not all done."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from msb.cluster import chain as chains
from msb.cluster.slurm import Slurm
from msb.descriptions.rounds import load_round
from msb.descriptions.system import SystemSpec
from msb.engine import Engine
from msb.errors import MsbError, SpecError
from msb.labels import LABEL_CONTENT, image_ref
from msb.paths import atomic_write, inside
from msb.project import Project
from msb.run import artefact, matrix, matrix_run, runner
from msb.run.expdir import Identity, give_to_invoker, prepare
from msb.run.progress import PENDING
from msb.run.state import RunState, files_present, read_states, write_state


class JobsStillQueued(MsbError):
    """A submission into an experiment whose earlier jobs have not ended."""


@dataclass(frozen=True)
class SubmitInputs:
    experiment: Path
    dataset: Path
    model: Path
    count: int | None = None
    image: str | None = None
    gpus: str | None = None
    benchmark: str | None = None
    scenario: str | None = None
    force: bool = False
    image_archives: Path | None = None


@dataclass(frozen=True)
class Submitted:
    chain: str
    job: str | None  # None: every unit of the chain is done already
    units: int


def refuse_while_queued(experiment: Path, slurm: Slurm) -> None:
    """A second submission while the first's jobs wait or run would run the same units twice."""
    named = {s.job for s in read_states(experiment).values() if s.job} | set(chains.chain_jobs(experiment).values())
    live = slurm.queue(named)
    jobs = sorted((job for job in named if job in live), key=lambda job: int(job) if job.isdigit() else 0)
    if jobs:
        raise JobsStillQueued(
            f"experiment {experiment} has jobs still queued or running: {', '.join(jobs)}",
            f"wait for them (build.py status {experiment} --wait) or cancel them (scancel {' '.join(map(str, jobs))}),"
            " then submit again",
        )


@dataclass(frozen=True)
class PlannedSystem:
    system: SystemSpec
    chains: list[chains.Chain]


def plan_system(
    project: Project, system: SystemSpec, ident: Identity, inputs: SubmitInputs, engine: Engine
) -> PlannedSystem:
    """The system's matrix as a local run plans it, checked as a local run checks it (inputs, INT8 artefacts,
    image round and backends), cut into chains that carry the image's content digest."""
    experiment = inputs.experiment.resolve()
    profile = load_round(system.round, project.rounds)
    runs = matrix.plan_matrix(system, profile, inputs.benchmark, inputs.scenario)
    args = runner.RunArgs("", "", "accuracy", experiment, inputs.dataset.resolve(), inputs.model.resolve(),
                          inputs.count, inputs.image or image_ref(system.image), inputs.gpus)  # fmt: skip
    runner.check_inputs(args)
    for benchmark in sorted({run.benchmark for run in runs}):
        artefact.check_runnable(system, benchmark, inputs.model)
    matrix_run.check_before_start(system, runs, matrix_run.MatrixOptions(args), engine, ident)
    image = str(args.image)
    digest = engine.image_labels(image).get(LABEL_CONTENT)
    if digest is None:
        raise SpecError(
            f"image {image} has no content digest label ({LABEL_CONTENT}), so nodes could not be held to it",
            "build it with this tool (build.py image NAME), which labels it",
        )
    shared = chains.ChainInputs(str(args.dataset), str(args.model), args.count, image, args.gpus)
    archives = str(inputs.image_archives.resolve()) if inputs.image_archives else None
    description = chains.system_file(system.name)
    made = []
    for _, benchmark, scenario, kinds in chains.chains_of(runs):
        made.append(chains.Chain(str(experiment), system.name, benchmark, scenario, kinds, description, shared, digest,
                                 archives, ident, inputs.force))  # fmt: skip
    return PlannedSystem(system, made)


def units_to_run(experiment: Path, chain: chains.Chain, states: Mapping[str, RunState]) -> list[str]:
    """The chain's units a local matrix would run now: not done, or done but with files gone, or all with force."""
    return [
        run.key
        for run in chain.runs
        if matrix.needs_run(
            states[run.key].state if run.key in states else None,
            files_present(experiment, states.get(run.key)),
            chain.force,
        )
    ]


def submit(
    project: Project,
    systems: list[SystemSpec],
    idents: Mapping[str, Identity],
    inputs: SubmitInputs,
    engine: Engine,
    slurm: Slurm,
    say: Callable[[str], None],
) -> list[Submitted]:
    """Plan and check every system before anything is written or submitted; then one job per chain with units to
    run, its units recorded pending before the job exists (it may start at once and write their states)."""
    experiment = inputs.experiment.resolve()
    names = [s.name for s in systems]
    if len(set(names)) != len(names):
        raise SpecError(f"--system names system {sorted(n for n in names if names.count(n) > 1)[0]} twice",
                        "give each system once")  # fmt: skip
    planned = [plan_system(project, system, idents[system.name], inputs, engine) for system in systems]
    refuse_while_queued(experiment, slurm)
    owner = idents[systems[0].name]
    prepare(experiment, owner)
    states = read_states(experiment)
    submitted = []
    try:
        for plan in planned:
            system_file = inside(experiment, experiment / chains.system_file(plan.system.name), "the system file")
            atomic_write(system_file, plan.system.text or "")
            for chain in plan.chains:
                todo = units_to_run(experiment, chain, states)
                if not todo:
                    say(f"{chain.name}: every unit done, not submitted")
                    submitted.append(Submitted(chain.name, None, 0))
                    continue
                job = _submit_chain(project, experiment, chain, plan.system, todo, slurm)
                say(f"{chain.name}: job {job}, {len(todo)} unit(s)" + (" (exclusive)" if chain.timed else ""))
                submitted.append(Submitted(chain.name, job, len(todo)))
    finally:
        give_to_invoker(experiment, owner)
    return submitted


def _submit_chain(
    project: Project, experiment: Path, chain: chains.Chain, system: SystemSpec, todo: list[str], slurm: Slurm
) -> str:
    atomic_write(chains.chain_path(experiment, chain.name), chains.chain_json(chain))
    command = chains.node_command(sys.executable, project.root / "build.py", experiment, chain.name)
    (experiment / chains.LOGS_DIR).mkdir(parents=True, exist_ok=True)
    for key in todo:
        write_state(experiment, key, RunState(PENDING))
    job = slurm.submit(chains.sbatch_argv(chain, system.slurm, command))
    atomic_write(chains.job_path(experiment, chain.name), f"{job}\n")
    return job
