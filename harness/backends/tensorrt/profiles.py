"""Optimisation profiles (min/opt/max input shapes) from the configured batch sizes. Pure.

TensorRT lets one execution context use a profile at a time, so each stream gets its own copy of every
batch-size profile: profile index = slot * len(batch_sizes) + position of the batch size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ProfileError(ValueError):
    """Batch sizes or shapes that no profile can serve; the message names the value and the fix."""


@dataclass(frozen=True)
class ShapeProfile:
    """One optimisation profile for the (single) network input."""

    input_name: str
    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]

    def as_dict(self) -> dict[str, list[int]]:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}


def normalise_batch_sizes(batch_sizes: Sequence[int]) -> tuple[int, ...]:
    """Sorted unique positive batch sizes; raises ProfileError for an empty list or a non-positive size."""
    if not batch_sizes:
        raise ProfileError("no batch sizes given; pass at least one, e.g. --batch-size 1")
    for size in batch_sizes:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ProfileError(f"batch size {size!r} is not a positive integer")
    return tuple(sorted(set(batch_sizes)))


def profile_batch_sizes(configured: Sequence[int] | None, batch_size: int) -> tuple[int, ...]:
    """The profiles' batch sizes for a run of `batch_size`: that size alone unless `configured` (the backend option
    `batch_sizes`) names them, and then one of them must admit it (a profile runs any batch up to its size)."""
    if configured is None:
        return normalise_batch_sizes([batch_size])
    sizes = normalise_batch_sizes(configured)
    if batch_size > sizes[-1]:
        raise ProfileError(
            f"batch size {batch_size} is beyond the TensorRT profiles of backend_options.batch_sizes "
            f"{list(sizes)}; add {batch_size} to batch_sizes, or drop batch_sizes so the profile follows the batch size"
        )
    return sizes


@dataclass(frozen=True)
class ProfileTable:
    """The profiles an engine is built with and how a (slot, batch) pair maps onto one of them."""

    input_name: str
    sample_shape: tuple[int, ...]
    batch_sizes: tuple[int, ...]
    slots: int

    @classmethod
    def create(
        cls, input_name: str, sample_shape: Sequence[int], batch_sizes: Sequence[int], slots: int = 1
    ) -> ProfileTable:
        if not input_name:
            raise ProfileError("the network input has no name; the ONNX model must name its input")
        shape = tuple(sample_shape)
        if not shape or any(not isinstance(d, int) or d < 1 for d in shape):
            raise ProfileError(f"sample shape {shape!r} must be positive integers, e.g. (3, 224, 224)")
        if slots < 1:
            raise ProfileError(f"streams={slots} must be at least 1")
        return cls(input_name, shape, normalise_batch_sizes(batch_sizes), slots)

    def _per_batch(self) -> list[ShapeProfile]:
        # min=1 so any partial batch up to the profile's size runs; opt=max=the configured size, which is
        # what the kernels are tuned for (a padded-free partial batch is the uncommon case).
        profiles = []
        for size in self.batch_sizes:
            lower = (1, *self.sample_shape)
            upper = (size, *self.sample_shape)
            profiles.append(ShapeProfile(self.input_name, lower, upper, upper))
        return profiles

    def profiles(self) -> list[ShapeProfile]:
        """All profiles in engine order: every batch-size profile, repeated once per slot."""
        return self._per_batch() * self.slots

    @property
    def max_batch(self) -> int:
        return self.batch_sizes[-1]

    def index_for(self, slot: int, batch: int) -> int:
        """The profile to run `batch` samples on `slot`: the smallest configured size that holds the batch."""
        if not 0 <= slot < self.slots:
            raise ProfileError(f"slot {slot} is outside 0..{self.slots - 1}")
        if batch < 1:
            raise ProfileError(f"batch of {batch} samples; a batch holds at least one sample")
        for position, size in enumerate(self.batch_sizes):
            if batch <= size:
                return slot * len(self.batch_sizes) + position
        raise ProfileError(
            f"batch of {batch} samples exceeds the largest profile ({self.max_batch}); "
            f"rebuild the engine with a batch size of at least {batch}"
        )

    def describe(self) -> list[dict[str, list[int]]]:
        """The distinct profiles as JSON-ready data (for the engine key)."""
        return [p.as_dict() for p in self._per_batch()]
