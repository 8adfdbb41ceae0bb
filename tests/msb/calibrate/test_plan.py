"""The host side of `build.py calibrate` (no Docker): the plan (spec, container, destination), the calibration lists
as data, and the checks by which `build.py run` refuses an INT8 artefact whose gate failed or whose inputs changed."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from harness.backends.calibration_list import list_sha256, read_calibration_list
from harness.contract import CONTAINER_MODEL_DIR, Outcome
from harness.contract.calibration import CalibrationRecord, Gate, calibration_to_json
from msb.calibrate.plan import CalibrateArgs, check_inputs, plan
from msb.cli import main
from msb.descriptions.calibration_lists import load_defaults
from msb.descriptions.system import SystemSpec, load_system_spec
from msb.errors import SpecError
from msb.project import Project
from msb.run import artefact, runner
from msb.run.calibration_doc import system_section
from msb.run.expdir import Identity
from msb.run.runner import RunArgs

IDENT = Identity(invoking_uid=1000, container_uid=1000, gid=1500)


@pytest.mark.parametrize(("benchmark", "count"), [("resnet50", 500), ("retinanet", 500), ("ssd-resnet34", 500)])
def test_mlperf_lists_are_carried_whole(project: Project, benchmark: str, count: int) -> None:
    defaults = load_defaults(project.calibration_lists, benchmark)
    assert defaults.calibration_list is not None
    assert len(read_calibration_list(defaults.calibration_list)) == count  # duplicates would be refused
    assert defaults.gate_samples == (5000 if benchmark == "resnet50" else 500)


def test_gate_fractions_are_the_rounds_accuracy_fractions(project: Project) -> None:
    assert load_defaults(project.calibration_lists, "resnet50").gate_fraction == 0.99
    assert load_defaults(project.calibration_lists, "yolo-95").gate_fraction == 0.95
    assert load_defaults(project.calibration_lists, "yolo-99").calibration_list is None
    with pytest.raises(SpecError, match="no calibration defaults for benchmark 'bert'"):
        load_defaults(project.calibration_lists, "bert")


def test_plan_defaults_to_mlperfs_list_and_places_the_artefact_beside_the_model(
    project: Project, tmp_path: Path
) -> None:
    system = load_system_spec(project, "cpu-demo-v61-int8")
    model = tmp_path / "models" / "resnet50_v1.onnx"
    args = CalibrateArgs(benchmark="resnet50", model=model, dataset=tmp_path / "data", experiment=tmp_path / "exp")
    made = plan(system, args, load_defaults(project.calibration_lists, "resnet50"), IDENT)
    assert made.calibration_list == project.calibration_lists / "cal_image_list_option_1.txt"
    assert made.destination == (tmp_path / "models" / "resnet50_v1.int8.onnx").resolve()
    spec = made.spec
    assert (spec.method, spec.gate_samples, spec.gate_fraction) == ("minmax", 5000, 0.99)
    assert spec.model == f"{CONTAINER_MODEL_DIR}/resnet50_v1.onnx" and spec.backend.name == "onnxruntime"
    assert made.container.command[0] == "calibrate" and made.container.user == "1000:1500"
    writable = [m.source for m in made.container.mounts if not m.read_only]
    assert writable == [(tmp_path / "exp").resolve()]  # model, data and list are read-only


def test_plan_refuses_what_cannot_be_calibrated(project: Project, tmp_path: Path) -> None:
    system = load_system_spec(project, "cpu-demo-v61-int8")
    defaults = load_defaults(project.calibration_lists, "resnet50")
    args = CalibrateArgs("resnet50", tmp_path / "m.onnx", tmp_path, tmp_path, method="kl-divergence")
    with pytest.raises(SpecError, match="method 'kl-divergence'"):
        plan(system, args, defaults, IDENT)
    with pytest.raises(SpecError, match="no settings for benchmark 'retinanet'"):
        plan(system, CalibrateArgs("retinanet", tmp_path / "m.onnx", tmp_path, tmp_path), defaults, IDENT)
    with pytest.raises(SpecError, match=r"model file .*m.onnx does not exist"):
        check_inputs(CalibrateArgs("resnet50", tmp_path / "m.onnx", tmp_path, tmp_path), tmp_path / "list.txt")


def calibrated(tmp_path: Path, passed: bool = True) -> tuple[Path, Path, Path]:
    """A model, a list and an artefact with the record `build.py calibrate` places beside it."""
    model, listed, made = tmp_path / "model.onnx", tmp_path / "list.txt", tmp_path / "model.int8.onnx"
    model.write_bytes(b"fp32 weights")
    listed.write_text("a.JPEG\nb.JPEG\n")
    made.write_bytes(b"int8 weights")
    gate = Gate(samples=27, fp32=100.0, int8=100.0 if passed else 11.111, fraction=0.99)
    record = CalibrationRecord(
        outcome=Outcome.PLACED if passed else Outcome.VERIFICATION_FAILED,
        message=gate.describe(),
        benchmark="resnet50",
        backend="onnxruntime",
        artefact=made.name,
        artefact_sha256=hashlib.sha256(made.read_bytes()).hexdigest(),
        model=str(model),
        model_sha256=hashlib.sha256(model.read_bytes()).hexdigest(),
        calibration_list=str(listed),
        calibration_list_sha256=list_sha256(["a.JPEG", "b.JPEG"]),
        calibration_images=2,
        method="ONNX Runtime static quantization, QDQ",
        tools={"onnxruntime": "1.32.0"},
        gate=gate,
    )
    (tmp_path / "model.int8.onnx.json").write_text(calibration_to_json(record))
    return model, listed, made


def test_a_passed_unchanged_artefact_runs_and_describes_itself(project: Project, tmp_path: Path) -> None:
    system = load_system_spec(project, "cpu-demo-v61-int8")
    _model, _listed, made = calibrated(tmp_path)
    record = artefact.check_runnable(system, "resnet50", made)
    assert record is not None
    section = system_section(system, {"resnet50": artefact.calibration_text("resnet50", record)})
    assert "resnet50 (onnxruntime, int8): model.onnx (sha256 " in section
    assert "on the 2 images of list.txt" in section and "int8 100.000% vs fp32 100.000%" in section
    with pytest.raises(SpecError, match="runs resnet50 in int8 but says nothing about calibration"):
        system_section(system)


def test_a_failed_gate_is_refused_with_both_figures(project: Project, tmp_path: Path) -> None:
    system = load_system_spec(project, "cpu-demo-v61-int8")
    _model, _listed, made = calibrated(tmp_path, passed=False)
    with pytest.raises(SpecError, match=r"failed its accuracy gate: .*int8 11\.111% vs fp32 100\.000%"):
        artefact.check_runnable(system, "resnet50", made)


@pytest.mark.parametrize("changed", ["model", "list", "artefact"])
def test_an_input_changed_since_calibration_is_refused(project: Project, tmp_path: Path, changed: str) -> None:
    system = load_system_spec(project, "cpu-demo-v61-int8")
    model, listed, made = calibrated(tmp_path)
    {"model": model, "list": listed, "artefact": made}[changed].write_text("c.JPEG\n")
    with pytest.raises(SpecError, match=r"changed since model\.int8\.onnx was calibrated"):
        artefact.check_runnable(system, "resnet50", made)


def test_run_refuses_an_artefact_without_record_before_any_engine(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = tmp_path / "model.int8.onnx"
    made.write_bytes(b"int8 weights")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "val_map.txt").write_text("x 0\n")
    argv = ["--system", "cpu-demo-v61-int8", "--benchmark", "resnet50", "--scenario", "Offline", "--mode", "accuracy"]
    argv += ["--dataset", str(tmp_path / "data"), "--model", str(made), "--experiment", str(tmp_path / "exp")]
    assert main(["run", *argv], project) == 2
    err = capsys.readouterr().err
    assert "has no calibration record model.int8.onnx.json beside it" in err and "build.py calibrate" in err
    assert "Traceback" not in err and not (tmp_path / "exp").exists()


def test_fp32_systems_need_no_artefact(project: Project, tmp_path: Path) -> None:
    assert artefact.check_runnable(load_system_spec(project, "cpu-demo-v61"), "resnet50", tmp_path / "x") is None


def tensorrt_int8(project: Project) -> SystemSpec:
    system = load_system_spec(project, "cpu-demo-v61-int8")
    bench = dataclasses.replace(system.benchmarks["resnet50"], backend="tensorrt", device="cuda")
    return dataclasses.replace(system, benchmarks={"resnet50": bench}, run=dataclasses.replace(system.run, gpus="all"))


def test_tensorrt_runs_get_the_calibrated_cache_and_refuse_it_for_other_weights(
    project: Project, tmp_path: Path
) -> None:
    system = tensorrt_int8(project)
    model, _listed, made = calibrated(tmp_path)
    cache = tmp_path / "model.calib"
    made.rename(cache)
    record = (tmp_path / "model.int8.onnx.json").read_text().replace('"onnxruntime"', '"tensorrt"')
    (tmp_path / "model.calib.json").write_text(record.replace("model.int8.onnx", "model.calib"))
    assert artefact.check_runnable(system, "resnet50", model) is not None
    args = RunArgs("resnet50", "Offline", "accuracy", tmp_path / "exp", tmp_path, model)
    options = runner.plan(system, args, IDENT).spec.backend.options
    assert options["calibration_cache"] == f"{CONTAINER_MODEL_DIR}/model.calib"
    model.write_bytes(b"retrained weights")
    with pytest.raises(SpecError, match=r"full-precision model .* changed since model\.calib was calibrated"):
        artefact.check_runnable(system, "resnet50", model)
