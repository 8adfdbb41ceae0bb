"""INT8 calibration in TensorRT: calibration batches and the calibration cache file.

The list is read by harness.backends.calibration_list.

The cache TensorRT writes is opaque bytes; next to it we keep `<cache>.json` naming the sha256 of the ONNX
weights and of the calibration list it was computed from. A cache is reused only when both match, so a cache
left over from other weights is never applied silently: it is rebuilt (the default) or refused.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.backends.calibration_list import CalibrationError

_LOG = logging.getLogger(__name__)


def calibration_batches(names: list[str], batch_size: int, load: Callable[[str], np.ndarray]) -> Iterator[np.ndarray]:
    """Stacked batches of `batch_size` preprocessed images; a last partial batch is padded with repeats.

    TensorRT's calibrator takes only full batches; repeating images of the list keeps every listed image in
    the statistics (dropping them would calibrate on fewer images than MLPerf lists).
    """
    if batch_size < 1:
        raise CalibrationError(f"calibration batch size {batch_size} must be at least 1")
    for start in range(0, len(names), batch_size):
        chunk = names[start : start + batch_size]
        chunk = chunk + [chunk[i % len(chunk)] for i in range(batch_size - len(chunk))]
        yield np.stack([load(name) for name in chunk])


@dataclass(frozen=True)
class CacheProvenance:
    onnx_sha256: str
    calibration_list_sha256: str

    def to_json(self) -> str:
        return json.dumps({"onnx_sha256": self.onnx_sha256, "calibration_list_sha256": self.calibration_list_sha256})


class CalibrationCache:
    """The cache file and its provenance record; `load` decides whether the cached bytes may be used."""

    def __init__(self, path: Path, provenance: CacheProvenance, rebuild_mismatched: bool = True) -> None:
        self.path = path
        self.meta_path = path.with_name(path.name + ".json")
        self.provenance = provenance
        self.rebuild_mismatched = rebuild_mismatched

    def load(self) -> bytes | None:
        """The cached bytes if made from these weights and this list; None means calibrate afresh."""
        if not self.path.exists():
            return None
        why = self._mismatch_reason()
        if why is not None:
            self._reject(why)
            return None
        return self.path.read_bytes()

    def _mismatch_reason(self) -> str | None:
        """Why the cached bytes may not be used with this provenance, or None when they may."""
        if not self.meta_path.exists():
            return f"{self.meta_path} is missing, so the weights it was made from are unknown"
        try:
            recorded = json.loads(self.meta_path.read_text())
            # `build.py calibrate` records the model as model_sha256 (harness.contract.calibration); older caches
            # as onnx_sha256.
            model_sha = recorded.get("model_sha256", recorded.get("onnx_sha256"))
            found = CacheProvenance(model_sha, recorded["calibration_list_sha256"])
        except (ValueError, KeyError, TypeError) as exc:
            return f"{self.meta_path} is unreadable ({exc})"
        if found.onnx_sha256 != self.provenance.onnx_sha256:
            return (
                f"it was made for other weights (onnx sha256 {found.onnx_sha256[:12]}…, "
                f"these are {self.provenance.onnx_sha256[:12]}…)"
            )
        if found.calibration_list_sha256 != self.provenance.calibration_list_sha256:
            return "it was made from another calibration list"
        return None

    def _reject(self, why: str) -> None:
        """Raise when mismatched caches may not be rebuilt; otherwise log that this one will be."""
        if not self.rebuild_mismatched:
            raise CalibrationError(
                f"calibration cache {self.path} cannot be used: {why}; delete it or allow recalibration"
            )
        _LOG.warning("calibration cache %s is not used and will be rebuilt: %s", self.path, why)

    def store(self, data: bytes) -> None:
        """Write the cache, then its provenance, each atomically (a crash never leaves a mismatched pair)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.path, data)
        _atomic_write(self.meta_path, self.provenance.to_json().encode())


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(path)


class CalibrationSession:
    """The CalibrationSource TensorRT's calibrator pulls from: batches plus the cache.

    When the cache is valid TensorRT reads it and asks for no batches, so images are loaded only when needed.
    """

    def __init__(
        self, names: list[str], batch_size: int, load: Callable[[str], np.ndarray], cache: CalibrationCache
    ) -> None:
        self.batch_size = batch_size
        self._batches = calibration_batches(names, batch_size, load)
        self._cache = cache
        self.batches_served = 0

    def next_batch(self) -> np.ndarray | None:
        batch = next(self._batches, None)
        if batch is not None:
            self.batches_served += 1
        return batch

    def read_cache(self) -> bytes | None:
        return self._cache.load()

    def write_cache(self, data: bytes) -> None:
        self._cache.store(data)
