"""The registries (harness/registries.py): unknown names list the valid choices."""

from __future__ import annotations

import pytest

from harness.backends.registry import UnknownBackendError, get_backend
from harness.benchmarks.registry import UnknownBenchmarkError, get_benchmark


def test_registries_name_the_valid_choices() -> None:
    with pytest.raises(UnknownBenchmarkError, match="resnet50"):
        get_benchmark("bert")
    with pytest.raises(UnknownBackendError, match="onnxruntime"):
        get_backend(
            "tvm", benchmark="resnet50", device="cpu", precision="fp32", threads=None, output_names=(), options={}
        )
