"""The MLPerf architectures: shapes a benchmark relies on, torchvision-layout names, weight files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from harness.backends.base import BackendError
from harness.backends.pytorch.layers import FrozenBatchNorm2d, fold_batch_norms
from harness.backends.pytorch.models import ResNet50, RetinaNet, SsdResNet34, init_random
from harness.backends.pytorch.weights import load_state_dict, read_model_spec
from harness.backends.pytorch.yolo11 import Yolo11l
from harness.benchmarks.detection.anchors import retinanet_anchors, ssd_r34_default_boxes


def test_resnet50_has_torchvision_names_and_answers_mlperf_class_indices() -> None:
    model = ResNet50().eval()
    names = set(model.state_dict())
    assert {"conv1.weight", "layer1.0.downsample.0.weight", "layer4.2.bn3.running_var", "fc.bias"} <= names
    assert sum(p.numel() for p in model.parameters()) == 25_503_912  # torchvision's 25,557,032 less BN affine
    init_random(model, 0)
    with torch.inference_mode():
        (indices,) = model(torch.zeros(2, 3, 64, 64))
    assert indices.shape == (2,) and indices.dtype == torch.int64
    assert int(indices.min()) >= 1 and int(indices.max()) <= 1000  # background 0 never answered


def test_resnet50_maps_mlperf_preprocessing_onto_torchvision_normalisation() -> None:
    model = ResNet50()
    mlperf_pixel = torch.tensor([255.0 - 123.68, 0.0 - 116.78, 128.0 - 103.94]).reshape(1, 3, 1, 1)
    mapped = mlperf_pixel * model.input_scale + model.input_shift
    expected = (torch.tensor([1.0, 0.0, 128 / 255]) - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor(
        [0.229, 0.224, 0.225]
    )
    torch.testing.assert_close(mapped.flatten(), expected)


def test_retinanet_heads_line_up_with_the_benchmarks_anchors() -> None:
    model = RetinaNet().eval()
    init_random(model, 0)
    with torch.inference_mode():
        logits, regression = model(torch.rand(1, 3, 128, 128))
    anchors = len(retinanet_anchors(128).boxes)
    assert logits.shape == (1, anchors, 264) and regression.shape == (1, anchors, 4)
    names = set(model.state_dict())
    assert "backbone.body.layer1.0.conv2.weight" in names  # grouped 3x3 (ResNeXt 32x4d): 128 in, 4 a group
    assert model.backbone.body.layer1[0].conv2.weight.shape == (128, 4, 3, 3)
    assert {"backbone.fpn.extra_blocks.p6.weight", "head.classification_head.cls_logits.weight"} <= names


def test_ssd_resnet34_answers_15130_boxes_for_81_classes_at_1200() -> None:
    model = SsdResNet34().eval()
    with torch.inference_mode():
        locs, confs = model(torch.zeros(1, 3, 1200, 1200))
    assert locs.shape == (1, 4, 15130) and confs.shape == (1, 81, 15130)
    assert len(ssd_r34_default_boxes(1200).boxes) == 15130
    assert "model.layer2.0.0.downsample.0.weight" in model.state_dict()  # conv4's first block, stride 1


def test_weights_round_trip_and_wrapped_checkpoints_load(tmp_path: Path) -> None:
    source = ResNet50()
    init_random(source, 3)
    state = {f"module.{k}": v for k, v in source.state_dict().items()}
    state["module.bn1.num_batches_tracked"] = torch.tensor(5)
    torch.save({"state_dict": state}, tmp_path / "w.pth")
    target = ResNet50()
    load_state_dict(target, tmp_path / "w.pth")
    torch.testing.assert_close(target.fc.weight, source.fc.weight)


def test_weights_for_another_architecture_are_refused_with_the_differences(tmp_path: Path) -> None:
    torch.save(SsdResNet34().state_dict(), tmp_path / "ssd.pth")
    with pytest.raises(BackendError, match=r"does not fit the ResNet50 architecture: missing \d+ \(e\.g\. "):
        load_state_dict(ResNet50(), tmp_path / "ssd.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(BackendError, match="is not a PyTorch state_dict"):
        load_state_dict(ResNet50(), tmp_path / "junk.pth")
    with pytest.raises(BackendError, match="does not exist"):
        load_state_dict(ResNet50(), tmp_path / "absent.pth")


def test_model_spec_makes_random_weights_explicit(tmp_path: Path) -> None:
    spec = tmp_path / "resnet50.random.json"
    spec.write_text(json.dumps({"architecture": "resnet50", "weights": None, "seed": 7}))
    parsed = read_model_spec(spec)
    assert (parsed.architecture, parsed.weights, parsed.seed) == ("resnet50", None, 7)
    spec.write_text(json.dumps({"architecture": "resnet50", "weights": "w.pth"}))
    assert read_model_spec(spec).weights == tmp_path / "w.pth"
    for bad, message in (
        ("{", "not valid JSON"),
        ("{}", '"weights" entry'),
        ('{"architecture": "vgg", "weights": null}', "not one of"),
    ):
        spec.write_text(bad)
        with pytest.raises(BackendError, match=message):
            read_model_spec(spec)


@pytest.mark.parametrize(
    ("architecture", "shape"), [(ResNet50, (2, 3, 64, 64)), (SsdResNet34, (1, 3, 400, 400)), (Yolo11l, (1, 3, 64, 96))]
)
def test_folding_batch_norms_keeps_the_outputs(architecture: type[torch.nn.Module], shape: tuple[int, ...]) -> None:
    model = architecture().eval()
    init_random(model, 0)
    generator = torch.Generator().manual_seed(1)
    norms = [m for m in model.modules() if isinstance(m, FrozenBatchNorm2d)]
    for norm in norms:  # non-trivial statistics, so a wrong fold shows
        norm.weight.uniform_(0.5, 1.5, generator=generator)
        norm.bias.normal_(0, 0.1, generator=generator)
        norm.running_mean.normal_(0, 0.1, generator=generator)
        norm.running_var.uniform_(0.5, 2.0, generator=generator)
    x = torch.rand(*shape, generator=generator)
    run = model.logits if isinstance(model, ResNet50) else model
    with torch.inference_mode():
        before = run(x)
        assert fold_batch_norms(model) == len(norms)
        after = run(x)
    assert not any(isinstance(m, FrozenBatchNorm2d) for m in model.modules())
    for a, b in zip(
        before if isinstance(before, tuple) else (before,), after if isinstance(after, tuple) else (after,), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * float(a.abs().max()))
