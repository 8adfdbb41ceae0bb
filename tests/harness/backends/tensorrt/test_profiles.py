"""Optimisation profiles, buffer sizing and NMS plugin settings of the TensorRT backend (pure logic)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.backends.base import BackendError
from harness.backends.tensorrt.buffers import binding_bytes, plan_buffers
from harness.backends.tensorrt.interface import BindingSpec
from harness.backends.tensorrt.nms import nms_layer
from harness.backends.tensorrt.profiles import ProfileError, ProfileTable


def test_one_profile_per_batch_size_sorted_with_min_one_and_opt_max_at_the_size() -> None:
    table = ProfileTable.create("input", (3, 224, 224), [256, 1, 32, 32])
    profiles = table.profiles()
    assert [p.max[0] for p in profiles] == [1, 32, 256]
    assert all(p.min == (1, 3, 224, 224) for p in profiles)
    assert profiles[2].opt == profiles[2].max == (256, 3, 224, 224)


def test_each_stream_gets_its_own_copy_of_every_profile() -> None:
    table = ProfileTable.create("input", (3, 8, 8), [1, 16], slots=3)
    assert len(table.profiles()) == 6
    assert table.index_for(slot=0, batch=1) == 0
    assert table.index_for(slot=2, batch=1) == 4
    assert table.index_for(slot=1, batch=9) == 3  # a partial batch runs on the smallest profile that holds it
    assert table.describe() == [
        {"min": [1, 3, 8, 8], "opt": [1, 3, 8, 8], "max": [1, 3, 8, 8]},
        {"min": [1, 3, 8, 8], "opt": [16, 3, 8, 8], "max": [16, 3, 8, 8]},
    ]


@pytest.mark.parametrize("sizes", [[], [0], [-4], [2.5], [True]])
def test_bad_batch_sizes_are_refused(sizes: list) -> None:
    with pytest.raises(ProfileError, match="batch size"):
        ProfileTable.create("input", (3, 8, 8), sizes)


def test_a_batch_larger_than_every_profile_names_the_fix() -> None:
    table = ProfileTable.create("input", (3, 8, 8), [8])
    with pytest.raises(ProfileError, match="rebuild the engine with a batch size of at least 9"):
        table.index_for(0, 9)


def test_binding_bytes_are_max_batch_times_sample_elements_times_itemsize() -> None:
    assert binding_bytes(BindingSpec("input", (3, 224, 224), np.dtype(np.float16), True), 256) == 256 * 150528 * 2
    assert binding_bytes(BindingSpec("labels", (1000,), np.dtype(np.int64), False), 4) == 4 * 1000 * 8


def test_buffer_plan_totals_every_binding_over_every_stream() -> None:
    bindings = [
        BindingSpec("input", (3, 800, 800), np.dtype(np.float32), True),
        BindingSpec("scores", (120087, 264), np.dtype(np.float16), False),
    ]
    plan = plan_buffers(bindings, max_batch=8, streams=2)
    per_stream = 8 * 3 * 800 * 800 * 4 + 8 * 120087 * 264 * 2
    assert plan.bytes_per_stream() == per_stream
    assert plan.total_bytes() == 2 * per_stream


def test_dynamic_sample_dims_and_multiple_inputs_are_refused() -> None:
    with pytest.raises(BackendError, match="dynamic or empty dimension"):
        binding_bytes(BindingSpec("input", (3, -1, -1), np.dtype(np.float32), True), 1)
    two_inputs = [
        BindingSpec("a", (1,), np.dtype(np.float32), True),
        BindingSpec("b", (1,), np.dtype(np.float32), True),
        BindingSpec("out", (1,), np.dtype(np.float32), False),
    ]
    with pytest.raises(BackendError, match="2 inputs"):
        plan_buffers(two_inputs, 1, 1)


def test_gpu_nms_uses_the_reference_thresholds_as_efficient_nms_fields() -> None:
    layer = nms_layer("gpu", "retinanet", "boxes", "scores")
    assert layer is not None
    assert layer.fields["iou_threshold"] == 0.5
    assert layer.fields["score_threshold"] == 0.05
    assert layer.fields["max_output_boxes"] == 300
    assert layer.fields["background_class"] == -1
    ssd = nms_layer("gpu", "ssd-resnet34", "boxes", "scores")
    assert ssd is not None and ssd.fields["max_output_boxes"] == 200 and ssd.fields["background_class"] == 0
    assert nms_layer("host", "retinanet", "boxes", "scores") is None


def test_gpu_nms_for_a_classifier_or_an_unknown_placement_is_an_error() -> None:
    with pytest.raises(BackendError, match="detection models"):
        nms_layer("gpu", "resnet50", "boxes", "scores")
    with pytest.raises(BackendError, match="not one of host, gpu"):
        nms_layer("device", "retinanet", "boxes", "scores")
