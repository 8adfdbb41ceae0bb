"""TensorRT plugin libraries (.so) given with --plugin, loaded before an engine is built or deserialized.

Loading a library runs its static registrars, which add its plugin creators to TensorRT's registry; the
handles are kept by the caller so the libraries stay loaded as long as the engine.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.backends.base import BackendError
from harness.backends.tensorrt.hashing import file_sha256


class PluginError(BackendError):
    """A plugin library is missing or cannot be loaded."""


@dataclass(frozen=True)
class LoadedPlugin:
    path: Path
    sha256: str
    handle: object


def global_loader(path: str) -> object:
    """dlopen with RTLD_GLOBAL so a later plugin library can resolve symbols from an earlier one."""
    return ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)


def load_plugins(paths: Sequence[Path], loader: Callable[[str], object] = global_loader) -> list[LoadedPlugin]:
    """Load each library in order (later ones may use earlier ones); errors name the file and the fix."""
    loaded = []
    for path in paths:
        if not path.is_file():
            raise PluginError(f"plugin library {path} does not exist; pass a built .so with --plugin")
        try:
            handle = loader(str(path.resolve()))
        except OSError as exc:
            raise PluginError(
                f"plugin library {path} could not be loaded ({exc}); check it was built for this "
                "TensorRT and CUDA version and that its dependencies are on LD_LIBRARY_PATH"
            ) from exc
        loaded.append(LoadedPlugin(path, file_sha256(path), handle))
    return loaded
