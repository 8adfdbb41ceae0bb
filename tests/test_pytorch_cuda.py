"""The PyTorch backend's CUDA paths (graphs, padding, pinned staging, device postprocessing) on a real GPU.

Skipped where PyTorch sees no CUDA device (CI); run on the lent H100.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.backends.pytorch.backend import PyTorchBackend
from harness.backends.pytorch.options import PyTorchOptions

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def spec(tmp_path: Path, architecture: str) -> Path:
    path = tmp_path / f"{architecture}.json"
    path.write_text(json.dumps({"architecture": architecture, "weights": None, "seed": 0}))
    return path


def test_graph_replay_with_padded_partial_batches_equals_eager(tmp_path: Path) -> None:
    batch = np.random.default_rng(0).normal(0, 60, (4, 3, 224, 224)).astype(np.float32)
    graphed = PyTorchBackend(
        benchmark="resnet50", device="cuda", precision="fp32", options=PyTorchOptions(cuda_graphs=True)
    )
    eager = PyTorchBackend(
        benchmark="resnet50", device="cuda", precision="fp32", options=PyTorchOptions(cuda_graphs=False)
    )
    for backend in (graphed, eager):
        backend.load(spec(tmp_path, "resnet50"))
    graphed.warmup(batch)
    np.testing.assert_array_equal(graphed.infer(batch)[0], eager.infer(batch)[0])
    np.testing.assert_array_equal(graphed.infer(batch[:3])[0], eager.infer(batch[:3])[0])  # padded to 4
    assert graphed.info().details["graphs_captured"] == "4"
    assert graphed.info().device.startswith("cuda:0 (NVIDIA")


def test_detection_outputs_have_the_benchmark_shapes_on_the_gpu(tmp_path: Path) -> None:
    backend = PyTorchBackend(benchmark="ssd-resnet34", device="cuda", output_names=("bboxes", "labels", "scores"))
    backend.load(spec(tmp_path, "ssd-resnet34"))
    boxes, labels, scores = backend.infer(np.random.default_rng(0).random((2, 3, 1200, 1200), dtype=np.float32))
    assert boxes.shape == (2, 200, 4) and labels.shape == (2, 200) and scores.shape == (2, 200)
    assert boxes.dtype == np.float32 and labels.dtype == np.int64
    assert np.all(np.diff(scores, axis=1) <= 0)  # best first, zero padding last
    kept = scores > 0
    assert np.all((labels[kept] >= 1) & (labels[kept] <= 80))


def test_yolo_graphs_in_fp16_match_eager_fp32_and_other_sizes_get_their_own(tmp_path: Path) -> None:
    """yolo-99's output0 from CUDA graphs in fp16 against eager fp32; a minimal-padding size is captured apart."""
    model = spec(tmp_path, "yolo11l")
    graphed = PyTorchBackend(benchmark="yolo-99", device="cuda", precision="fp16", output_names=("output0",))
    eager = PyTorchBackend(
        benchmark="yolo-99",
        device="cuda",
        precision="fp32",
        output_names=("output0",),
        options=PyTorchOptions(cuda_graphs=False),
    )
    for backend in (graphed, eager):
        backend.load(model)
    batch = np.random.default_rng(0).random((2, 3, 640, 640), dtype=np.float32)
    graphed.warmup(batch)
    (fast,) = graphed.infer(batch)
    (exact,) = eager.infer(batch)
    assert fast.shape == exact.shape == (2, 84, 8400) and fast.dtype == np.float32
    np.testing.assert_allclose(fast[:, :4], exact[:, :4], rtol=0.02, atol=1.0)  # boxes, input pixels
    np.testing.assert_allclose(fast[:, 4:], exact[:, 4:], atol=0.01)  # scores
    (smaller,) = graphed.infer(batch[:1, :, :480])  # a 640x480 image's minimal letterbox
    assert smaller.shape == (1, 84, 6300)
    assert graphed.info().details["graphs_captured"] == "1x3x480x640,2x3x640x640"
