"""What a run was made from, for its record: the dataset files it read, the model file, and the LoadGen build with the
seeds it applied (read back from the detail log, since seeds are compiled into LoadGen and user.conf cannot change
them). The host turns this into the result's manifest; `build.py reproduce` checks the same files before re-running.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.benchmarks.base import Benchmark, Sample
from harness.results.loadgen_logs import parse_detail

_CHUNK = 1 << 20
_LOADGEN_KEYS = ("loadgen_version", "loadgen_git_commit_date")
_SEEDS = ("qsl_rng_seed", "sample_index_rng_seed", "schedule_rng_seed")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_files(benchmark: Benchmark, dataset_dir: Path, samples: Iterable[Sample]) -> list[Path]:
    """The files the run read: the benchmark's label file(s) and every sample, in a stable order."""
    labels = getattr(benchmark, "label_files", None)
    listed = list(labels(dataset_dir)) if callable(labels) else []
    return sorted({*listed, *(sample.path for sample in samples)})


def fingerprint(dataset_dir: Path, files: Iterable[Path]) -> dict[str, Any]:
    """Name (relative to the dataset), size and sha256 of each file, and one sha256 over those lines."""
    entries = [[str(path.relative_to(dataset_dir)), path.stat().st_size, file_sha256(path)] for path in files]
    lines = "".join(f"{name}\t{size}\t{sha}\n" for name, size, sha in entries)
    return {"sha256": hashlib.sha256(lines.encode()).hexdigest(), "files": entries}


def loadgen_facts(detail_log: Path) -> dict[str, Any]:
    """LoadGen's version (with its git hash) and the effective seeds, as the detail log states them."""
    values = parse_detail(detail_log.read_text())  # the log LoadGen has just written in this run
    facts: dict[str, Any] = {key: values.get(key) for key in _LOADGEN_KEYS}
    facts["seeds"] = {seed: values.get(f"effective_{seed}") for seed in _SEEDS}
    return facts


def describe_inputs(benchmark: Benchmark, dataset_dir: Path, samples: list[Sample], model: Path) -> dict[str, Any]:
    return {
        "dataset": fingerprint(dataset_dir, dataset_files(benchmark, dataset_dir, samples)),
        "model": {"name": model.name, "size": model.stat().st_size, "sha256": file_sha256(model)},
    }
