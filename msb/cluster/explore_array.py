"""`build.py explore ... --slurm`: the grid's points as one job array, each task one point on its node (an experiment
of its own under `<exploration>/points/<point>/`, as locally), and the report written by the job that runs once
every task has ended. The points are planned and checked on the submitting host before anything is submitted; each
node plans its point again from the array file, through the same planner."""

from __future__ import annotations

import dataclasses
import shutil
import socket
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from msb.cluster import array
from msb.cluster.array import ArrayPlan
from msb.cluster.array_submit import ArraySubmitted, read_array, refuse_while_live, submit_array, todo
from msb.cluster.node import job_gpus
from msb.cluster.slurm import Slurm
from msb.descriptions.system import SystemSpec, parse_system_spec
from msb.engine import Engine
from msb.errors import MsbError, SpecError
from msb.explore import run
from msb.explore.grid import Point
from msb.explore.render import Exploration
from msb.explore.results import FAILED as POINT_FAILED
from msb.explore.results import REFUSED, PointResult
from msb.image.archive import ensure_image
from msb.labels import LABEL_CONTENT
from msb.project import Project
from msb.run import manifest, runner
from msb.run.expdir import Identity, give_to_invoker, prepare
from msb.run.progress import DONE, FAILED, RUNNING
from msb.run.state import RunState, read_states, write_state

KIND = "explore"


def explore_payload(system: SystemSpec, options: run.ExploreOptions) -> dict[str, Any]:
    """What a node needs to plan a point again: the description as submitted and the exploration's inputs."""
    args = options.inputs
    return {
        "system_text": system.text,
        "system_path": str(system.path),
        "benchmark": args.benchmark,
        "scenario": args.scenario,
        "dataset": str(args.dataset.resolve()),
        "model": str(args.model.resolve()),
        "count": args.count,
        "gpus": args.gpus,
        "duration_ms": options.duration_ms,
        "points": [[p.batch_size, p.threads] for p in options.points],
    }


def options_of(plan: ArrayPlan, image: str) -> tuple[SystemSpec, run.ExploreOptions]:
    """The system and options the submission planned, read back from the array file, to run in `image`."""
    data = plan.payload
    where = data["system_path"]
    system = parse_system_spec(yaml.safe_load(data["system_text"]), f"{where} (as submitted)")
    system = dataclasses.replace(system, path=Path(where), text=data["system_text"])
    inputs = runner.RunArgs(data["benchmark"], data["scenario"], "performance", Path(plan.experiment),
                            Path(data["dataset"]), Path(data["model"]), data["count"], image, data["gpus"])  # fmt: skip
    points = tuple(Point(int(b), None if t is None else int(t)) for b, t in data["points"])
    return system, run.ExploreOptions(inputs, points, data["duration_ms"])


def submit_explore(
    project: Project,
    system: SystemSpec,
    options: run.ExploreOptions,
    ident: Identity,
    engine: Engine,
    slurm: Slurm,
    archives: Path | None,
    say: Callable[[str], None],
) -> ArraySubmitted:
    """Plan and check every point as a local exploration does, then submit the array and its finishing job. The same
    command again resubmits only the points not done (the folder then holds this exploration's array file)."""
    folder = options.inputs.experiment.resolve()
    if options.apply:
        raise SpecError("--apply writes into the system description, which a node should not do",
                        "drop --apply; read the recommendation in report/summary.md and apply it by hand, or "
                        "rerun the best point locally with --apply")  # fmt: skip
    if read_array(folder) is None:
        run.check_folder_is_new(folder)
    options = dataclasses.replace(options, inputs=dataclasses.replace(options.inputs, experiment=folder))
    runner.check_inputs(dataclasses.replace(options.inputs, mode="performance"))
    planned = run.plan_points(system, options, ident, folder)
    runner.check_engine(planned[0].plan, engine)
    image = planned[0].plan.container.image
    digest = engine.image_labels(image).get(LABEL_CONTENT)
    if digest is None:
        raise SpecError(f"image {image} has no content digest label ({LABEL_CONTENT}): nodes could not be held to it",
                        "build it with this tool (build.py image NAME), which labels it")  # fmt: skip
    args = options.inputs
    plan = ArrayPlan(KIND, f"explore-{system.name}-{args.benchmark}-{args.scenario}", str(folder),
                     tuple(p.tag for p in options.points), True, image, digest,
                     str(archives.resolve()) if archives else None, ident, _now(),
                     explore_payload(system, options))  # fmt: skip
    prepare(folder, ident)
    try:
        build_py = project.root / "build.py"
        task = array.node_command(sys.executable, build_py, "node-task", folder)
        finish = array.node_command(sys.executable, build_py, "node-finish", folder)
        return submit_array(plan, system.slurm, task, finish, slurm, say, _reported(folder, plan, slurm))
    finally:
        give_to_invoker(folder, ident)


def _reported(folder: Path, plan: ArrayPlan, slurm: Slurm) -> bool:
    """Whether the report of every point is written; one written before points that run again now is stale, and
    goes (once no job of the earlier submission lives: it might be writing it)."""
    report = folder / run.REPORT_DIR
    earlier = read_array(folder)
    if earlier is None or not report.exists():
        return False
    refuse_while_live(folder, earlier, slurm)
    if todo(folder, earlier if earlier.same_work(plan) else plan):
        shutil.rmtree(report)
        return False
    return (report / run.SUMMARY_FILE).is_file()


def run_task(experiment: Path, engine: Engine, environ: Mapping[str, str], say: Callable[[str], None]) -> PointResult:
    """`build.py node-task EXPERIMENT` in an exploration's array: the task's point, held to the planned image, with
    the GPUs Slurm allocated; its state says where it ran and how it ended."""
    experiment = experiment.resolve()
    plan = _read(experiment)
    index = array.task_index(plan, environ)
    key, node = plan.tasks[index], socket.gethostname()
    job = array.task_job(environ.get("SLURM_ARRAY_JOB_ID", environ.get("SLURM_JOB_ID", "")), index)
    write_state(experiment, key, RunState(RUNNING, job=job, node=node))
    try:
        image = ensure_image(engine, plan.image, plan.image_content_sha256,
                             Path(plan.image_archives) if plan.image_archives else None)  # fmt: skip
        system, options = options_of(plan, image)
        gpus = job_gpus(system, options.inputs.gpus, environ, job)
        options = dataclasses.replace(options, inputs=dataclasses.replace(options.inputs, gpus=gpus))
        options = dataclasses.replace(options, points=(options.points[index],))
        planned = run.plan_points(system, options, plan.identity, experiment)[0]
        runner.check_engine(planned.plan, engine)
        say(f"point {key} on {node} (job {job})")
        result = run.run_point(planned, experiment, engine, plan.identity, say, manifest.Placement(node, job))
    except (MsbError, KeyboardInterrupt) as error:
        why = error.message if isinstance(error, MsbError) else "interrupted"
        write_state(experiment, key, RunState(FAILED, job=job, node=node, reason=f"on {node}: {why}"[:300]))
        raise
    finally:
        give_to_invoker(experiment, plan.identity)
    done = result.status not in (POINT_FAILED, REFUSED)  # measured, VALID or not: the point's answer
    write_state(experiment, key, RunState(DONE if done else FAILED, job=job, node=node,
                                          reason=None if done else result.message[:300]))  # fmt: skip
    return result


def finish(experiment: Path) -> tuple[Exploration, Path]:
    """`build.py node-finish EXPERIMENT`: the report of every point, as each task left it (a point without its
    point.json is failed, with why from its state), written as a local exploration writes it."""
    experiment = experiment.resolve()
    plan = _read(experiment)
    system, options = options_of(plan, plan.image)
    states = read_states(experiment)
    results = []
    for point in options.points:
        found = run.read_point_result(experiment, point)
        if found is None:
            state = states.get(point.tag)
            why = (state.reason if state and state.reason else None) or "its task ended without a result"
            found = PointResult(point, POINT_FAILED, message=why, experiment=f"{run.POINTS_DIR}/{point.tag}")
        results.append(found)
    exploration = run.exploration_of(system, options, plan.image, plan.submitted, tuple(results))
    report = experiment / run.REPORT_DIR
    if report.exists():  # an earlier submission's report: replaced, as its points may have been redone
        shutil.rmtree(report)
    run.write_report(report, exploration)
    give_to_invoker(experiment, plan.identity)
    return exploration, report


def _read(experiment: Path) -> ArrayPlan:
    plan = read_array(experiment)
    if plan is None or plan.kind != KIND:
        raise SpecError(f"{experiment} holds no exploration submitted to Slurm (no {array.ARRAY_FILE})",
                        "give the --experiment of a `build.py explore ... --slurm`")  # fmt: skip
    return plan


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
