"""The PyTorch backend: device and precision checks (no CPU fallback for CUDA), model and outputs per benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.backends.base import BackendError
from harness.backends.pytorch.backend import PyTorchBackend, _graph_shapes
from harness.backends.registry import get_backend


def random_spec(tmp_path: Path, architecture: str) -> Path:
    spec = tmp_path / f"{architecture}.random.json"
    spec.write_text(json.dumps({"architecture": architecture, "weights": None, "seed": 0}))
    return spec


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_cuda_is_an_error_not_a_cpu_run(device: str) -> None:
    with pytest.raises(BackendError, match="PyTorch sees no CUDA device"):
        PyTorchBackend(benchmark="resnet50", device=device, precision="fp16")


def test_bad_precision_and_device_are_errors() -> None:
    with pytest.raises(BackendError, match="supports fp32, fp16, bf16"):
        PyTorchBackend(benchmark="resnet50", device="cpu", precision="int8")
    with pytest.raises(BackendError, match="fp16 needs --device cuda"):
        PyTorchBackend(benchmark="resnet50", device="cpu", precision="fp16")
    with pytest.raises(BackendError, match="use cpu, cuda or cuda:N"):
        PyTorchBackend(benchmark="resnet50", device="gpu", precision="fp32")


@pytest.mark.parametrize(
    ("benchmark", "output_names", "architecture", "kind"),
    [
        ("resnet50", ("ArgMax:0",), "resnet50", "argmax"),
        ("retinanet", ("cls_logits", "bbox_regression"), "retinanet", "heads"),
        ("retinanet", ("boxes", "labels", "scores"), "retinanet", "detections"),
        ("ssd-resnet34", ("bboxes", "labels", "scores"), "ssd-resnet34", "detections"),
        ("ssd-resnet34", ("locs", "confs"), "ssd-resnet34", "heads"),
        ("ssd-resnet34", (), "ssd-resnet34", "detections"),  # no names: the benchmark's reference outputs
        ("yolo-95", ("output0",), "yolo11l", "candidates"),  # both YOLO benchmarks run one architecture
        ("yolo-99", ("output0",), "yolo11l", "candidates"),
    ],
)
def test_the_benchmark_picks_the_architecture_and_its_outputs_the_form(
    benchmark: str, output_names: tuple[str, ...], architecture: str, kind: str
) -> None:
    backend = PyTorchBackend(benchmark=benchmark, device="cpu", precision="fp32", output_names=output_names)
    assert (backend.architecture, backend.kind) == (architecture, kind)


def test_an_unsupported_benchmark_or_outputs_are_refused_by_name() -> None:
    served = "resnet50, retinanet, ssd-resnet34, yolo-95, yolo-99"
    with pytest.raises(BackendError, match=rf"no model for benchmark 'bert'; it serves: {served}"):
        PyTorchBackend(benchmark="bert", device="cpu", precision="fp32")
    # The outputs of another benchmark are not taken as a hint: the benchmark decides.
    with pytest.raises(BackendError, match=r"cannot answer resnet50 outputs \('boxes', 'labels', 'scores'\)"):
        PyTorchBackend(benchmark="resnet50", device="cpu", precision="fp32", output_names=("boxes", "labels", "scores"))


def test_a_model_spec_of_another_architecture_is_refused(tmp_path: Path) -> None:
    backend = PyTorchBackend(benchmark="resnet50", device="cpu", precision="fp32")
    with pytest.raises(BackendError, match="names 'retinanet' but resnet50 runs resnet50"):
        backend.load(random_spec(tmp_path, "retinanet"))


def test_resnet50_runs_through_the_registry_and_records_random_weights(tmp_path: Path) -> None:
    backend = get_backend(
        "pytorch",
        benchmark="resnet50",
        device="cpu",
        precision="fp32",
        threads=1,
        output_names=("ArgMax:0",),
        options={"channels_last": False},
    )
    backend.load(random_spec(tmp_path, "resnet50"))
    batch = np.random.default_rng(0).normal(0, 50, (3, 3, 224, 224)).astype(np.float32)
    (first,) = backend.infer(batch)
    (again,) = backend.infer(batch[:1])
    assert first.shape == (3,) and first.dtype == np.int64
    assert again[0] == first[0]
    info = backend.info()
    assert (info.backend, info.device, info.precision) == ("pytorch", "cpu", "fp32")
    assert info.details["architecture"] == "resnet50"
    assert info.details["channels_last"] == "False"  # the registry's options reached the backend
    assert info.details["weights"].startswith("random (seed 0)")
    assert info.details["cuda_graphs"] == "False"  # graphs are a CUDA feature; the CPU runs eagerly


def test_infer_before_load_and_missing_model_are_errors(tmp_path: Path) -> None:
    backend = PyTorchBackend(benchmark="resnet50", device="cpu", precision="fp32")
    with pytest.raises(BackendError, match="call load"):
        backend.infer(np.zeros((1, 3, 224, 224), np.float32))
    with pytest.raises(BackendError, match="does not exist"):
        backend.load(tmp_path / "absent.pth")


def test_large_batches_are_copied_exactly_by_the_parallel_copy() -> None:
    backend = PyTorchBackend(benchmark="resnet50", device="cpu", precision="fp32")
    source = np.random.default_rng(0).random((13, 3, 300, 300), dtype=np.float32)  # 14 MB: the threaded path
    target = np.zeros_like(source)
    backend._parallel_copy(target, source)
    np.testing.assert_array_equal(target, source)


def test_captured_graphs_are_named_by_batch_size_or_by_shape_where_sample_sizes_differ() -> None:
    assert _graph_shapes([(1, 3, 640, 640), (8, 3, 640, 640)]) == "1,8"
    assert _graph_shapes([(1, 3, 480, 640), (1, 3, 640, 640)]) == "1x3x480x640,1x3x640x640"
