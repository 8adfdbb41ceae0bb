"""The engine cache: a serialized engine is reused only when everything it was built from matches.

An engine is specific to the GPU architecture, the TensorRT version, the precision, the optimisation
profiles, the model weights, the INT8 calibration cache and the plugins. All of these form the `EngineKey`,
written as JSON next to the engine (`<engine>.json`) and recorded with the results. A cached engine whose key
differs is rebuilt, or refused with no_rebuild; it is never run silently.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.backends.base import BackendError
from harness.backends.tensorrt.interface import GpuIdentity

_LOG = logging.getLogger(__name__)

# Fields that make an engine unusable on this machine (as opposed to merely built from other settings).
_PLATFORM_FIELDS = ("gpu_name", "compute_capability", "tensorrt_version")


class EngineCacheError(BackendError):
    """A cached or prebuilt engine does not match this run and may not be rebuilt."""


@dataclass(frozen=True)
class EngineKey:
    gpu_name: str
    compute_capability: str
    tensorrt_version: str
    precision: str
    batch_sizes: tuple[int, ...]
    streams: int
    profiles: tuple[dict[str, list[int]], ...]
    model_sha256: str
    calibration_cache_sha256: str = ""  # empty unless precision is int8
    plugin_sha256: tuple[str, ...] = ()
    nms: dict[str, int | float | str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=2)

    @classmethod
    def from_json(cls, text: str) -> EngineKey:
        data = json.loads(text)
        data["batch_sizes"] = tuple(data["batch_sizes"])
        data["profiles"] = tuple(data["profiles"])
        data["plugin_sha256"] = tuple(data.get("plugin_sha256", ()))
        return cls(**data)

    def details(self) -> dict[str, str]:
        """Flat strings for BackendInfo.details."""
        flat = {}
        for name, value in asdict(self).items():
            flat[f"engine_key.{name}"] = value if isinstance(value, str) else json.dumps(value)
        return flat


def key_differences(old: EngineKey, new: EngineKey) -> list[str]:
    """One "field: old -> new" line per field that differs."""
    old_d, new_d = asdict(old), asdict(new)
    return [f"{name}: {old_d[name]!r} -> {new_d[name]!r}" for name in new_d if old_d[name] != new_d[name]]


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(path)


@dataclass(frozen=True)
class CachedEngine:
    data: bytes
    status: str  # "hit", "built (no cached engine)", "rebuilt (…)"
    path: Path
    key: EngineKey


class EngineCache:
    """One engine slot per model and precision: `<dir>/<model>.<precision>.plan` plus its key."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def engine_path(self, model_name: str, precision: str) -> Path:
        return self.directory / f"{model_name}.{precision}.plan"

    def get_or_build(
        self,
        model_name: str,
        key: EngineKey,
        build: Callable[[], tuple[bytes, EngineKey]],
        no_rebuild: bool = False,
    ) -> CachedEngine:
        """The cached engine when its key equals `key`, else the output of `build`, stored with its final key.

        `build` returns the key to store because an INT8 build writes the calibration cache whose sha256 is
        part of the key; before the first calibration that field is empty, so such a lookup never hits.
        """
        path = self.engine_path(model_name, key.precision)
        key_path = path.with_name(path.name + ".json")
        if path.exists() and key_path.exists():
            try:
                cached = EngineKey.from_json(key_path.read_text())
            except (ValueError, KeyError, TypeError) as exc:
                reason = f"its key file {key_path} is unreadable ({exc})"
            else:
                differences = key_differences(cached, key)
                if not differences:
                    return CachedEngine(path.read_bytes(), "hit", path, cached)
                reason = "its key differs: " + "; ".join(differences)
        elif path.exists():
            reason = f"it has no key file {key_path}, so what it was built from is unknown"
        else:
            reason = ""
        if no_rebuild:
            why = f"cached engine {path} cannot be used: {reason}" if reason else f"no engine at {path}"
            raise EngineCacheError(f"{why}; run without --no-rebuild to build one")
        if reason:
            _LOG.warning("rebuilding engine %s: %s", path, reason)
        data, built_key = build()
        self.directory.mkdir(parents=True, exist_ok=True)
        # Engine first, key last: a key file present means the engine beside it is complete.
        if key_path.exists():
            key_path.unlink()
        _atomic_write(path, data)
        _atomic_write(key_path, built_key.to_json().encode())
        status = f"rebuilt ({reason})" if reason else "built (no cached engine)"
        return CachedEngine(data, status, path, built_key)


def check_prebuilt(engine_path: Path, gpu: GpuIdentity, tensorrt_version: str) -> dict[str, str]:
    """Details for a user-supplied engine; refused when its key names another GPU or TensorRT version.

    An engine without a key file is accepted (KILT-style engines have none); TensorRT itself refuses a
    serialized engine from another version, and the details record that the provenance is unchecked.
    """
    if not engine_path.is_file():
        raise EngineCacheError(f"engine file {engine_path} does not exist; pass a serialized engine's path")
    key_path = engine_path.with_name(engine_path.name + ".json")
    if not key_path.exists():
        return {"engine": str(engine_path), "engine_provenance": "prebuilt, no key file (unchecked)"}
    try:
        key = EngineKey.from_json(key_path.read_text())
    except (ValueError, KeyError, TypeError) as exc:
        raise EngineCacheError(f"engine key {key_path} is unreadable ({exc}); fix or delete it") from exc
    here = {
        "gpu_name": gpu.name,
        "compute_capability": gpu.compute_capability,
        "tensorrt_version": tensorrt_version,
    }
    recorded = asdict(key)
    wrong = [
        f"{name}: built for {recorded[name]!r}, this is {here[name]!r}"
        for name in _PLATFORM_FIELDS
        if recorded[name] != here[name]
    ]
    if wrong:
        raise EngineCacheError(
            f"engine {engine_path} was built for another platform ({'; '.join(wrong)}); rebuild it from the ONNX model"
        )
    return {"engine": str(engine_path), "engine_provenance": "prebuilt, key checked", **key.details()}
