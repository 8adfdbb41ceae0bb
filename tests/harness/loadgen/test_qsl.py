"""The sample library (harness/loadgen/qsl.py): the slot store and the host library."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.loadgen.qsl import SampleLibrary, SlotMap


def test_slot_map_reuses_freed_slots_and_names_samples_never_loaded() -> None:
    slots = SlotMap(total=10)
    new, assigned = slots.assign([4, 2, 4, 7])
    assert new.tolist() == [2, 4, 7] and assigned.tolist() == [0, 1, 2] and slots.capacity == 3
    slots.release([4])
    new, assigned = slots.assign([9, 2])  # 2 is loaded already; 9 takes 4's freed slot
    assert new.tolist() == [9] and assigned.tolist() == [1] and slots.capacity == 3
    assert slots.slots([7, 9, 2]).tolist() == [2, 1, 0]
    with pytest.raises(KeyError, match=r"samples \[4\] were not loaded"):
        slots.slots([4])


def _entries(tmp_path: Path, arrays: list[np.ndarray]) -> list[Path]:
    paths = []
    for number, array in enumerate(arrays):
        path = tmp_path / f"{number}.npy"
        np.save(path, array)
        paths.append(path)
    return paths


def test_host_library_gathers_by_index_and_hands_out_one_sample_without_a_copy(tmp_path: Path) -> None:
    arrays = [np.full((2, 3), n, dtype=np.float32) for n in range(6)]
    library = SampleLibrary(_entries(tmp_path, arrays), performance_count=6)
    library.load([5, 1, 3])
    out = library.batch_buffer(4)
    batch = library.batch([3, 5, 1], out)
    np.testing.assert_array_equal(batch, np.stack([arrays[3], arrays[5], arrays[1]]))
    assert np.shares_memory(batch, out)
    one = library.batch([5])
    np.testing.assert_array_equal(one, arrays[5][None])
    assert np.shares_memory(one, library.batch([5]))  # a view of the store both times, not a new copy
    library.unload([5])
    library.load([0])  # takes 5's slot
    np.testing.assert_array_equal(library.batch([0, 3]), np.stack([arrays[0], arrays[3]]))


def test_host_library_keeps_samples_of_differing_shapes(tmp_path: Path) -> None:
    arrays = [np.zeros((3, 32, 64), np.float32), np.ones((3, 64, 32), np.float32)]  # YOLO's minimal padding
    library = SampleLibrary(_entries(tmp_path, arrays), performance_count=2)
    library.load([0, 1])
    np.testing.assert_array_equal(library.batch([1]), arrays[1][None])
