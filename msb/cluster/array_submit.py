"""A job array's edge: its file and pending states written, `sbatch --array` and the finishing job submitted, a
second submission refused while any of them lives, and what `build.py status` shows of each point."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from msb.cluster import array
from msb.cluster.array import ArrayPlan
from msb.cluster.chain import LOGS_DIR
from msb.cluster.jobs import Job
from msb.cluster.slurm import Slurm
from msb.cluster.submit import JobsStillQueued
from msb.cluster.unit_status import UnitView, slurm_end, unit_view
from msb.descriptions.slurm import SlurmOptions
from msb.errors import SpecError
from msb.paths import atomic_write, inside
from msb.run.progress import DONE, FAILED, PENDING
from msb.run.state import RunState, read_states, write_state


@dataclass(frozen=True)
class ArraySubmitted:
    array_job: str | None  # None: every point is done already, nothing submitted
    finish_job: str | None
    tasks: tuple[int, ...]


def read_array(experiment: Path) -> ArrayPlan | None:
    path = array.array_path(experiment)
    return array.array_from_json(path.read_text(), str(path)) if path.is_file() else None


def _job_file(experiment: Path, name: str) -> Path:
    return inside(experiment, experiment / name, "a job file")


def submitted_jobs(experiment: Path) -> tuple[str | None, str | None]:
    """The latest array job and finishing job (their ids as sbatch gave them)."""
    found = []
    for name in (array.ARRAY_JOB, array.FINISH_JOB):
        path = _job_file(experiment, name)
        job = path.read_text().strip() if path.is_file() else ""
        found.append(job if job.isdigit() else None)
    return found[0], found[1]


def live_jobs(experiment: Path, plan: ArrayPlan, slurm: Slurm) -> list[str]:
    """The tasks and the finishing job that squeue still lists."""
    array_job, finish_job = submitted_jobs(experiment)
    named = {s.job for s in read_states(experiment).values() if s.job}
    if array_job:
        named |= {array.task_job(array_job, i) for i in range(len(plan.tasks))}
    if finish_job:
        named.add(finish_job)
    live = slurm.queue(named)
    return sorted((job for job in named if job in live), key=lambda job: [int(p) for p in job.split("_")])


def refuse_while_live(experiment: Path, plan: ArrayPlan, slurm: Slurm) -> None:
    """A second submission while the first's tasks wait or run would run the same points twice."""
    jobs = live_jobs(experiment, plan, slurm)
    if jobs:
        raise JobsStillQueued(
            f"experiment {experiment} has jobs still queued or running: {', '.join(jobs)}",
            f"wait for them (build.py status {experiment} --wait) or cancel them (scancel {' '.join(jobs)}),"
            " then submit again",
        )


def todo(experiment: Path, plan: ArrayPlan) -> tuple[int, ...]:
    """The task indices of points not done (a failed point is redone; a done one is kept)."""
    states = read_states(experiment)
    return tuple(i for i, key in enumerate(plan.tasks) if key not in states or states[key].state != DONE)


def submit_array(
    plan: ArrayPlan,
    slurm_options: SlurmOptions | None,
    task_command: list[str],
    finish_command: list[str],
    slurm: Slurm,
    say: Callable[[str], None],
    reported: bool = False,
) -> ArraySubmitted:
    """The array file, then one array of the points not done (their states pending before the array exists: a task
    may start at once and write its own), then the finishing job after it (`reported`: the report of every point is
    written already; without it, points all done get the finishing job alone). An array file of other points or inputs
    is refused: a resubmission is the same command again."""
    experiment = Path(plan.experiment)
    earlier = read_array(experiment)
    if earlier is not None and not earlier.same_work(plan):
        raise SpecError(
            f"experiment {experiment} holds an {'exploration' if earlier.kind == 'explore' else earlier.kind} of other"
            " points or inputs",
            "resubmit with the same command (it runs only the points not done), or give a new --experiment",
        )
    if earlier is not None:
        refuse_while_live(experiment, earlier, slurm)
        plan = earlier  # its first submission's time and archives stay
    indices = todo(experiment, plan)
    atomic_write(array.array_path(experiment), array.array_json(plan))
    if not indices and reported:
        say(f"{plan.name}: every point done and reported, not submitted")
        return ArraySubmitted(None, None, ())
    if not indices:  # the report's job failed or was cancelled: it alone runs again
        finish_job = slurm.submit(array.finish_argv(plan, slurm_options, None, finish_command))
        atomic_write(_job_file(experiment, array.FINISH_JOB), f"{finish_job}\n")
        say(f"{plan.name}: every point done; report by job {finish_job}")
        return ArraySubmitted(None, finish_job, ())
    (experiment / LOGS_DIR).mkdir(parents=True, exist_ok=True)
    for i in indices:
        write_state(experiment, plan.tasks[i], RunState(PENDING))
    array_job = slurm.submit(array.array_argv(plan, slurm_options, indices, task_command))
    atomic_write(_job_file(experiment, array.ARRAY_JOB), f"{array_job}\n")
    finish_job = slurm.submit(array.finish_argv(plan, slurm_options, array_job, finish_command))
    atomic_write(_job_file(experiment, array.FINISH_JOB), f"{finish_job}\n")
    exclusive = " (exclusive)" if plan.timed else ""
    say(f"{plan.name}: array job {array_job}, {len(indices)} point(s){exclusive}; report by job {finish_job} after it")
    return ArraySubmitted(array_job, finish_job, indices)


def array_views(experiment: Path, plan: ArrayPlan, slurm: Slurm) -> list[UnitView]:
    """Every point as status shows it, then the finishing job's row."""
    states = read_states(experiment)
    array_job, finish_job = submitted_jobs(experiment)
    tasks = {key: array.task_job(array_job, i) for i, key in enumerate(plan.tasks)} if array_job else {}
    named = {s.job for s in states.values() if s.job} | set(tasks.values()) | ({finish_job} if finish_job else set())
    queue = slurm.queue(named)
    ended: dict[str, Job | None] = {}
    rows = []
    for key in plan.tasks:
        state = states.get(key)
        job = (state.job if state else None) or tasks.get(key)
        if job and job not in queue and job not in ended:
            ended[job] = slurm.ended(job)
        rows.append(unit_view(experiment, plan.name, key, state, tasks.get(key), queue, ended, Path.is_file))
    return [*rows, finish_view(finish_job, queue, slurm)]


def finish_view(finish_job: str | None, queue: dict[str, Job], slurm: Slurm) -> UnitView:
    """The finishing job: pending while it waits for the tasks, done when it completed, else failed with why."""
    if finish_job is None:
        return UnitView(array.FINISH, PENDING, note="not submitted")
    live = queue.get(finish_job)
    if live is not None:
        state = "running" if live.state == "RUNNING" else PENDING
        note = f"job {finish_job} {live.state.lower()}" + (f" ({live.reason})" if live.reason else "")
        return UnitView(array.FINISH, state, finish_job, live.node, "" if state == "running" else note)
    end = slurm.ended(finish_job)
    if end is not None and end.state == "COMPLETED":
        return UnitView(array.FINISH, DONE, finish_job, end.node)
    return UnitView(array.FINISH, FAILED, finish_job, end.node if end else "", slurm_end(end, finish_job))
