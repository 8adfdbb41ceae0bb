"""The grid of an exploration: batch sizes times thread counts, read from the command line. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from msb.errors import SpecError

MAX_POINTS = 64  # each point is a run of its own: a grid larger than this is more likely a typo than a plan


@dataclass(frozen=True)
class Point:
    """One setting to measure; threads None keeps the system description's."""

    batch_size: int
    threads: int | None = None

    @property
    def tag(self) -> str:
        """The point's name: its folder in the experiment and its row in the CSV (digits and letters only)."""
        return f"bs{self.batch_size}" + (f"-t{self.threads}" if self.threads is not None else "")


def parse_counts(option: str, text: str) -> tuple[int, ...]:
    """`1,8,32` as whole numbers of 1 or more, each once; an error naming the option and the bad item otherwise."""
    fix = f"give whole numbers of 1 or more separated by commas, e.g. {option} 1,8,32"
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise SpecError(f"{option} {text!r} has an empty item", fix)
    values = []
    for item in items:
        if not item.isdigit() or int(item) < 1:
            raise SpecError(f"{option} {text!r}: {item!r} is not a whole number of 1 or more", fix)
        if int(item) in values:
            raise SpecError(f"{option} {text!r} lists {int(item)} twice", "list each value once")
        values.append(int(item))
    return tuple(values)


def grid(batch_sizes: tuple[int, ...], threads: tuple[int, ...] | None) -> list[Point]:
    """Every batch size with every thread count (batch size first, in the order given)."""
    if not batch_sizes:
        raise SpecError("the grid has no batch size", "give --batch-sizes, e.g. --batch-sizes 1,8,32")
    points = [Point(b, t) for b in batch_sizes for t in (threads or (None,))]
    if len(points) > MAX_POINTS:
        raise SpecError(
            f"the grid has {len(points)} points ({len(batch_sizes)} batch sizes x {len(threads or (None,))} "
            f"thread counts); at most {MAX_POINTS} are run",
            "explore fewer values at once",
        )
    return points
