"""The backend registry: options are checked against each backend's declaration before its runtime is imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from harness.backends.base import BackendError
from harness.backends.registry import BACKENDS, backend_options, get_backend
from tests.support import REPO


def _get(name: str, options: dict[str, object]) -> object:
    return get_backend(
        name,
        benchmark="resnet50",
        device="cpu",
        precision="fp32",
        threads=None,
        output_names=("ArgMax:0",),
        options=options,
    )


def test_each_backend_declares_its_options() -> None:
    assert backend_options("onnxruntime") == ()
    assert backend_options("pytorch") == (
        "channels_last", "cuda_graphs", "compile_mode", "resident", "streams", "workers_per_device",
        "max_batch_wait_ms", "batch_sizes",
    )  # fmt: skip
    tensorrt = backend_options("tensorrt")
    assert {"batch_sizes", "streams", "engine", "plugins", "cache_dir", "nms"} <= set(tensorrt)
    # The benchmark and its outputs are arguments every backend gets, not options a user could set.
    assert not {"benchmark", "output_names"} & set(tensorrt)


@pytest.mark.parametrize("name", BACKENDS)
def test_an_unknown_option_is_refused_with_the_declared_ones_named(name: str) -> None:
    takes = ", ".join(backend_options(name)) or "none"
    expected = f"the {name} backend has no option 'foo'; it takes: {takes}; drop backend option foo"
    with pytest.raises(BackendError) as refused:
        _get(name, {"foo": 1})
    assert str(refused.value) == expected


def test_several_unknown_options_are_all_named() -> None:
    with pytest.raises(BackendError, match=r"has no options 'batch', 'foo'; .*; drop backend options batch, foo$"):
        _get("pytorch", {"foo": 1, "batch": 4, "compile_mode": "default"})


def test_the_refusal_comes_before_the_runtime_is_imported() -> None:
    # A fresh interpreter where torch, onnxruntime and tensorrt cannot be imported (None in sys.modules makes
    # `import` raise), as on an image that lacks them: the declaration alone must refuse the unknown option.
    script = textwrap.dedent(
        """
        import sys
        for runtime in ("torch", "onnxruntime", "tensorrt"):
            sys.modules[runtime] = None
        from harness.backends.base import BackendError
        from harness.backends.registry import BACKENDS, get_backend

        common = dict(benchmark="resnet50", device="cpu", precision="fp32", threads=None, output_names=())
        for name in BACKENDS:
            try:
                get_backend(name, **common, options={"foo": 1})
            except BackendError as error:
                assert "has no option 'foo'" in str(error), error
            else:
                raise AssertionError(f"{name} took option foo")
        loaded = sorted(m for m in sys.modules if m.endswith(".backend") or m == "harness.backends.onnxruntime")
        assert not loaded, loaded
        try:  # the stand-in holds: a valid call does reach the (blocked) runtime
            get_backend("pytorch", **common, options={})
        except ImportError:
            print("refused before import")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "refused before import"
