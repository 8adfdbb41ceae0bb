"""Test support: the engine and TensorRT stand-ins, TensorRT's real binding names, a submission tree made by real
LoadGen runs, and REPO."""

from __future__ import annotations

from pathlib import Path

# The repository's root, whatever folder a test module sits in.
REPO = Path(__file__).resolve().parents[2]
