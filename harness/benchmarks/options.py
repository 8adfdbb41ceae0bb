"""The options benchmarks take, kept apart from the benchmarks so the registry reads and checks them without
importing a benchmark's dependencies (numpy, pycocotools, ...): a mistyped option is refused the same way
everywhere, before any image is decoded.

A benchmark's options are the fields of a frozen dataclass; each checks its own values, and a field whose values
are a fixed set states them in its metadata (`values`), for --help.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Padding = Literal["square", "minimal"]
PADDINGS: tuple[Padding, ...] = ("square", "minimal")


class BenchmarkOptionError(ValueError):
    """A benchmark option the benchmark does not take, or a value it cannot honour; the message names the fix."""


@dataclass(frozen=True)
class YoloOptions:
    """yolo-95, yolo-99. `padding`: the letterbox to 640 (harness/benchmarks/yolo.py says what each costs).

    square (default): every image padded to 640x640, one input shape, so samples batch.
    minimal: padded only to the next multiple of 32, as the reference's PyTorch predict does; the input size
    varies per image, so it needs batch size 1 and a model with dynamic height and width.
    """

    padding: Padding = field(default="square", metadata={"values": PADDINGS})

    def __post_init__(self) -> None:
        if self.padding not in PADDINGS:
            raise BenchmarkOptionError(
                f"benchmark option padding={self.padding!r} is not one of: {', '.join(PADDINGS)}; use square "
                "(one 640x640 input shape, batches) or minimal (the reference's letterbox, batch size 1)"
            )
