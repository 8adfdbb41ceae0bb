"""YOLO11l in the PyTorch backend on the CPU: the published size, the checkpoint's key layout, the output0 form and
its decode, seeded random weights, and yolo-99 answered through the backend registry. One 640x640 forward in all
(seconds on a CPU); the rest run at small multiple-of-32 sizes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.backends.base import BackendError
from harness.backends.pytorch.layers import FrozenBatchNorm2d, fold_batch_norms
from harness.backends.pytorch.models import init_random
from harness.backends.pytorch.weights import load_state_dict
from harness.backends.pytorch.yolo11 import REG_MAX, Yolo11l
from harness.backends.registry import get_backend
from harness.benchmarks.yolo import anchor_count

# Ultralytics' model summary of yolo11l.yaml with 80 classes: 25,372,160 parameters, batch-norm affine included.
PUBLISHED_PARAMETERS = 25_372_160


def frozen_affine(model: torch.nn.Module) -> int:
    return sum(m.weight.numel() + m.bias.numel() for m in model.modules() if isinstance(m, FrozenBatchNorm2d))


def test_yolo11l_has_the_published_parameter_count_before_and_after_folding() -> None:
    model = Yolo11l()
    parameters = sum(p.numel() for p in model.parameters())
    assert parameters + frozen_affine(model) == PUBLISHED_PARAMETERS
    norms = sum(isinstance(m, FrozenBatchNorm2d) for m in model.modules())
    assert fold_batch_norms(model) == norms == 167
    fused = sum(p.numel() for p in model.parameters())
    assert fused == 25_340_992  # each batch norm's two factors become one conv bias
    assert round(fused / 1e6, 1) == 25.3  # the figure Ultralytics publishes for YOLO11l


def test_yolo11l_keys_follow_the_checkpoint_layout() -> None:
    state = Yolo11l().state_dict()
    # yolo11l.pt's state_dict has 1,015 entries: these 848 and one num_batches_tracked per batch norm (167),
    # which the loader drops.
    assert len(state) == 848
    assert state["model.0.conv.weight"].shape == (64, 3, 3, 3)
    assert state["model.2.m.0.m.1.cv2.conv.weight"].shape == (32, 32, 3, 3)  # C3k2 -> C3k -> bottleneck
    assert state["model.10.m.1.attn.qkv.conv.weight"].shape == (512, 256, 1, 1)  # 4 heads, keys at half width
    assert state["model.23.cv3.2.0.0.conv.weight"].shape == (512, 1, 3, 3)  # depthwise class branch
    assert state["model.23.cv3.0.2.weight"].shape == (80, 256, 1, 1)
    assert state["model.23.cv2.1.2.bias"].shape == (4 * REG_MAX,)
    assert state["model.23.dfl.conv.weight"].flatten().tolist() == list(range(REG_MAX))


def test_a_checkpoint_state_dict_with_batch_norm_counters_loads_strictly(tmp_path: Path) -> None:
    source = Yolo11l()
    init_random(source, 5)
    state = source.state_dict()
    counters = {k.replace(".running_mean", ".num_batches_tracked"): torch.tensor(1) for k in state if "running_m" in k}
    assert len(counters) == 167  # as many as yolo11l.pt holds beside the 848 weights
    torch.save({**state, **counters}, tmp_path / "yolo11l.pth")
    target = Yolo11l()
    load_state_dict(target, tmp_path / "yolo11l.pth")
    torch.testing.assert_close(target.model[22].cv2.conv.weight, source.model[22].cv2.conv.weight, rtol=0, atol=0)


def test_random_weights_are_seeded_and_keep_the_fixed_dfl_bins() -> None:
    model = Yolo11l()
    weights = model.model[13].m[0].cv3.conv.weight
    init_random(model, 0)
    first = weights.clone()
    init_random(model, 1)
    assert not torch.equal(weights, first)
    init_random(model, 0)
    assert torch.equal(weights, first)
    assert model.state_dict()["model.23.dfl.conv.weight"].flatten().tolist() == list(range(REG_MAX))


def test_output0_decodes_cells_into_centre_and_size_in_input_pixels() -> None:
    """With zero box logits each side is the mean of the 16 bins, 7.5 cells: boxes 15 strides wide, centred on
    their cells, x fastest, levels in stride order; the scores are sigmoids."""
    height, width = 96, 64
    model = Yolo11l().eval()  # torch's default initialisation: the decode does not depend on the weights
    for branch in model.model[23].cv2:
        torch.nn.init.zeros_(branch[2].weight)
        torch.nn.init.zeros_(branch[2].bias)
    with torch.inference_mode():
        (out,) = model(torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0)))
    assert out.shape == (1, 84, anchor_count(height, width))
    expected = []
    for stride in (8, 16, 32):
        ys, xs = np.mgrid[0 : height // stride, 0 : width // stride]
        centres = np.stack([(xs.ravel() + 0.5) * stride, (ys.ravel() + 0.5) * stride])
        expected.append(np.concatenate([centres, np.full((2, centres.shape[1]), 15.0 * stride)]))
    np.testing.assert_allclose(out[0, :4].numpy(), np.concatenate(expected, axis=1), rtol=1e-5)
    scores = out[0, 4:]
    assert float(scores.min()) > 0.0 and float(scores.max()) < 1.0


def test_yolo_99_runs_yolo11l_through_the_registry(tmp_path: Path) -> None:
    spec = tmp_path / "yolo11l.random.json"
    spec.write_text(json.dumps({"architecture": "yolo11l", "weights": None, "seed": 0}))
    backend = get_backend(
        "pytorch",
        benchmark="yolo-99",
        device="cpu",
        precision="fp32",
        threads=None,
        output_names=("output0",),
        options={},  # channels_last on, as on a GPU: the attention's reshapes must hold under it
    )
    backend.load(spec)
    (out,) = backend.infer(np.full((1, 3, 640, 640), 114 / 255, np.float32))
    assert out.shape == (1, 84, 8400) and out.dtype == np.float32
    assert np.isfinite(out).all() and (out[:, 2:4] > 0).all()  # sizes are positive: DFL bins intact
    details = backend.info().details
    assert (details["architecture"], details["outputs"], details["batch_norms_folded"]) == (
        "yolo11l",
        "candidates",
        "167",
    )
    assert details["weights"].startswith("random (seed 0)")


def test_a_model_spec_of_another_architecture_names_yolo11l(tmp_path: Path) -> None:
    spec = tmp_path / "resnet50.json"
    spec.write_text(json.dumps({"architecture": "resnet50", "weights": None}))
    backend = get_backend(
        "pytorch", benchmark="yolo-95", device="cpu", precision="fp32", threads=None, output_names=(), options={}
    )
    with pytest.raises(BackendError, match=r"names 'resnet50' but yolo-95 runs yolo11l; set \"architecture\""):
        backend.load(spec)
