"""`python -m harness calibrate` with ONNX Runtime's real static quantization, on the synthetic classifier: a good list
passes the gate at the exact accuracy, a calibration set of one flat image fails it with both figures, a list naming
images the dataset lacks is refused naming them, and the INT8 model then runs under LoadGen like any model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from PIL import Image

from harness.contract import BackendSpec, Exit, Outcome, RunSpec
from harness.contract.calibration import CalibrationSpec, calibration_record_from_json, calibration_to_json
from harness.entry.cli import main as harness_main
from harness.run.execute import execute
from msb.synthetic.imagenet import write_calibration_list, write_dataset, write_model
from tests.support import REPO


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    write_dataset(root / "dataset", 45)
    write_model(root / "model.onnx")
    write_calibration_list(root / "dataset", root / "calibration_list.txt")
    return root


def spec_for(root: Path, out: Path, **changes: object) -> CalibrationSpec:
    out.mkdir(parents=True, exist_ok=True)
    spec = CalibrationSpec(
        benchmark="resnet50",
        backend=BackendSpec(name="onnxruntime", precision="int8", batch_size=8, threads=1),
        dataset=str(root / "dataset"),
        model=str(root / "model.onnx"),
        calibration_list=str(root / "calibration_list.txt"),
        calibration_dataset=str(root / "dataset"),
        output=str(out),
        cache_dir=str(out.parent / "cache"),
        allow_root=True,
    )
    return replace(spec, **changes)  # type: ignore[arg-type]


def calibrate(spec: CalibrationSpec, folder: Path) -> tuple[int, dict[str, object]]:
    spec_file = folder / "spec.json"
    spec_file.write_text(calibration_to_json(spec))
    status = harness_main(["calibrate", "--spec", str(spec_file)])
    return status, json.loads((folder / "record.json").read_text())


def test_calibration_makes_a_qdq_model_that_passes_the_gate_at_the_exact_accuracy(
    synthetic: Path, tmp_path: Path
) -> None:
    status, data = calibrate(spec_for(synthetic, tmp_path / "out"), tmp_path)
    record = calibration_record_from_json(json.dumps(data))
    assert status == Exit.OK and record.outcome is Outcome.PLACED and record.gate_passed
    assert record.gate is not None
    # 45 images, 18 of them (2 per class) calibrate; the other 27 are the held-out set, scored exactly.
    assert (record.calibration_images, record.gate.samples) == (18, 27)
    assert record.gate.fp32_line == record.gate.int8_line == "accuracy=100.000%, good=27, total=27"
    artefact = tmp_path / "out" / "model.int8.onnx"
    assert record.artefact == artefact.name and artefact.is_file()
    graph = onnx.load(str(artefact)).graph
    ops = {node.op_type for node in graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops  # QDQ format
    # Weights in 7 bits: no int16 saturation in ONNX Runtime's x86 kernels without VNNI, so the exact figure holds
    # on any x86 CPU (with 8-bit weights the white and yellow classes came out grey on an AVX2-only one: 77.778%).
    weights = numpy_helper.to_array(next(init for init in graph.initializer if init.name == "weights_quantized"))
    assert weights.dtype == np.int8 and weights.min() >= -64 and weights.max() <= 64
    assert "per channel" in record.method and "minmax" in record.method
    assert set(record.tools) == {"onnxruntime", "onnx", "numpy"}
    assert record.model == "model.onnx" and len(record.model_sha256) == 64 and len(record.artefact_sha256) == 64


def test_one_flat_image_breaks_the_calibration_and_the_gate_fails_with_both_figures(
    synthetic: Path, tmp_path: Path
) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.new("RGB", (64, 64), (128, 128, 128)).save(flat / "grey.JPEG")
    (flat / "list.txt").write_text("grey.JPEG\n")
    spec = spec_for(synthetic, tmp_path / "out", calibration_list=str(flat / "list.txt"), calibration_dataset=str(flat))
    status, data = calibrate(spec, tmp_path)
    record = calibration_record_from_json(json.dumps(data))
    assert status == Exit.VERIFICATION_FAILED and record.outcome is Outcome.VERIFICATION_FAILED
    assert record.gate is not None and not record.gate_passed
    assert record.gate.fp32 == 100.0 and record.gate.int8 < 50.0
    assert (
        "FAILED" in record.message
        and "fp32 100.000%" in record.message
        and f"int8 {record.gate.int8:.3f}%" in (record.message)
    )
    assert (tmp_path / "out" / "model.int8.onnx").is_file()  # kept, so the user can look; its record says it failed


def test_mlperf_list_on_a_small_set_is_refused_naming_the_missing_images(
    synthetic: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    official = REPO / "data" / "calibration" / "cal_image_list_option_1.txt"
    status, data = calibrate(spec_for(synthetic, tmp_path / "out", calibration_list=str(official)), tmp_path)
    assert status == Exit.REFUSED and data["outcome"] == "refused"
    # A 45-image set holds one of them (ILSVRC2012_val_00000033.JPEG); the other 499 are missing.
    assert "names 499 of its 500 images that are not in" in str(data["message"])
    assert "ILSVRC2012_val_00027145.JPEG" in str(data["message"])  # the first listed, named
    assert "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "out" / "model.int8.onnx").exists()


def test_a_list_leaving_nothing_for_the_gate_is_refused(synthetic: Path, tmp_path: Path) -> None:
    everything = tmp_path / "all.txt"
    everything.write_text("".join(line.split()[0] + "\n" for line in (synthetic / "dataset/val_map.txt").open()))
    status, data = calibrate(spec_for(synthetic, tmp_path / "out", calibration_list=str(everything)), tmp_path)
    assert status == Exit.REFUSED and "none is left for the accuracy gate" in str(data["message"])


def test_unknown_method_is_refused_by_the_spec(synthetic: Path, tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.json"
    text = calibration_to_json(spec_for(synthetic, tmp_path / "out")).replace('"minmax"', '"kl"')
    spec_file.write_text(text)
    assert harness_main(["calibrate", "--spec", str(spec_file)]) == Exit.REFUSED


def test_the_int8_model_runs_accuracy_under_loadgen(synthetic: Path, tmp_path: Path) -> None:
    status, _ = calibrate(spec_for(synthetic, tmp_path / "out"), tmp_path)
    assert status == Exit.OK
    spec = RunSpec(
        benchmark="resnet50",
        scenario="Offline",
        mode="accuracy",
        round="v6.1",
        division="closed",
        submitter="MSB",
        system="cpu_int8",
        dataset=str(synthetic / "dataset"),
        model=str(tmp_path / "out" / "model.int8.onnx"),
        output=str(tmp_path / "experiment"),
        backend=BackendSpec(name="onnxruntime", precision="int8", batch_size=8, threads=1),
        allow_root=True,
    )
    outcome = execute(spec, "test")
    assert outcome.accuracy is not None and outcome.accuracy.line == "accuracy=100.000%, good=45, total=45"
    assert outcome.backend.precision == "int8"
