"""The accuracy gate: the full-precision and the INT8 model on the same held-out images, scored by the benchmark's
own accuracy code (the official script's figure), and compared against the benchmark's margin.

Each model's answers are written as a LoadGen accuracy log (`qsl_idx`, hex `data`) and scored the way a run's log is,
so the gate's figures mean what an accuracy run's would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from harness.backends.base import Backend
from harness.benchmarks.base import AccuracyReport, Benchmark, Sample
from harness.contract.calibration import Gate


def score(
    backend: Backend,
    benchmark: Benchmark,
    samples: Sequence[Sample],
    dataset_prefix: list[Sample],
    dataset_dir: Path,
    load: Callable[[Sample], np.ndarray],
    batch_size: int,
    log: Path,
) -> AccuracyReport:
    """`backend`'s accuracy on `samples` (a subset of `dataset_prefix`, the dataset's first samples up to the last of
    them: the benchmark scores against its labels by index). The log is left at `log`."""
    entries: list[dict[str, object]] = []
    for start in range(0, len(samples), batch_size):
        chunk = samples[start : start + batch_size]
        outputs = backend.infer(np.stack([load(sample) for sample in chunk]))
        payloads = benchmark.postprocess(outputs, [sample.index for sample in chunk])
        for sample, payload in zip(chunk, payloads, strict=True):
            entries.append({"seq_id": len(entries), "qsl_idx": sample.index, "data": payload.hex().upper()})
    log.write_text(json.dumps(entries))
    return benchmark.accuracy(log, dataset_dir, dataset_prefix)


def compare(samples: int, fp32: AccuracyReport, int8: AccuracyReport, fraction: float) -> Gate:
    return Gate(
        samples=samples,
        fp32=fp32.value,
        int8=int8.value,
        fraction=fraction,
        metric=fp32.metric,
        fp32_line=fp32.line,
        int8_line=int8.line,
    )
