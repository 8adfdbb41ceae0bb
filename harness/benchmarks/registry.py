"""Benchmarks by MLPerf model name, and the options each declares.

Each entry names a "module:attr" factory, imported only when chosen, so a benchmark's dependencies (pycocotools,
...) are needed only by runs of that benchmark; and, for a benchmark that takes options, its frozen options
dataclass in harness/benchmarks/options.py, which imports nothing heavy. Options are checked against that dataclass
before the benchmark's module is imported, as the backends' are (harness/registries.py checks both).
Adding a benchmark is one entry in `_ENTRIES`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from harness.benchmarks.base import Benchmark
from harness.benchmarks.options import BenchmarkOptionError
from harness.registries import checked_options, load_target, lookup


@dataclass(frozen=True)
class _Entry:
    factory: str  # "module:attr": called with the options instance, or with nothing when options is None
    options: str | None = None  # "module:attr" of its frozen options dataclass; None: it takes no options


_YOLO_OPTIONS = "harness.benchmarks.options:YoloOptions"
_ENTRIES: Mapping[str, _Entry] = MappingProxyType(
    {
        "resnet50": _Entry("harness.benchmarks.resnet50:ResNet50"),
        "retinanet": _Entry("harness.benchmarks.retinanet:RetinaNet"),
        "ssd-resnet34": _Entry("harness.benchmarks.ssd_resnet34:SsdResNet34"),
        "yolo-95": _Entry("harness.benchmarks.yolo:yolo_95", _YOLO_OPTIONS),
        "yolo-99": _Entry("harness.benchmarks.yolo:yolo_99", _YOLO_OPTIONS),
    }
)

BENCHMARKS: tuple[str, ...] = tuple(sorted(_ENTRIES))


class UnknownBenchmarkError(ValueError):
    """The benchmark name is not in the registry; the message lists the valid names."""


def get_benchmark(name: str, options: Mapping[str, object] | None = None) -> Benchmark:
    """A fresh instance of the benchmark called `name` (e.g. "resnet50") with the `options` it declares.

    An option it does not declare, or a value it cannot honour, is a BenchmarkOptionError raised before the
    benchmark's module is imported.
    """
    entry = _entry(name)
    checked = _checked_options(name, entry, options or {})
    factory = load_target(entry.factory)
    return factory() if checked is None else factory(checked)


def benchmark_options(name: str) -> tuple[str, ...]:
    """The option names the benchmark called `name` takes, read without importing the benchmark."""
    entry = _entry(name)
    return () if entry.options is None else tuple(f.name for f in dataclasses.fields(load_target(entry.options)))


def option_values(name: str) -> dict[str, tuple[object, ...] | None]:
    """Each option of the benchmark with the values it takes where they are a fixed set (else None)."""
    entry = _entry(name)
    if entry.options is None:
        return {}
    return {f.name: f.metadata.get("values") for f in dataclasses.fields(load_target(entry.options))}


def effective_options(name: str, options: Mapping[str, object] | None = None) -> dict[str, object]:
    """Every option of the benchmark with the value a run with `options` uses, defaults included (recorded with
    the results, so a default is stated rather than implied)."""
    checked = _checked_options(name, _entry(name), options or {})
    return {} if checked is None else dataclasses.asdict(checked)


def _entry(name: str) -> _Entry:
    return lookup(_ENTRIES, "benchmark", name, UnknownBenchmarkError)


def _checked_options(name: str, entry: _Entry, given: Mapping[str, object]) -> Any:
    """`given` as an instance of the benchmark's options dataclass (None when it takes none)."""
    options_class = None if entry.options is None else load_target(entry.options)
    return checked_options("benchmark", name, options_class, given, BenchmarkOptionError)
