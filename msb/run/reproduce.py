"""`build.py reproduce TARGET`: re-run one result unit exactly as its manifest records it, into a new experiment, and
compare. The dataset and model are checked against the recorded fingerprints first; the recorded image is used by
its ID (or rebuilt from the recorded revision with --rebuild)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.contract import (
    ACCURACY,
    CONTAINER_DATASET,
    CONTAINER_MODEL_DIR,
    PERFORMANCE,
    ContractError,
    RunRecord,
    RunSpec,
    spec_from_json,
    to_json,
)
from harness.contract.layout import ResultLayout, layout_of_round
from msb.descriptions.system import SystemSpec, parse_system_spec
from msb.engine import Engine
from msb.errors import MsbError, SpecError
from msb.hashing import file_sha256
from msb.image import builder
from msb.labels import LABEL_IMAGE, NAMESPACE
from msb.paths import atomic_write, inside
from msb.project import Project
from msb.run import compare, manifest, runner
from msb.run.expdir import Identity
from msb.run.matrix_run import FULL_LOGS_DIR

ACCURACY_LOG = "mlperf_log_accuracy.json"
_REBUILD_REPOSITORY = "msb-reproduce"


class InputsChanged(SpecError):
    """A dataset or model file differs from the one the result was made from."""


@dataclass(frozen=True)
class Original:
    manifest_file: Path
    experiment: Path  # the experiment that holds the original unit
    data: dict[str, Any]


def find_manifest(target: Path) -> Original:
    """TARGET is a manifest file, or a result unit's folder inside an experiment that has manifests."""
    target = target.resolve()
    if target.is_file():
        data = manifest.read_manifest(target)
        marker = Path(manifest.MANIFESTS_DIR).parts
        for folder in target.parents:
            if folder.parts[-len(marker) :] == marker:
                return Original(target, folder.parents[len(marker) - 1], data)
        raise SpecError(f"{target} is not inside an experiment's {manifest.MANIFESTS_DIR}/", "give it in place")
    if not target.is_dir():
        raise SpecError(f"{target} does not exist", "give a manifest (.msb/manifests/...) or a result folder")
    for experiment in target.parents:
        candidate = experiment / manifest.MANIFESTS_DIR / f"{target.relative_to(experiment)}.json"
        if candidate.is_file():
            return Original(candidate, experiment, manifest.read_manifest(candidate))
    raise SpecError(f"no manifest records {target}", "give the result folder of a run made by build.py run")


def check_inputs(data: dict[str, Any]) -> tuple[Path, Path]:
    """The recorded dataset files and model, unchanged; returns the dataset folder and the model file."""
    mounts = data["mounts"]
    dataset = Path(mounts[CONTAINER_DATASET])
    model = Path(mounts[CONTAINER_MODEL_DIR]) / Path(data["spec"]["model"]).name
    for name, size, sha in data["dataset"].get("files", []):
        _same_file(dataset / name, int(size), str(sha), "dataset file")
    recorded = data["model"]
    _same_file(model, int(recorded["size"]), str(recorded["sha256"]), "model")
    return dataset, model


def reproduce(
    original: Original,
    experiment: Path,
    tolerance_pct: float | None,
    rebuild: bool,
    engine: Engine,
    ident: Identity,
    say: Callable[[str], None],
) -> compare.Comparison:
    data = original.data
    experiment = experiment.resolve()
    if experiment == original.experiment or original.experiment in [experiment, *experiment.parents]:
        raise SpecError(f"{experiment} is the original experiment (or inside it)", "choose a new --experiment folder")
    spec = spec_from_json(json.dumps(data["spec"]))
    dataset, model = check_inputs(data)
    image = _image(data, rebuild, engine, say)
    system = recorded_system(data)
    args = runner.RunArgs(
        benchmark=spec.benchmark,
        scenario=spec.scenario,
        mode=spec.mode,
        experiment=experiment,
        dataset=dataset,
        model=model,
        count=spec.count,
        image=image,
        gpus=(spec.run_info or {}).get("gpus"),
        compliance=spec.compliance.test if spec.compliance else None,
        audit_config=spec.compliance.audit_config if spec.compliance else None,
    )
    if spec.compliance is not None:
        # A compliance test verifies its run against the scenario's own results: those it was verified against.
        copy_prior_results(original.experiment, experiment, spec)
    plan = runner.plan(system, args, ident)
    runner.check_engine(plan, engine)
    say(f"re-running {data['unit']} in image {image} into {experiment}")
    record = runner.execute(plan, engine, ident, on_output=lambda line: None)
    manifest.record_result(plan, record, system, engine)
    return compare_unit(data, original.experiment, plan, record, experiment, tolerance_pct)


def write_comparison(experiment: Path, comparison: compare.Comparison) -> tuple[Path, Path]:
    json_path, md_path = experiment / "comparison.json", experiment / "comparison.md"
    atomic_write(json_path, comparison.as_json())
    atomic_write(md_path, comparison.as_markdown())
    return json_path, md_path


def default_experiment(original: Original) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    return original.experiment.with_name(f"{original.experiment.name}-reproduce-{stamp}")


def recorded_settings(spec: dict[str, Any]) -> dict[str, Any]:
    """A recorded spec with the fields added to the contract since, at their defaults (e.g. benchmark_options:
    {} for a manifest of before it existed), so only settings that were really made differ."""
    try:
        return dict(json.loads(to_json(spec_from_json(json.dumps(spec), "recorded spec"))))
    except ContractError:
        return spec  # compared as recorded: the differing fields are named all the same


def compare_unit(
    data: dict[str, Any],
    original_experiment: Path,
    plan: runner.RunPlan,
    record: RunRecord,
    experiment: Path,
    tolerance_pct: float | None,
) -> compare.Comparison:
    """Compare a new run (its plan and record, placed in `experiment`) with the unit whose manifest is `data`, kept
    in `original_experiment`: used by reproduce and by the nightly job."""
    checks = [compare.settings_check(recorded_settings(data["spec"]), json.loads(to_json(plan.spec)))]
    checks.append(compare.seeds_check(data.get("loadgen") or {}, record.provenance.get("loadgen") or {}))
    figures = data["figures"]
    metric = record.figures.metric or figures.get("metric", "")
    tolerance = compare.default_tolerance(metric) if tolerance_pct is None else tolerance_pct
    if plan.spec.compliance is not None:
        checks.append(compare.verdicts_check(data.get("verifications") or {}, record.verifications))
    if plan.spec.mode == ACCURACY:
        original_log = _read_log(_full_log(original_experiment, data["unit"]))
        reproduced_log = _read_log(experiment / record.units[0] / ACCURACY_LOG)
        checks += compare.accuracy_checks(
            figures.get("accuracy"), record.figures.accuracy, original_log, reproduced_log
        )
    else:
        checks += compare.performance_checks(
            metric,
            figures.get("value"),
            record.figures.value,
            figures.get("validity", ""),
            record.figures.validity,
            tolerance,
        )
    return compare.Comparison(str(data["unit"]), tuple(checks), tolerance)


def copy_prior_results(original: Path, experiment: Path, spec: RunSpec) -> None:
    """The scenario's performance run (and, for TEST01, its full accuracy log) from the original experiment, where
    the harness looks for them (the round's layout)."""
    layout = ResultLayout(
        spec.submitter, spec.system, spec.benchmark, spec.scenario, spec.implementation, spec.division,
        layout_of_round(spec.round),
    )  # fmt: skip
    wanted = [layout.result_dir(PERFORMANCE)]
    if spec.compliance is not None and spec.compliance.test == "TEST01":
        wanted.append(layout.result_dir(ACCURACY))
    for folder in wanted:
        source = original / folder
        if not source.is_dir():
            raise SpecError(f"{source} is gone: the compliance test verified against it", "restore it, then retry")
        target = inside(experiment, experiment / folder, "a copied result")
        shutil.copytree(source, target, dirs_exist_ok=True)
        log = _full_log(original, str(folder))
        if folder.name == ACCURACY and log.is_file():
            shutil.copyfile(log, target / ACCURACY_LOG)  # verification compares with the full log, not the truncated


def _full_log(experiment: Path, unit: str) -> Path:
    """The untruncated log: kept outside the tree once the matrix truncated the submitted one."""
    backup = experiment / FULL_LOGS_DIR / unit / ACCURACY_LOG
    return backup if backup.is_file() else experiment / unit / ACCURACY_LOG


def _read_log(path: Path) -> list[dict[str, Any]] | None:
    try:
        entries = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None  # a truncated log is not JSON: treated as gone
    return entries if isinstance(entries, list) else None


def recorded_system(data: dict[str, Any]) -> SystemSpec:
    """The system description the manifest recorded, as the run read it."""
    text = str(data["system"]["description"])
    system = parse_system_spec(yaml.safe_load(text), f"the system description recorded in {data['unit']}")
    return system


def recorded_image_name(original: Original) -> str:
    """The image definition that built the recorded image (its label); the re-run's group and a rebuild need it."""
    name = str(original.data["image"]["labels"].get(LABEL_IMAGE) or "")
    if not name:
        raise SpecError(
            f"manifest {original.manifest_file} records no image definition (label {LABEL_IMAGE} of the image)",
            "rebuild the image with `build.py image NAME` (it labels the definition), run the unit again with "
            "`build.py run`, and reproduce that result",
        )
    return name


def _same_file(path: Path, size: int, sha: str, what: str) -> None:
    if not path.is_file():
        raise InputsChanged(f"{what} {path} is gone", "restore it: the result was made from it")
    if path.stat().st_size != size or file_sha256(path) != sha:
        raise InputsChanged(
            f"{what} {path} has changed since the result was made",
            "restore the original file; reproducing with other data would compare nothing",
        )


def _image(data: dict[str, Any], rebuild: bool, engine: Engine, say: Callable[[str], None]) -> str:
    recorded = data["image"]
    image_id = str(recorded["id"])
    if engine.image_id(image_id) is not None:
        return image_id
    if not rebuild:
        raise MsbError(
            f"image {recorded['ref']} ({image_id}) that made this result is no longer here",
            "pass --rebuild to rebuild it from the recorded revision's definition and lock",
        )
    return _rebuild(data, engine, say)


def _rebuild(data: dict[str, Any], engine: Engine, say: Callable[[str], None]) -> str:
    """Build the image from the recorded revision; its definition, lock and template hashes must be the recorded."""
    labels = data["image"]["labels"]
    revision = str(labels.get("org.opencontainers.image.revision", data["tool"]["revision"]))
    if revision.endswith("-dirty") or revision == "unknown":
        raise MsbError(
            f"the image was built from uncommitted code ({revision}): there is no revision to rebuild it from",
            "rebuild results from committed code only",
        )
    name = str(labels[LABEL_IMAGE])  # the command checked it is there (recorded_image_name)
    with _checkout(Project.from_here().root, revision) as tree:
        say(f"rebuilding image {name} at {revision[:12]}")
        built = builder.build(Project(tree), name, engine, False, lambda line: None, _REBUILD_REPOSITORY)
    rebuilt = engine.image_labels(built.image_id)
    keys = [k for k in labels if k.startswith(f"{NAMESPACE}.") and k.endswith("-sha256")]
    differing = [k for k in keys if rebuilt.get(k) != labels[k]]
    if differing:
        raise MsbError(
            f"the rebuilt image differs from the recorded one in {', '.join(differing)}",
            "the recorded revision no longer builds the same image; see `build.py image NAME --verify`",
        )
    return built.image_id


@contextmanager
def _checkout(root: Path, revision: str) -> Iterator[Path]:
    tree = Path(tempfile.mkdtemp(prefix="msb-reproduce-"))
    try:
        subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(tree), revision],
                       capture_output=True, text=True, check=True)  # fmt: skip
    except subprocess.CalledProcessError as error:
        shutil.rmtree(tree, ignore_errors=True)
        raise MsbError(
            f"cannot check out revision {revision}: {error.stderr.strip()}", "fetch it, then retry"
        ) from None
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)], capture_output=True)
        shutil.rmtree(tree, ignore_errors=True)
