"""`build.py explore`: one short performance run per grid point in the system's image, then the report.

Each point is an experiment of its own, `<exploration>/points/<point>/`: the run's results in the submission layout,
its manifest (so `build.py reproduce` re-runs it), its log, `point.json` (tags, settings, status, figures) and
`system.yaml`, the system description with only the point's lines changed (the explored scenario's batch size and
threads, the short duration).
The manifest records that text, so a point reproduces with its own settings. The CSV, the plots and the summary go
to `<exploration>/report/`, which appears complete or not at all. Everything is planned (and every point's spec
checked) before the first run, so bad input fails with nothing written.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from msb.descriptions.edit import set_scenario_value, set_value, write_in_place
from msb.descriptions.per_scenario import SCENARIO_FALLBACK
from msb.descriptions.system import SystemSpec, parse_system_spec
from msb.engine import Engine
from msb.errors import RunFailed, SpecError
from msb.explore import plots
from msb.explore.grid import Point
from msb.explore.render import (
    LATENCY_PLOT,
    PLOTS_DIR,
    THROUGHPUT_PLOT,
    Exploration,
    applied_settings,
    render_csv,
    render_summary,
)
from msb.explore.results import FAILED, REFUSED, PointResult, measured, recommend
from msb.paths import atomic_write, inside, staged
from msb.run import manifest, runner
from msb.run.expdir import Identity, give_to_invoker, prepare
from msb.run.matrix_run import LOGS_DIR

POINTS_DIR = "points"
REPORT_DIR = "report"
POINT_FILE = "point.json"
POINT_SYSTEM = "system.yaml"
SUMMARY_FILE, CSV_FILE = "summary.md", "results.csv"
CACHE_DIR = ".cache"  # where the harness keeps preprocessed samples in the experiment it writes


@dataclass(frozen=True)
class ExploreOptions:
    inputs: runner.RunArgs  # benchmark, scenario and the run's inputs; `experiment` is the exploration's folder
    points: tuple[Point, ...]
    duration_ms: int | None = None  # each run's min_duration_ms; None keeps the description's
    apply: bool = False


@dataclass(frozen=True)
class PlannedPoint:
    point: Point
    system: SystemSpec  # the description with the point's settings; `path` is its copy in the point's folder
    plan: runner.RunPlan


@dataclass(frozen=True)
class ExploreOutcome:
    folder: Path
    exploration: Exploration

    @property
    def report(self) -> Path:
        return self.folder / REPORT_DIR


def default_folder(root: Path, system: str, benchmark: str, scenario: str, now: datetime) -> Path:
    return root / f"explore-{system}-{benchmark}-{scenario}-{now.strftime('%Y%m%dT%H%M%SZ')}"


def point_description(text: str, benchmark: str, scenario: str, point: Point, duration_ms: int | None) -> str:
    """The description with the point's settings: one line changed (or added) per setting; the batch size and the
    threads are the scenario's own."""
    text = set_for_scenario(text, benchmark, scenario, "batch_size", point.batch_size)
    if point.threads is not None:
        text = set_for_scenario(text, benchmark, scenario, "threads", point.threads)
    if duration_ms is not None:
        text = set_value(text, ["benchmarks", benchmark, "scenarios", scenario], "min_duration_ms", duration_ms)
    return text


def applied_description(text: str, benchmark: str, scenario: str, settings: dict[str, int]) -> str:
    """The description with the recommended settings (batch size, threads), each for `scenario` alone: the other
    scenarios keep theirs."""
    for key, value in settings.items():
        text = set_for_scenario(text, benchmark, scenario, key, value)
    return text


def set_for_scenario(text: str, benchmark: str, scenario: str, key: str, value: int) -> str:
    """benchmarks.<benchmark>.<key> (a per-scenario setting: batch_size, threads) giving `value` to `scenario`:
    `batch_size: 8` becomes `batch_size: {default: 8, Server: 64}`, a mapping gets the scenario's entry, an absent
    setting becomes `threads: {Server: 4}` (the others keep the absent meaning) (msb/descriptions/edit.py)."""
    return set_scenario_value(text, ["benchmarks", benchmark], key, scenario, value, SCENARIO_FALLBACK)


def plan_points(system: SystemSpec, options: ExploreOptions, ident: Identity, folder: Path) -> list[PlannedPoint]:
    """Each point's description and run plan, made and checked before anything runs or is written."""
    if system.text is None:
        raise SpecError(f"system '{system.name}' was not read from a file", "pass --system NAME or a .yaml path")
    args = options.inputs
    system.settings(args.benchmark, args.scenario)  # an unknown benchmark or scenario named, with the valid ones
    planned = []
    for point in options.points:
        text = point_description(system.text, args.benchmark, args.scenario, point, options.duration_ms)
        where = inside(folder, folder / POINTS_DIR / point.tag / POINT_SYSTEM, "the point's system description")
        described = parse_system_spec(yaml.safe_load(text), f"{system.path} with {point.tag}'s settings")
        point_system = dataclasses.replace(described, path=where, text=text)
        run_args = dataclasses.replace(args, mode="performance", experiment=where.parent)
        planned.append(PlannedPoint(point, point_system, runner.plan(point_system, run_args, ident)))
    return planned


def explore(
    system: SystemSpec, options: ExploreOptions, engine: Engine, ident: Identity, say: Callable[[str], None]
) -> ExploreOutcome:
    """Run every point (a refused or failed point is recorded as such and the grid goes on; an interruption stops
    it, with no report), write the report, and with `apply` the recommended setting into the description."""
    folder = options.inputs.experiment.resolve()
    check_folder_is_new(folder)
    if options.apply and system.path is None:
        raise SpecError("--apply needs a system description file to write into", "pass --system NAME or a .yaml path")
    runner.check_inputs(dataclasses.replace(options.inputs, mode="performance"))
    planned = plan_points(system, options, ident, folder)
    runner.check_engine(planned[0].plan, engine)
    started = _now()
    prepare(folder, ident)
    say(f"explore {options.inputs.benchmark} {options.inputs.scenario}: {len(planned)} point(s) into {folder}")
    try:
        results = tuple(run_point(p, folder, engine, ident, say) for p in planned)
    finally:
        give_to_invoker(folder, ident)  # an interrupted grid's finished points belong to the user too
    exploration = exploration_of(system, options, planned[0].plan.container.image, started, results)
    new_text, apply_error = None, None
    if options.apply and exploration.recommendation is not None and system.path is not None:
        try:  # the file as it is now: it may have been edited while the grid ran
            settings = applied_settings(exploration)
            new_text = applied_description(
                system.path.read_text(), exploration.benchmark, exploration.scenario, settings
            )
        except SpecError as error:
            apply_error = error
    exploration = dataclasses.replace(exploration, applied=new_text is not None)
    write_report(folder / REPORT_DIR, exploration)
    give_to_invoker(folder, ident)
    if apply_error is not None:
        raise apply_error
    if new_text is not None and system.path is not None:
        write_in_place(system.path, new_text)
    return ExploreOutcome(folder, exploration)


def check_folder_is_new(folder: Path) -> None:
    """Points of two explorations never mix: the folder is new or empty."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise SpecError(
            f"explore folder {folder} already exists and is not empty",
            "give a new --experiment (or leave it out: a new folder under experiments/ is made)",
        )


def exploration_of(
    system: SystemSpec, options: ExploreOptions, image: str, started: str, results: tuple[PointResult, ...]
) -> Exploration:
    return Exploration(
        system=system.name,
        description=str(system.path),
        benchmark=options.inputs.benchmark,
        scenario=options.inputs.scenario,
        image=image,
        duration_ms=options.duration_ms,
        count=options.inputs.count,
        started=started,
        finished=_now(),
        results=results,
        recommendation=recommend(options.inputs.scenario, results),
        applied=False,
        threads_explored=any(p.threads is not None for p in options.points),
    )


def write_report(final: Path, exploration: Exploration) -> None:
    """summary.md, results.csv and the plots, in a folder that appears complete or not at all."""
    title = f"{exploration.benchmark} {exploration.scenario} on {exploration.system}"
    with staged(final) as staging:
        (staging / PLOTS_DIR).mkdir()
        (staging / PLOTS_DIR / THROUGHPUT_PLOT).write_bytes(plots.throughput_png(exploration.results, title))
        (staging / PLOTS_DIR / LATENCY_PLOT).write_bytes(plots.latency_png(exploration.results, title))
        (staging / CSV_FILE).write_text(render_csv(exploration.results))
        (staging / SUMMARY_FILE).write_text(render_summary(exploration))


def run_point(
    planned: PlannedPoint,
    folder: Path,
    engine: Engine,
    ident: Identity,
    say: Callable[[str], None],
    placement: manifest.Placement | None = None,
) -> PointResult:
    """One point: its run, manifest (naming `placement`: an array task's node and job) and point.json."""
    plan, point = planned.plan, planned.point
    point_dir = plan.experiment
    threads = plan.spec.backend.threads
    prepare(point_dir, ident)
    atomic_write(point_dir / POINT_SYSTEM, planned.system.text or "")
    log = inside(point_dir, point_dir / LOGS_DIR / f"{point.tag}.log", "the point's log")
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        with log.open("w") as out, _shared_cache(folder, point_dir):
            record = runner.execute(plan, engine, ident, on_output=lambda line: print(line, file=out, flush=True))
    except runner.RunInterrupted:
        raise
    except RunFailed as error:  # the point has no figures; the grid goes on
        status = REFUSED if isinstance(error, runner.RunRefused) else FAILED
        result = PointResult(point, status, threads=threads, message=error.message.splitlines()[0])
    else:
        manifest_file, _sha = manifest.record_result(plan, record, planned.system, engine, placement)
        result = measured(point, record.figures, threads)
        result = dataclasses.replace(result, manifest=str(manifest_file.relative_to(folder)))
    result = dataclasses.replace(result, experiment=str(point_dir.relative_to(folder)))
    atomic_write(point_dir / POINT_FILE, _point_json(planned, result))
    say(f"  {point.tag}: {result.status} ({time.monotonic() - started:.1f} s){_said(result)}")
    return result


@contextmanager
def _shared_cache(folder: Path, point_dir: Path) -> Iterator[None]:
    """The preprocessed samples of earlier points lent to this one: the harness keeps them in the experiment it
    writes (`.cache/`), keyed by the content of each source file, so they are valid for every point and each point
    would otherwise preprocess the dataset again. Moved, not copied: a rename on one file system."""
    shared, lent = folder / CACHE_DIR, point_dir / CACHE_DIR
    if shared.is_dir() and not lent.exists():
        shared.rename(lent)
    try:
        yield
    finally:
        if lent.is_dir() and not shared.exists():
            with suppress(OSError):  # another point (an array task on another node) put its cache back first
                lent.rename(shared)


def _point_json(planned: PlannedPoint, result: PointResult) -> str:
    """The point's tags (as CK tags an experiment entry), settings, status and figures."""
    spec = planned.plan.spec
    settings = {"batch_size": spec.backend.batch_size, "threads": spec.backend.threads,
                "min_duration_ms": spec.loadgen.min_duration_ms}  # fmt: skip
    data = {
        "tags": [
            "explore",
            spec.system,
            spec.benchmark,
            spec.scenario,
            *(f"{key}={value}" for key, value in settings.items() if value is not None),
        ],
        "point": planned.point.tag,
        "settings": settings,
        "status": result.status,
        "figures": {k: v for k, v in dataclasses.asdict(result).items() if k.endswith(("_ms", "_second"))},
        "manifest": result.manifest,
        "message": result.message,
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def read_point_result(folder: Path, point: Point) -> PointResult | None:
    """A point's result as its `point.json` recorded it (an array task wrote it on its node); None if it has none."""
    path = folder / POINTS_DIR / point.tag / POINT_FILE
    try:
        data = json.loads(path.read_text())
        figures = {k: float(v) for k, v in data["figures"].items() if isinstance(v, (int, float))}
        threads = data["settings"].get("threads")
        return PointResult(
            point,
            str(data["status"]),
            threads if isinstance(threads, int) else None,
            **figures,
            message=str(data.get("message") or ""),
            experiment=f"{POINTS_DIR}/{point.tag}",
            manifest=str(data.get("manifest") or ""),
        )
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None


def _said(result: PointResult) -> str:
    if result.message:
        return f": {result.message}"
    parts = []
    if result.samples_per_second is not None:
        parts.append(f"{result.samples_per_second:,.1f} samples/s")
    parts += [f"{p} {v:.3f} ms" for p in ("p90", "p99") if (v := result.latency_ms(p)) is not None]
    return f": {', '.join(parts)}" if parts else ""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
