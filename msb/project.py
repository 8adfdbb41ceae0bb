"""Where the project's data folders are. Passed explicitly so tests can point at a copy of the tree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    @property
    def systems(self) -> Path:
        return self.root / "systems"

    @property
    def rounds(self) -> Path:
        return self.root / "rounds"

    @property
    def calibration_lists(self) -> Path:
        """MLPerf's calibration lists and the calibration defaults per benchmark (lists.yaml)."""
        return self.root / "data" / "calibration"

    @property
    def harness(self) -> Path:
        return self.root / "harness"

    @property
    def wheel_cache(self) -> Path:
        """Wheels downloaded on the host for hermetic builds (containers can't verify TLS to the index)."""
        return self.root / ".cache" / "wheels"

    @classmethod
    def from_here(cls) -> Project:
        return cls(Path(__file__).resolve().parent.parent)
