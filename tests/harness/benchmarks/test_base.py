"""The compact form of a sample (harness/benchmarks/base.py): ResNet-50's uint8 crop expands to the reference
preprocessing bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from harness.benchmarks.base import Sample, expand
from harness.benchmarks.resnet50 import _MEANS, ResNet50, _resize_and_crop
from tests.support.torch_worker import cpu_worker


def photo(tmp_path: Path, seed: int = 0) -> Sample:
    rng = np.random.default_rng(seed)
    path = tmp_path / f"photo{seed}.jpg"
    Image.fromarray(rng.integers(0, 256, (300, 410, 3), dtype=np.uint8)).save(path, quality=90)
    return Sample(0, path, path.name)


def test_resnet50s_uint8_crop_expands_to_the_reference_float32_preprocessing_bit_for_bit(tmp_path: Path) -> None:
    sample = photo(tmp_path)
    bench = ResNet50()
    compact = bench.compact(sample)
    assert compact.dtype == np.uint8 and compact.shape == (3, 224, 224)
    with Image.open(sample.path) as image:
        reference = (_resize_and_crop(image.convert("RGB")) - _MEANS).transpose(2, 0, 1)  # float32 "vgg"
    np.testing.assert_array_equal(bench.preprocess(sample), reference)
    np.testing.assert_array_equal(expand(bench.compact_form, compact), reference)
    # The device's expansion (torch; the same IEEE operations on a GPU) gives the identical float32 values.
    worker = cpu_worker(bench.compact_form, (3, 224, 224), nn.Identity(), batch_size=1)
    on_device = worker.expand(torch.from_numpy(compact)[None]).numpy()[0]
    assert on_device.dtype == np.float32
    np.testing.assert_array_equal(on_device, reference)
