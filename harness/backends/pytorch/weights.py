"""What `--model` names for the PyTorch backend: a state_dict file, or a JSON spec asking for random weights.

A spec file makes random weights an explicit, recorded choice (never a silent stand-in for missing weights):
  {"architecture": "resnet50", "weights": null, "seed": 0}    random weights, for speed runs only
  {"architecture": "retinanet", "weights": "retinanet.pth"}   a state_dict, path relative to the spec
The architecture is the benchmark's, except that yolo-95 and yolo-99 both run "yolo11l".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from harness.backends.base import BackendError
from harness.backends.pytorch.models import ARCHITECTURES


@dataclass(frozen=True)
class ModelSpec:
    architecture: str | None  # None: decided by the benchmark
    weights: Path | None  # None: random weights
    seed: int = 0


def read_model_spec(path: Path) -> ModelSpec:
    """A .json spec is parsed; any other file is taken as a state_dict for the benchmark's architecture."""
    if not path.is_file():
        raise BackendError(f"model file {path} does not exist; pass a state_dict (.pth) or a JSON model spec")
    if path.suffix != ".json":
        return ModelSpec(None, path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BackendError(f"model spec {path} is not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or "weights" not in data:
        raise BackendError(f'model spec {path} needs a "weights" entry (a state_dict path, or null for random)')
    architecture = data.get("architecture")
    if architecture is not None and architecture not in ARCHITECTURES:
        raise BackendError(f"model spec {path}: architecture {architecture!r} is not one of {sorted(ARCHITECTURES)}")
    weights = data["weights"]
    seed = data.get("seed", 0)
    if not isinstance(seed, int):
        raise BackendError(f"model spec {path}: seed {seed!r} must be an integer")
    return ModelSpec(architecture, None if weights is None else (path.parent / weights), seed)


def load_state_dict(model: nn.Module, path: Path) -> None:
    """Load a (possibly wrapped) state_dict with strict key and shape checks; errors list what differs."""
    if not path.is_file():
        raise BackendError(f"weights file {path} does not exist; pass the path of a PyTorch state_dict")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a corrupt or non-torch file
        raise BackendError(f"weights file {path} is not a PyTorch state_dict ({exc})") from exc
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BackendError(f"weights file {path} does not hold a state_dict of tensors")
    # DataParallel's prefix and BatchNorm's step counter carry no inference information.
    state = {k.removeprefix("module."): v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        parts = [
            f"{label} {len(keys)} (e.g. {', '.join(keys[:3])})"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
            if keys
        ]
        raise BackendError(
            f"weights file {path} does not fit the {type(model).__name__} architecture: {'; '.join(parts)}; "
            "export the weights in the layout this backend builds (torchvision/MLPerf names; for yolo11l the "
            "state_dict of yolo11l.pt, see harness/backends/pytorch/yolo11.py)"
        )
    model.load_state_dict(state, strict=True)
