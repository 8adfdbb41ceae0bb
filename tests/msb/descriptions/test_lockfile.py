"""Hash locks: round trip, staleness against the definition, malformed lines."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from msb.descriptions.image import image_names, load_image_spec
from msb.descriptions.lockfile import LockedWheel, parse_lock, read_lock, render_lock, wheel_from_file
from msb.descriptions.rounds import available_rounds, load_round
from msb.errors import LockError
from msb.project import Project


def test_lock_round_trip(project: Project, tmp_path: Path) -> None:
    spec = load_image_spec(project, "cpu")
    wheels = [LockedWheel("numpy", "2.4.6", "1" * 64), LockedWheel("pillow", "12.0.0", "2" * 64)]
    assert parse_lock(spec, render_lock(spec, wheels), tmp_path / "cpu.lock") == wheels


def test_committed_locks_match_their_definitions(project: Project) -> None:
    for name in ("cpu", "tensorrt-8.6.1"):
        names = {w.name for w in read_lock(load_image_spec(project, name))}
        assert "mlcommons-loadgen" in names and "numpy" in names


def test_lock_from_other_requirements_is_stale(project: Project, tmp_path: Path) -> None:
    spec = load_image_spec(project, "cpu")
    text = render_lock(spec, [LockedWheel("numpy", "2.4.6", "1" * 64)])
    changed = dataclasses.replace(spec, requirements=(*spec.requirements, "rich==13.0.0"))
    with pytest.raises(LockError) as err:
        parse_lock(changed, text, tmp_path / "cpu.lock")
    assert "build.py lock cpu" in err.value.fix


def test_malformed_line_is_named_by_number(project: Project, tmp_path: Path) -> None:
    spec = load_image_spec(project, "cpu")
    text = render_lock(spec, []) + "numpy>=2\n"
    with pytest.raises(LockError, match=r"cpu.lock:4"):
        parse_lock(spec, text, tmp_path / "cpu.lock")


def test_wheel_names_parse_with_and_without_build_tags(tmp_path: Path) -> None:
    for file_name, name, version in [
        (
            "mlcommons_loadgen-5.1.2-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
            "mlcommons-loadgen",
            "5.1.2",
        ),
        ("pkg-1.0-1build-py3-none-any.whl", "pkg", "1.0"),
    ]:
        path = tmp_path / file_name
        path.write_bytes(b"x")
        wheel = wheel_from_file(path)
        assert (wheel.name, wheel.version) == (name, version)


def test_every_image_locks_the_loadgen_its_round_pins(project: Project) -> None:
    """An image records its round; the round pins the LoadGen build whose built-in seeds the checker expects (the
    round's seeds are held against that build's conf in test_rounds*.py)."""
    cpu_images = [name for name in image_names(project) if name == "cpu" or name.startswith("cpu-")]
    assert cpu_images == ["cpu", "cpu-v5.0", "cpu-v5.1", "cpu-v6.0"]  # none left out of the check below
    for name in image_names(project):
        spec = load_image_spec(project, name)
        locked = {w.name: w.version for w in read_lock(spec)}
        pin = load_round(spec.round).loadgen
        assert f"mlcommons-loadgen=={locked['mlcommons-loadgen']}" == pin, name


def test_one_cpu_image_per_round_and_cpu_is_the_newest(project: Project) -> None:
    """`cpu` follows the current round; every other round keeps a `cpu-<round>` image, so each can still run."""
    rounds = {name: load_image_spec(project, name).round for name in image_names(project) if name.startswith("cpu")}
    assert sorted(rounds.values()) == sorted(available_rounds())
    newest = max(available_rounds(), key=lambda r: tuple(int(part) for part in r.removeprefix("v").split(".")))
    assert rounds.pop("cpu") == newest
    assert all(name == f"cpu-{round_name}" for name, round_name in rounds.items())
