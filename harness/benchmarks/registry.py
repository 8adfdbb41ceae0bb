"""Benchmarks by MLPerf model name.

Each entry is a "module:attr" string imported only when chosen, so a benchmark's dependencies
(pycocotools, ...) are needed only by runs of that benchmark. Adding a benchmark is one line in `_ENTRIES`.
"""

from __future__ import annotations

import importlib

from harness.benchmarks.base import Benchmark

_ENTRIES: dict[str, str] = {
    "resnet50": "harness.benchmarks.resnet50:ResNet50",
    "retinanet": "harness.benchmarks.retinanet:RetinaNet",
    "ssd-resnet34": "harness.benchmarks.ssd_resnet34:SsdResNet34",
    "yolo-95": "harness.benchmarks.yolo:yolo_95",
    "yolo-99": "harness.benchmarks.yolo:yolo_99",
}

BENCHMARKS: tuple[str, ...] = tuple(sorted(_ENTRIES))


class UnknownBenchmarkError(ValueError):
    """The benchmark name is not in the registry; the message lists the valid names."""


def get_benchmark(name: str) -> Benchmark:
    """A fresh instance of the benchmark called `name` (e.g. "resnet50")."""
    target = _ENTRIES.get(name)
    if target is None:
        raise UnknownBenchmarkError(f"unknown benchmark {name!r}; valid: {', '.join(BENCHMARKS)}")
    module_name, attr = target.split(":")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory()
