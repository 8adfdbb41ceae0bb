"""Benchmark options (harness/benchmarks/registry.py, options.py): declared per benchmark, refused by name when
unknown or out of range before the benchmark's module is imported, recorded with their defaults, and part of the
preprocessed-sample cache's key."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.benchmarks.options import BenchmarkOptionError
from harness.benchmarks.registry import benchmark_options, effective_options, get_benchmark
from harness.benchmarks.yolo import Yolo
from harness.cache import cache_namespace


def test_yolo_declares_padding_and_the_others_take_none() -> None:
    assert benchmark_options("yolo-95") == benchmark_options("yolo-99") == ("padding",)
    assert benchmark_options("resnet50") == benchmark_options("retinanet") == ()
    assert effective_options("yolo-99") == {"padding": "square"}  # the default is stated, not implied
    assert effective_options("yolo-99", {"padding": "minimal"}) == {"padding": "minimal"}
    assert effective_options("resnet50") == {}


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("yolo-99", {"pading": "minimal"}, "the yolo-99 benchmark has no option 'pading'; it takes: padding; drop"),
        ("resnet50", {"padding": "minimal"}, "the resnet50 benchmark has no option 'padding'; it takes: none"),
        ("yolo-95", {"padding": "rect"}, "padding='rect' is not one of: square, minimal; use square"),
        ("yolo-95", {"padding": 640}, "padding=640 is not one of: square, minimal"),
    ],
)
def test_an_option_the_benchmark_cannot_take_is_refused_by_name(
    name: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(BenchmarkOptionError, match=message):
        get_benchmark(name, options)


def test_options_are_read_and_refused_without_importing_the_benchmark() -> None:
    script = (
        "import sys\n"
        "from harness.benchmarks.registry import benchmark_options, get_benchmark\n"
        "assert benchmark_options('yolo-99') == ('padding',)\n"
        "try:\n"
        "    get_benchmark('yolo-99', {'padding': 'rect'})\n"
        "except ValueError:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m in ('harness.benchmarks.yolo', 'pycocotools', 'cv2', 'PIL')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_padding_reaches_the_benchmark_and_keys_the_preprocessing_cache() -> None:
    square, minimal = get_benchmark("yolo-99"), get_benchmark("yolo-99", {"padding": "minimal"})
    assert isinstance(square, Yolo) and isinstance(minimal, Yolo)
    assert (square.padding, minimal.padding) == ("square", "minimal")
    assert cache_namespace(square) == "yolo-99-coco-letterbox640-square-v1"
    assert cache_namespace(minimal) == "yolo-99-coco-letterbox640-minimal-v1"
    assert square.varying_input is None and "padding=minimal" in str(minimal.varying_input)
