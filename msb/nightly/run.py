"""One night: rebuild the images, run the units into a new experiment, compare each with its baseline unit, append the
figures to the history and write the report. The report folder appears only when the night is complete; the baseline
experiment is only read."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.contract import ACCURACY, Outcome, RunRecord
from msb.descriptions.image import load_image_spec
from msb.engine import Engine
from msb.errors import BuildFailed, MsbError, RunFailed
from msb.image import builder
from msb.image.provenance import git_revision
from msb.labels import LABEL_CONTENT, LABEL_IMAGE
from msb.nightly import history, report
from msb.nightly.config import NightlyConfig, Unit, UnitKey, baseline_manifests, index_manifests
from msb.paths import staged
from msb.project import Project
from msb.run import compare, manifest, reproduce, runner
from msb.run.expdir import identity_for, prepare

EXIT_REPRODUCED, EXIT_REGRESSED = 0, 1


class NightInterrupted(MsbError):
    """The night was stopped (Ctrl-C, SIGTERM): no report, no history row; the baseline was only read."""


@dataclass(frozen=True)
class Baseline:
    experiment: Path | None  # None: a first night, nothing to compare with
    manifests: dict[UnitKey, Path]


@dataclass(frozen=True)
class ImageResult:
    name: str
    image_id: str  # "" when it did not build
    error: str  # why it did not build, or why its content did not verify


@dataclass(frozen=True)
class UnitResult:
    unit: Unit
    image_id: str
    record: RunRecord | None  # None: it did not run
    comparison: compare.Comparison | None  # None: nothing to compare with, or it did not run
    baseline: dict[str, Any]  # the baseline unit's recorded figures ({} without one)
    error: str  # why it did not run, or its failed verification


@dataclass(frozen=True)
class Finished:
    exit_code: int
    headline: list[str]  # the report's first lines
    report: Path


@dataclass(frozen=True)
class Night:
    id: str
    folder: Path
    started: str


def run_night(project: Project, config: NightlyConfig, engine: Engine, say: Callable[[str], None]) -> Finished:
    """Exit status 0: all reproduced (or a first night); 1: a regression or a failure."""
    history.check(config.history)  # a locked or corrupt history fails now, not after an hour of runs
    baseline = resolve_baseline(config)
    night = start_night(config.output)
    say(f"night {night.id} into {night.folder}; baseline {baseline.experiment or 'none (first night)'}")
    try:
        expected = recorded_contents(baseline)
        images = {
            name: rebuild(project, name, config, engine, night, say, expected.get(name, "")) for name in config.images
        }
        units = [run_unit(project, unit, images, baseline, config, engine, night, say) for unit in config.units]
        return finish(project, config, night, baseline, list(images.values()), units)
    except (KeyboardInterrupt, runner.RunInterrupted):
        raise NightInterrupted(
            f"night {night.id} was interrupted: no report written, no history row; its partial experiment is in "
            f"{night.folder}",
            "rerun build.py nightly; the baseline was only read",
        ) from None


def resolve_baseline(config: NightlyConfig) -> Baseline:
    if config.baseline is not None:
        return Baseline(config.baseline, baseline_manifests(config.baseline, config.units, str(config.path)))
    previous = history.previous_experiment(config.history)
    if previous is None:
        return Baseline(None, {})
    if not (previous / manifest.MANIFESTS_DIR).is_dir():
        raise MsbError(
            f"the previous night's experiment {previous} (from the history {config.history}) is gone",
            "restore it, or set baseline: to an experiment folder for one night",
        )
    # Units new tonight have no counterpart last night: they run, are recorded, and are compared from tomorrow on.
    found = index_manifests(previous)
    return Baseline(previous, {unit.key: found[unit.key] for unit in config.units if unit.key in found})


def start_night(output: Path) -> Night:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    night_id, suffix = stamp, 1
    while (output / night_id).exists():  # two nights in one second (tests, a manual rerun): never share a folder
        suffix += 1
        night_id = f"{stamp}-{suffix}"
    folder = output / night_id
    (folder / "logs").mkdir(parents=True)
    return Night(night_id, folder, _now())


def recorded_contents(baseline: Baseline) -> dict[str, str]:
    """The content digest (label) of each image the baseline's units ran in, by image name."""
    found: dict[str, str] = {}
    for path in baseline.manifests.values():
        labels = manifest.read_manifest(path)["image"]["labels"]
        if labels.get(LABEL_CONTENT) and labels.get(LABEL_IMAGE):
            found[str(labels[LABEL_IMAGE])] = str(labels[LABEL_CONTENT])
    return found


def rebuild(
    project: Project,
    name: str,
    config: NightlyConfig,
    engine: Engine,
    night: Night,
    say: Callable[[str], None],
    expected_content: str = "",
) -> ImageResult:
    """Build the image (without the layer cache unless the config says otherwise); its filesystem must have the
    content digest the baseline's image recorded, when that image recorded one."""
    say(f"building image {name}" + (" without the layer cache" if config.no_cache else ""))
    log = night.folder / "logs" / f"image-{name}.log"
    with log.open("w") as handle:
        try:
            built = builder.build(project, name, engine, False, _writer(handle), config.repository, config.no_cache)
        except BuildFailed as error:
            return ImageResult(name, "", f"the build failed: {error.message} (log: {log})")
    image_id = engine.image_id(built.image_id) or built.image_id  # the full sha256 ID
    content = f"sha256:{built.content.sha256}"
    if expected_content and content != expected_content:
        why = f"its content {content} is not the baseline image's {expected_content}: the build drifted"
        return ImageResult(name, image_id, f"{why} (build.py image {name} --verify lists the paths)")
    return ImageResult(name, image_id, "")


def run_unit(
    project: Project,
    unit: Unit,
    images: dict[str, ImageResult],
    baseline: Baseline,
    config: NightlyConfig,
    engine: Engine,
    night: Night,
    say: Callable[[str], None],
) -> UnitResult:
    image = images[unit.system.image]
    recorded = _recorded(baseline, unit)
    figures = dict(recorded.get("figures") or {})
    if image.error:
        return UnitResult(unit, "", None, None, figures, f"image {image.name} did not build")
    say(f"running {unit.label}")
    try:
        plan, record = _execute(project, unit, image.image_id, night, engine)
    except runner.RunInterrupted:
        raise
    except RunFailed as failed:
        return UnitResult(unit, image.image_id, None, None, figures, f"the run failed: {failed.message}")
    error = f"verification failed: {record.message}" if record.outcome is Outcome.VERIFICATION_FAILED else ""
    comparison = None
    if recorded and baseline.experiment is not None:
        comparison = reproduce.compare_unit(
            recorded, baseline.experiment, plan, record, night.folder / "experiment", config.tolerance_pct
        )
        comparison = dataclasses.replace(comparison, checks=(inputs_check(recorded, record), *comparison.checks))
    return UnitResult(unit, image.image_id, record, comparison, figures, error)


def _execute(
    project: Project, unit: Unit, image_id: str, night: Night, engine: Engine
) -> tuple[runner.RunPlan, RunRecord]:
    """One unit, as `build.py run --mode` runs it, in tonight's image (by ID: tags move), manifest written."""
    image_spec = load_image_spec(project, unit.system.image)
    ident = identity_for(unit.system, image_spec.gid)
    args = runner.RunArgs(
        benchmark=unit.benchmark,
        scenario=unit.scenario,
        mode=unit.mode,
        experiment=night.folder / "experiment",
        dataset=unit.dataset,
        model=unit.model,
        count=unit.count,
        image=image_id,
    )
    runner.check_inputs(args)
    plan = runner.plan(unit.system, args, ident)
    runner.check_engine(plan, engine)
    prepare(plan.experiment, ident)
    log = night.folder / "logs" / f"{'-'.join(unit.key)}.log"
    with log.open("w") as handle:
        record = runner.execute(plan, engine, ident, on_output=_writer(handle))
    manifest.record_result(plan, record, unit.system, engine)
    return plan, record


def finish(
    project: Project,
    config: NightlyConfig,
    night: Night,
    baseline: Baseline,
    images: list[ImageResult],
    units: list[UnitResult],
) -> Finished:
    revision, _created = git_revision(project.root)
    figures = [figure_of(night.id, revision, result) for result in units]
    status = report.verdict(figures, [image.error for image in images])
    code = EXIT_REGRESSED if status in (report.REGRESSED, report.FAILED) else EXIT_REPRODUCED
    row = history.Night(
        night=night.id,
        started=night.started,
        finished=_now(),
        config=str(config.path),
        experiment=str(night.folder / "experiment"),
        baseline=str(baseline.experiment or ""),
        revision=revision,
        tolerance_pct=config.tolerance_pct,
        verdict=status,
        exit_code=code,
    )
    earlier = history.nights(config.history, last=config.plot_nights - 1)
    data = report.ReportData(
        night=row,
        figures=figures,
        images=[(image.name, image.image_id, image.error) for image in images],
        checks={f.unit: list(r.comparison.checks) for f, r in zip(figures, units, strict=True) if r.comparison},
        history_nights=[*earlier, row],
        history_figures=history.figures(config.history, [n.night for n in earlier]) + figures,
    )
    with staged(night.folder / "report") as staging:
        report.write(staging, data)
        history.append(config.history, row, figures)  # before the rename: a report always has its history row
    return Finished(code, report.headline(data), night.folder / "report")


def figure_of(night_id: str, revision: str, result: UnitResult) -> history.Figure:
    record = result.record
    accuracy_unit = result.unit.mode == ACCURACY
    status, note = _status(result)
    baseline_value = result.baseline.get("value")
    return history.Figure(
        night=night_id,
        unit=record.units[0] if record else result.unit.label,
        metric="accuracy" if accuracy_unit else (record.figures.metric if record else "") or "performance",
        value=None if record is None or accuracy_unit else record.figures.value,
        baseline_value=float(baseline_value) if isinstance(baseline_value, int | float) else None,
        validity=record.figures.validity if record else "",
        accuracy=record.figures.accuracy if record else None,
        image_id=result.image_id,
        revision=revision,
        reproduced={report.REPRODUCED: True, report.NEW: None}.get(status, False),
        status=status,
        note=note,
    )


def inputs_check(recorded: dict[str, Any], record: RunRecord) -> compare.Check:
    """Tonight's dataset and model are the baseline's (by their recorded sha256): else the figures compare nothing."""
    first = [str((recorded.get(key) or {}).get("sha256", "-"))[:12] for key in ("dataset", "model")]
    second = [str((record.provenance.get(key) or {}).get("sha256", "-"))[:12] for key in ("dataset", "model")]
    same = first == second and "-" not in first
    note = "" if same else "the dataset or model differs from the baseline's"
    return compare.Check("dataset, model sha256", " ".join(first), " ".join(second), same, note)


def _status(result: UnitResult) -> tuple[str, str]:
    if result.error:
        return report.FAILED, result.error
    if result.comparison is None:
        return report.NEW, "no baseline unit: recorded for the next nights"
    first = result.comparison.first_difference
    return (report.REPRODUCED, "") if first is None else (report.REGRESSED, _difference(first))


def _difference(check: compare.Check) -> str:
    return f"{check.what}: {check.original} -> {check.reproduced}" + (f" ({check.note})" if check.note else "")


def _recorded(baseline: Baseline, unit: Unit) -> dict[str, Any]:
    path = baseline.manifests.get(unit.key)
    return manifest.read_manifest(path) if path else {}


def _writer(handle: IO[str]) -> Callable[[str], None]:
    def write(line: str) -> None:
        handle.write(line + "\n")

    return write


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
