"""`build.py run --system A --system B ... --slurm`: plan every unit as a local matrix would, write each chain's
file into the experiment, and submit one job per chain whose units are not all done."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from msb.calibrate import artefact
from msb.cluster import chain as chains
from msb.cluster.slurm import Slurm
from msb.descriptions.rounds import load_round
from msb.descriptions.system import SystemSpec
from msb.engine import Engine
from msb.errors import MsbError, SpecError
from msb.labels import LABEL_CONTENT, image_ref
from msb.paths import atomic_write, inside
from msb.project import Project
from msb.run import matrix, matrix_run, runner
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


def submit(
    project: Project,
    systems: list[SystemSpec],
    idents: Mapping[str, Identity],
    inputs: SubmitInputs,
    engine: Engine,
    slurm: Slurm,
    say: Callable[[str], None],
) -> list[Submitted]:
    """Plan, check and submit; each chain's units are recorded pending on their job before anything else."""
    experiment = inputs.experiment.resolve()
    names = [s.name for s in systems]
    if len(set(names)) != len(names):
        raise SpecError(f"--system names system {sorted(n for n in names if names.count(n) > 1)[0]} twice",
                        "give each system once")  # fmt: skip
    planned = []
    for system in systems:
        profile = load_round(system.round, project.rounds)
        runs = matrix.plan_matrix(system, profile, inputs.benchmark, inputs.scenario)
        args = runner.RunArgs("", "", "accuracy", experiment, inputs.dataset.resolve(), inputs.model.resolve(),
                              inputs.count, inputs.image or image_ref(system.image), inputs.gpus)  # fmt: skip
        runner.check_inputs(args)
        for benchmark in sorted({run.benchmark for run in runs}):
            artefact.check_runnable(system, benchmark, inputs.model)
        ident = idents[system.name]
        matrix_run.check_before_start(system, runs, matrix_run.MatrixOptions(args), engine, ident)
        digest = engine.image_labels(str(args.image)).get(LABEL_CONTENT)
        if digest is None:
            raise SpecError(
                f"image {args.image} has no content digest label ({LABEL_CONTENT}), so nodes could not be held to it",
                "build it with this tool (build.py image NAME), which labels it",
            )
        planned.append((system, runs, args, ident, digest))
    refuse_while_queued(experiment, slurm)
    prepare(experiment, planned[0][3])
    states = read_states(experiment)
    submitted = []
    for system, runs, args, ident, digest in planned:
        atomic_write(inside(experiment, experiment / chains.system_file(system.name), "the system file"),
                     system.text or "")  # fmt: skip
        for name, benchmark, scenario, kinds in [(f"{s}-{b}-{c}", b, c, k) for s, b, c, k in chains.chains_of(runs)]:
            chain = chains.Chain(
                str(experiment), system.name, benchmark, scenario, kinds, chains.system_file(system.name),
                chains.ChainInputs(str(args.dataset), str(args.model), args.count, str(args.image), args.gpus),
                digest, str(inputs.image_archives.resolve()) if inputs.image_archives else None, ident, inputs.force,
            )  # fmt: skip
            todo = [
                run.key
                for run in chain.runs
                if matrix.needs_run(
                    states[run.key].state if run.key in states else None,
                    files_present(experiment, states.get(run.key)),
                    inputs.force,
                )
            ]
            if not todo:
                submitted.append(Submitted(name, None, 0))
                say(f"{name}: every unit done, not submitted")
                continue
            atomic_write(chains.chain_path(experiment, name), chains.chain_json(chain))
            build_py = project.root / "build.py"
            argv = chains.sbatch_argv(chain, system.slurm, chains.node_command(sys.executable, build_py,
                                                                                experiment, name))  # fmt: skip
            (experiment / chains.LOGS_DIR).mkdir(parents=True, exist_ok=True)
            # Pending before the job exists: the job may start at once, and its states must not be overwritten.
            for key in todo:
                write_state(experiment, key, RunState(PENDING))
            job = slurm.submit(argv)
            atomic_write(chains.job_path(experiment, name), f"{job}\n")
            submitted.append(Submitted(name, job, len(todo)))
            say(f"{name}: job {job}, {len(todo)} unit(s)" + (" (exclusive)" if chain.timed else ""))
    give_to_invoker(experiment, planned[0][3])
    return submitted
