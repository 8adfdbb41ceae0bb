"""explore's grid: batch sizes times thread counts from the command line, each bad item named."""

from __future__ import annotations

import pytest

from msb.errors import SpecError
from msb.explore.grid import MAX_POINTS, Point, grid, parse_counts


def test_counts_are_read_in_the_order_given() -> None:
    assert parse_counts("--batch-sizes", "1,8, 32,128,256") == (1, 8, 32, 128, 256)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("1,x", "'x' is not a whole number"),
        ("1,0", "'0' is not a whole number of 1 or more"),
        ("-4", "'-4' is not a whole number"),
        ("2.5", "'2.5' is not a whole number"),
        ("", "has an empty item"),
        ("8,,16", "has an empty item"),
        ("8,16,8", "lists 8 twice"),
    ],
)
def test_bad_counts_are_named_with_the_option(text: str, named: str) -> None:
    with pytest.raises(SpecError, match=named) as error:
        parse_counts("--batch-sizes", text)
    assert error.value.message.startswith("--batch-sizes") and error.value.fix


def test_grid_is_every_batch_size_with_every_thread_count() -> None:
    points = grid((1, 8), (2, 4))
    assert points == [Point(1, 2), Point(1, 4), Point(8, 2), Point(8, 4)]
    assert [p.tag for p in points] == ["bs1-t2", "bs1-t4", "bs8-t2", "bs8-t4"]


def test_without_threads_the_points_keep_the_descriptions() -> None:
    assert grid((32, 1), None) == [Point(32), Point(1)]
    assert Point(32).tag == "bs32"


def test_an_empty_or_oversized_grid_is_refused() -> None:
    with pytest.raises(SpecError, match="no batch size"):
        grid((), None)
    with pytest.raises(SpecError, match=f"at most {MAX_POINTS}"):
        grid(tuple(range(1, 17)), tuple(range(1, 6)))
