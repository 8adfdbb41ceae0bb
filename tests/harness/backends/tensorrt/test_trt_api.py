"""trt_api.py itself (the real TensorRT and cuda-python calls) over stand-ins of the `tensorrt` and cuda-python modules
that pretend to be TensorRT 8.6 or 10.x (tests/support/tensorrt_fake_runtime.py): the whole backend runs through the
name-based tensor API both share; the 10.x stand-in lacks the binding-index API, and the 8.6 one records any use.

Then the names: every TensorRT name trt_api uses, and every name the stand-in offers, against the real Python bindings
of each TensorRT an image claims (hash-pinned wheels, tests/support/tensorrt_bindings.py; the `network` tests). That
checks spelling and presence per version, not behaviour, nor which class a name belongs to (see docs/TESTING.md)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper

from harness.backends.base import BackendError
from harness.backends.tensorrt import trt_api
from harness.backends.tensorrt.backend import TensorRTBackend
from harness.backends.tensorrt.interface import BuildRequest, NmsPluginLayer
from harness.backends.tensorrt.options import TensorRTOptions
from harness.backends.tensorrt.profiles import ProfileTable
from tests.support import tensorrt_bindings
from tests.support.tensorrt_bindings import Binding, BindingFetchError, fetch_wheel, read_binding, read_lock
from tests.support.tensorrt_fake_runtime import NOT_TENSORRT_NAMES, FakeTensorRTModule, fake_tensorrt
from tests.support.tensorrt_uses import Use, stand_in_names, tensorrt_uses

SAMPLE = (3, 4, 4)


def write_model(path: Path) -> Path:
    """A real ONNX file: input [N,3,4,4], outputs `twice` and `total`, as the stand-in engine computes them."""
    graph = helper.make_graph(
        [helper.make_node("Mul", ["input", "w"], ["twice"]), helper.make_node("ReduceSum", ["input"], ["total"])],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *SAMPLE])],
        [
            helper.make_tensor_value_info("twice", TensorProto.FLOAT16, ["N", *SAMPLE]),
            helper.make_tensor_value_info("total", TensorProto.FLOAT, ["N", 1]),
        ],
        [helper.make_tensor("w", TensorProto.FLOAT, [1], [2.0])],
    )
    onnx.save(helper.make_model(graph), str(path))
    return path


def backend_over(module: FakeTensorRTModule, cudart: object, tmp_path: Path, **options: object) -> TensorRTBackend:
    opts = TensorRTOptions(cache_dir=tmp_path / "engines", **options)  # type: ignore[arg-type]
    return TensorRTBackend(
        benchmark="resnet50",
        precision="fp16",
        output_names=("twice", "total"),
        options=opts,
        runtime_factory=lambda index: trt_api._RealTrtRuntime(module, cudart, index),
    )


def test_the_backend_runs_through_trt_api_on_the_shared_name_based_api(tmp_path: Path, trt_version: str) -> None:
    module, cudart = fake_tensorrt(trt_version)
    backend = backend_over(module, cudart, tmp_path, batch_sizes=(1, 8), streams=2)
    backend.load(write_model(tmp_path / "m.onnx"))
    for count in (8, 3):
        x = np.arange(count * 48, dtype=np.float32).reshape(count, *SAMPLE)
        twice, total = backend.infer(x)
        np.testing.assert_allclose(twice, 2 * x, rtol=1e-3)
        np.testing.assert_allclose(total[:, 0], x.reshape(count, -1).sum(axis=1))
    assert backend.info().details["engine_key.tensorrt_version"] == trt_version
    backend.close()
    assert module.deprecated_calls == []  # no binding-index call on 8.6 either
    assert module.workspace_limits  # memory pool limits, not max_workspace_size


def test_network_flags_follow_the_major_version(tmp_path: Path, trt_version: str) -> None:
    module, cudart = fake_tensorrt(trt_version)
    backend_over(module, cudart, tmp_path, batch_sizes=(1,)).load(write_model(tmp_path / "m.onnx"))
    # 8.6 asks for explicit batch; in 10 it is the only mode and the flag is deprecated.
    assert module.network_flags == ([1] if trt_version.startswith("8.") else [0])


def test_the_10x_stand_in_lacks_the_binding_index_api(tmp_path: Path) -> None:
    module, cudart = fake_tensorrt("10.14.1")
    runtime = trt_api._RealTrtRuntime(module, cudart, 0)
    engine = runtime.deserialize(_built(runtime, tmp_path))
    raw = engine._engine  # type: ignore[attr-defined]
    context = raw.create_execution_context()
    for obj, name in [(raw, "get_binding_shape"), (raw, "num_bindings"), (context, "execute_async_v2")]:
        with pytest.raises(AttributeError):
            getattr(obj, name)
    config = module.Builder(None).create_builder_config()
    with pytest.raises(AttributeError):
        config.max_workspace_size = 1 << 30


def test_nms_plugin_creator_is_looked_up_by_each_versions_own_call(tmp_path: Path, trt_version: str) -> None:
    module, cudart = fake_tensorrt(trt_version)
    runtime = trt_api._RealTrtRuntime(module, cudart, 0)
    nms = NmsPluginLayer("twice", "total", {"max_output_boxes": 100, "iou_threshold": 0.5})
    table = ProfileTable.create("input", SAMPLE, [1])
    request = BuildRequest(write_model(tmp_path / "m.onnx"), "fp16", table.profiles(), 1 << 20, nms=nms)
    engine = runtime.deserialize(runtime.build_engine(request))
    names = [b.name for b in engine.bindings()]
    assert names[1:] == ["num_detections", "detection_boxes", "detection_scores", "detection_classes"]
    assert module.deprecated_calls == []  # 10 uses get_creator, not the deprecated get_plugin_creator


def test_int8_calibration_runs_on_both_and_is_refused_where_tensorrt_lacks_it(tmp_path: Path, trt_version: str) -> None:
    module, cudart = fake_tensorrt(trt_version)
    runtime = trt_api._RealTrtRuntime(module, cudart, 0)
    source = _Source()
    runtime.deserialize(_built(runtime, tmp_path, "int8", source))
    assert module.calibration_batches == 2 and source.cache is not None
    del module.IInt8EntropyCalibrator2  # as TensorRT 11 will be: implicit INT8 calibration removed
    with pytest.raises(BackendError, match="no implicit INT8 calibration"):
        _built(runtime, tmp_path, "int8", _Source())


def test_an_engine_of_another_tensorrt_does_not_deserialize(tmp_path: Path) -> None:
    old, old_cudart = fake_tensorrt("8.6.1")
    data = _built(trt_api._RealTrtRuntime(old, old_cudart, 0), tmp_path)
    new, new_cudart = fake_tensorrt("10.14.1")
    with pytest.raises(BackendError, match="another TensorRT version"):
        trt_api._RealTrtRuntime(new, new_cudart, 0).deserialize(data)


@pytest.mark.parametrize("version", ["8.5.3", "9.3.0", "11.1.0", "x"])
def test_unsupported_tensorrt_versions_are_refused(version: str) -> None:
    module, cudart = fake_tensorrt("10.14.1")
    module.__version__ = version
    with pytest.raises(BackendError, match=r"not supported|unreadable"):
        trt_api._RealTrtRuntime(module, cudart, 0)


class _Source:
    batch_size = 2

    def __init__(self) -> None:
        self.batches = [np.ones((2, *SAMPLE), np.float32), np.zeros((2, *SAMPLE), np.float32)]
        self.cache: bytes | None = None

    def next_batch(self) -> np.ndarray | None:
        return self.batches.pop() if self.batches else None

    def read_cache(self) -> bytes | None:
        return self.cache

    def write_cache(self, data: bytes) -> None:
        self.cache = data


def _built(runtime: trt_api._RealTrtRuntime, tmp_path: Path, precision: str = "fp16", source: object = None) -> bytes:
    profiles = ProfileTable.create("input", SAMPLE, [2]).profiles()
    model = write_model(tmp_path / "m.onnx")
    return runtime.build_engine(BuildRequest(model, precision, profiles, 1 << 20, calibration=source))  # type: ignore[arg-type]


# --- The names, against TensorRT's real Python bindings -------------------------------------------------------------

ROOT = tensorrt_bindings.ROOT
TENSORRT_CODE = [
    *sorted((ROOT / "harness/backends/tensorrt").glob("*.py")),
    ROOT / "harness/calibrate/tensorrt_cache.py",
]
STAND_IN = ROOT / "tests/support/tensorrt_fake_runtime.py"


def claimed_tensorrt() -> dict[str, str]:
    """image name -> the TensorRT version it claims, for every image that runs the tensorrt backend."""
    claimed = {}
    for path in sorted((ROOT / "images").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())
        if "tensorrt" in spec.get("backends", []):
            claimed[spec["name"]] = str(spec["versions"]["tensorrt"])
    return claimed


def majors() -> frozenset[int]:
    return frozenset(int(version.split(".")[0]) for version in claimed_tensorrt().values())


@pytest.fixture(scope="module")
def real_bindings() -> dict[int, Binding]:
    """TensorRT major -> its real binding's names. Without network or cache this fails, unless MSB_SKIP_NETWORK=1."""
    try:
        wheels = [(w, fetch_wheel(w)) for w in read_lock()]
    except BindingFetchError as exc:
        if os.environ.get(tensorrt_bindings.SKIP_VARIABLE) == "1":
            pytest.skip(f"{exc} ({tensorrt_bindings.SKIP_VARIABLE}=1)")
        pytest.fail(str(exc))
    return {int(w.version.split(".")[0]): read_binding(path, w.version) for w, path in wheels}


def missing(uses: list[Use], bindings: dict[int, Binding]) -> list[str]:
    return sorted(
        f"{use.where} {use.kind} {use.name!r}: not in TensorRT {bindings[major].version}'s bindings"
        for use in uses
        for major in sorted(use.majors)
        if not bindings[major].has(use.name)
    )


def test_each_tensorrt_image_has_a_locked_binding_wheel_of_its_version() -> None:
    locked = {wheel.image: wheel for wheel in read_lock()}
    assert set(locked) == set(claimed_tensorrt()), "one binding wheel per tensorrt image in tensorrt_bindings.yaml"
    for image, version in claimed_tensorrt().items():
        wheel_release = locked[image].version.split(".post")[0].split(".")
        assert version.split(".")[: len(wheel_release)] == wheel_release, f"{image} claims {version}"
        spec = yaml.safe_load((ROOT / "images" / f"{image}.yaml").read_text())
        assert locked[image].python == spec["python"]["version"], f"{image}'s wheel is for another Python"


@pytest.mark.network
def test_trt_api_uses_only_names_each_claimed_tensorrt_defines(real_bindings: dict[int, Binding]) -> None:
    # A name of one version only passes only behind that version's gate: ungated, it is checked in both.
    uses = [use for path in TENSORRT_CODE for use in tensorrt_uses(path, majors())]
    assert {use.where.split(":")[0] for use in uses} == {"trt_api.py"}, "TensorRT is used in trt_api.py alone"
    assert missing(uses, real_bindings) == []
    found = {(use.name, use.majors) for use in uses}
    both, ten, eight = frozenset({8, 10}), frozenset({10}), frozenset({8})
    # The rule found the calls it must (so an empty or broken analysis cannot pass), gates included.
    assert {("execute_async_v3", both), ("set_tensor_address", both), ("get_batch", both)} <= found
    assert {("get_creator", ten), ("get_plugin_creator", eight), ("EXPLICIT_BATCH", eight)} <= found


@pytest.mark.network
def test_keyword_arguments_to_tensorrt_are_documented_argument_names(real_bindings: dict[int, Binding]) -> None:
    # The .so does not say which method a docstring belongs to, so a keyword must be some method's `:arg NAME:`.
    keywords = [use for path in TENSORRT_CODE for use in tensorrt_uses(path, majors()) if use.kind == "keyword"]
    wrong = [
        f"{use.where} {use.method}({use.name}=...): no `:arg {use.name}:` in TensorRT {real_bindings[m].version}"
        for use in keywords
        for m in sorted(use.majors)
        if use.name not in real_bindings[m].arg_names
    ]
    assert wrong == []
    assert {"name", "profile_index"} <= real_bindings[10].arg_names  # the docstrings were read


@pytest.mark.network
def test_the_stand_in_offers_only_names_each_claimed_tensorrt_defines(real_bindings: dict[int, Binding]) -> None:
    offered = [use for use in stand_in_names(STAND_IN, majors()) if use.name not in NOT_TENSORRT_NAMES]
    assert missing(offered, real_bindings) == []
    assert {("max_workspace_size", frozenset({8})), ("get_creator", frozenset({10}))} <= {
        (use.name, use.majors) for use in offered
    }


def test_a_name_of_one_version_is_flagged_outside_its_gate(tmp_path: Path) -> None:
    source = tmp_path / "api.py"
    source.write_text(
        "def creator(trt, major):\n"
        "    registry = trt.get_plugin_registry()\n"
        "    if major >= 10:\n"
        "        return registry.get_creator('x', '1', '')\n"
        "    registry.get_plugin_creator('x', '1')\n"
        "    return registry.get_creator('x', '1', '')\n"
    )
    eight = Binding("8.6.1", frozenset({"get_plugin_registry", "get_plugin_creator"}), frozenset())
    ten = Binding("10.14.1", frozenset({"get_plugin_registry", "get_creator"}), frozenset())
    flagged = missing(tensorrt_uses(source, frozenset({8, 10})), {8: eight, 10: ten})
    assert flagged == ["api.py:6 attribute 'get_creator': not in TensorRT 8.6.1's bindings"]


def test_a_cached_wheel_with_another_hash_fails_naming_the_file(tmp_path: Path) -> None:
    wheel = read_lock()[0]
    (tmp_path / wheel.file).write_bytes(b"not the wheel")
    with pytest.raises(BindingFetchError, match=wheel.file.replace(".", r"\.") + r" \(cached in"):
        fetch_wheel(wheel, tmp_path)


def test_without_network_or_cache_the_fetch_fails_saying_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    with pytest.raises(BindingFetchError, match=r"(?s)could not download .*MSB_SKIP_NETWORK=1") as caught:
        fetch_wheel(read_lock()[0], tmp_path / "cache")
    assert "CI has it" in str(caught.value)
