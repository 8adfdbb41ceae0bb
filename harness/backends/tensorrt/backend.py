"""TensorRT backend: build (or reuse, or accept) an engine, then run batches over several CUDA streams."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.backends.base import BackendError, BackendInfo
from harness.backends.calibration_list import CalibrationError, list_sha256, read_calibration_list
from harness.backends.tensorrt.buffers import BufferPlan, SlotPool, allocate_slots, plan_buffers, run_on_slot
from harness.backends.tensorrt.calibration import CacheProvenance, CalibrationCache, CalibrationSession
from harness.backends.tensorrt.engine_cache import EngineCache, EngineKey, check_prebuilt
from harness.backends.tensorrt.hashing import file_sha256
from harness.backends.tensorrt.interface import BuildRequest, GpuIdentity, TrtRuntime
from harness.backends.tensorrt.nms import nms_layer
from harness.backends.tensorrt.onnx_inputs import read_onnx_input
from harness.backends.tensorrt.options import TensorRTOptions
from harness.backends.tensorrt.plugins import LoadedPlugin, load_plugins
from harness.backends.tensorrt.profiles import ProfileError, ProfileTable, profile_batch_sizes
from harness.contract import DEFAULT_BATCH_SIZE

PRECISIONS = ("fp32", "fp16", "int8")


def parse_cuda_device(device: str) -> int:
    """ "cuda" -> 0, "cuda:N" -> N; anything else is an error (TensorRT has no CPU mode)."""
    if device == "cuda":
        return 0
    prefix, _, index = device.partition(":")
    if prefix == "cuda" and index.isdigit():
        return int(index)
    raise BackendError(f"device {device!r}: the tensorrt backend runs on CUDA only; pass --device cuda or cuda:N")


@dataclass
class _Loaded:
    runtime: TrtRuntime
    gpu: GpuIdentity
    plan: BufferPlan
    table: ProfileTable
    pool: SlotPool
    output_order: list[int]
    details: dict[str, str]
    plugins: list[LoadedPlugin]


class TensorRTBackend:
    """Backend over TensorRT 8.6 or 10.x; `runtime_factory` gives the real runtime, or the tests' stand-in."""

    def __init__(
        self,
        *,
        benchmark: str,
        device: str = "cuda",
        precision: str = "fp16",
        threads: int | None = None,
        output_names: Sequence[str] = (),
        options: TensorRTOptions | None = None,
        runtime_factory: Callable[[int], TrtRuntime] | None = None,
        cache_dir: Path | None = None,  # unused: engines go where the cache_dir option says
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        """`output_names` is the benchmark's output order (empty = the engine's order); `benchmark` picks the
        NMS settings when nms=gpu; `batch_size` is the run's, which the profiles must admit."""
        if precision not in PRECISIONS:
            valid = ", ".join(PRECISIONS)
            raise BackendError(f"precision {precision!r}: the tensorrt backend supports {valid}")
        self.device_index = parse_cuda_device(device)
        self.benchmark = benchmark
        self.precision = precision
        self.threads = threads  # host threads play no part in TensorRT; accepted for the common signature
        self.output_names = tuple(output_names)
        self.options = options or TensorRTOptions()
        try:  # here, not in load(): a batch size no profile admits is refused before any engine is built
            self.batch_sizes = profile_batch_sizes(self.options.batch_sizes, batch_size)
        except ProfileError as error:
            raise BackendError(str(error)) from error
        if runtime_factory is None:
            from harness.backends.tensorrt.trt_api import load_real_runtime

            runtime_factory = load_real_runtime
        self._runtime_factory = runtime_factory
        self._loaded: _Loaded | None = None

    def load(self, model_path: Path) -> None:
        opts = self.options
        runtime = self._runtime_factory(self.device_index)
        plugins = load_plugins(list(opts.plugins))
        runtime.init_plugins()
        gpu = runtime.gpu(self.device_index)
        version = runtime.tensorrt_version()
        details: dict[str, str] = {"plugins": ",".join(str(p.path) for p in plugins)}
        if opts.engine is not None:
            details.update(check_prebuilt(opts.engine, gpu, version))
            data = opts.engine.read_bytes()
            table_input = None
        else:
            name, sample = read_onnx_input(model_path, opts.sample_shape)
            table_input = ProfileTable.create(name, sample, self.batch_sizes, opts.streams)
            data, built = self._cached_engine(runtime, gpu, version, model_path, table_input, plugins)
            details.update(built)
        engine = runtime.deserialize(data)
        bindings = engine.bindings()
        if table_input is None:
            inputs = [b for b in bindings if b.is_input]
            if not inputs:
                raise BackendError(f"engine {opts.engine} has no input")
            (input_spec,) = inputs
            table_input = ProfileTable.create(input_spec.name, input_spec.shape, self.batch_sizes, opts.streams)
        plan = plan_buffers(bindings, table_input.max_batch, opts.streams)
        pool = allocate_slots(runtime, engine, plan, table_input)
        details["buffer_bytes_per_stream"] = str(plan.bytes_per_stream())
        details["streams"] = str(opts.streams)
        details["batch_sizes"] = ",".join(map(str, table_input.batch_sizes))
        self._loaded = _Loaded(runtime, gpu, plan, table_input, pool, self._output_order(plan), details, plugins)

    def _cached_engine(
        self,
        runtime: TrtRuntime,
        gpu: GpuIdentity,
        version: str,
        model_path: Path,
        table: ProfileTable,
        plugins: list[LoadedPlugin],
    ) -> tuple[bytes, dict[str, str]]:
        opts = self.options
        model_sha = file_sha256(model_path)
        session = self._calibration_session(model_path, model_sha, table)
        nms = nms_layer(opts.nms, self.benchmark, *opts.nms_outputs) if opts.nms == "gpu" else None

        def key_for(calibration: bytes | None) -> EngineKey:
            return EngineKey(
                gpu_name=gpu.name,
                compute_capability=gpu.compute_capability,
                tensorrt_version=version,
                precision=self.precision,
                batch_sizes=table.batch_sizes,
                streams=table.slots,
                profiles=tuple(table.describe()),
                model_sha256=model_sha,
                calibration_cache_sha256=hashlib.sha256(calibration).hexdigest() if calibration else "",
                plugin_sha256=tuple(p.sha256 for p in plugins),
                nms=dict(nms.fields) if nms else {},
            )

        def build() -> tuple[bytes, EngineKey]:
            request = BuildRequest(
                model_path,
                self.precision,
                table.profiles(),
                opts.workspace_bytes,
                session,
                nms,
                dict(opts.extra),
            )
            data = runtime.build_engine(request)
            calibration = session.read_cache() if session else None
            if session is not None and calibration is None:
                raise CalibrationError("the INT8 build wrote no calibration cache; TensorRT's log says why")
            return data, key_for(calibration)

        cache = EngineCache(opts.cache_dir)
        cached = cache.get_or_build(
            model_path.stem, key_for(session.read_cache() if session else None), build, opts.no_rebuild
        )
        details = {"engine": str(cached.path), "engine_cache": cached.status, **cached.key.details()}
        if session is not None:
            details["calibration_batches_run"] = str(session.batches_served)
        return cached.data, details

    def _calibration_session(self, model_path: Path, model_sha: str, table: ProfileTable) -> CalibrationSession | None:
        if self.precision != "int8":
            return None
        opts = self.options
        if opts.calibration_cache is not None:
            return _calibrated_session(opts.calibration_cache, model_sha)
        if opts.calibration_list is None or opts.calibration_loader is None:
            raise CalibrationError(
                "precision int8 needs calibration: pass MLPerf's calibration list (--calibration-list) "
                "and the dataset its images come from"
            )
        names = read_calibration_list(opts.calibration_list)
        calibration_batch = opts.calibration_batch_size or table.max_batch
        if calibration_batch > table.max_batch:
            raise CalibrationError(
                f"calibration batch size {calibration_batch} exceeds the largest profile "
                f"({table.max_batch}); lower it or add a larger batch size"
            )
        cache = CalibrationCache(
            opts.cache_dir / f"{model_path.stem}.calib",
            CacheProvenance(model_sha, list_sha256(names)),
            rebuild_mismatched=opts.recalibrate_mismatched,
        )
        return CalibrationSession(names, calibration_batch, opts.calibration_loader, cache)

    def _output_order(self, plan: BufferPlan) -> list[int]:
        outputs = [b.name for b in plan.bindings if not b.is_input]
        wanted = self.output_names
        if not wanted:
            return list(range(len(outputs)))
        missing = [n for n in wanted if n not in outputs]
        if missing:
            raise BackendError(f"the engine has no output(s) {missing}; its outputs are {outputs}")
        return [outputs.index(n) for n in wanted]

    def _require(self) -> _Loaded:
        if self._loaded is None:
            raise BackendError("the tensorrt backend has no engine yet; call load() first")
        return self._loaded

    def warmup(self, batch: np.ndarray) -> None:
        loaded = self._require()
        # Each slot owns its own contexts; run every one once so no first call pays for lazy setup.
        for _ in range(loaded.plan.streams):
            self.infer(batch)

    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        loaded = self._require()
        with loaded.pool.acquire() as slot:
            outputs = run_on_slot(loaded.runtime, slot, loaded.plan, loaded.table, batch)
        return [outputs[i] for i in loaded.output_order]

    def info(self) -> BackendInfo:
        loaded = self._require()
        return BackendInfo(
            backend="tensorrt",
            version=loaded.runtime.tensorrt_version(),
            device=f"cuda:{self.device_index} ({loaded.gpu.name}, sm {loaded.gpu.compute_capability})",
            precision=self.precision,
            details=dict(loaded.details),
        )

    def close(self) -> None:
        if self._loaded is not None:
            self._loaded.pool.release_all()
            self._loaded = None


def _calibrated_session(path: Path, model_sha: str) -> CalibrationSession:
    """A session over a given cache that serves no batches: a cache missing or made for other weights is refused."""
    if not path.is_file():
        raise CalibrationError(f"calibration cache {path} does not exist; make it with build.py calibrate")
    meta = path.with_name(path.name + ".json")
    try:
        list_sha = json.loads(meta.read_text())["calibration_list_sha256"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CalibrationError(
            f"{meta} is missing or unreadable ({error}); make the cache with build.py calibrate"
        ) from None
    cache = CalibrationCache(path, CacheProvenance(model_sha, str(list_sha)), rebuild_mismatched=False)

    def no_images(name: str) -> np.ndarray:
        raise CalibrationError(f"calibration cache {path} was not used, so TensorRT asked for image {name}")

    return CalibrationSession([], 1, no_images, cache)
