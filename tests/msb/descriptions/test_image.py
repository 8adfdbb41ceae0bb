"""Image definitions (msb/descriptions/image.py): strict loading with errors that name the input and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from msb.descriptions.image import load_image_spec, parse_image_spec
from msb.descriptions.system import RunOptions
from msb.errors import SpecError
from msb.project import Project


def test_unknown_image_lists_the_valid_ones(project: Project) -> None:
    with pytest.raises(SpecError) as err:
        load_image_spec(project, "cpux")
    assert "cpux" in err.value.message
    assert "cpu, cpu-v5.0, cpu-v5.1, cpu-v6.0, pytorch-cuda, tensorrt-10, tensorrt-8.6.1" in err.value.fix


def test_misspelt_field_in_an_image_definition_is_named(project: Project, tmp_path: Path) -> None:
    data = yaml.safe_load((project.images / "cpu.yaml").read_text())
    data["requirments"] = data.pop("requirements")
    with pytest.raises(SpecError) as err:
        parse_image_spec(data, tmp_path / "cpu.yaml")
    assert "requirements" in err.value.message  # the missing one
    data["requirements"] = []
    with pytest.raises(SpecError) as err:
        parse_image_spec(data, tmp_path / "cpu.yaml")
    assert "requirments" in err.value.message  # the unknown one


@pytest.mark.parametrize(
    ("name", "tensorrt", "cuda", "round_name"),
    [("tensorrt-8.6.1", "8.6.1", "12.", "v5.1"), ("tensorrt-10", "10.14.", "13.", "v6.1")],
)
def test_tensorrt_definitions_record_their_versions(
    project: Project, name: str, tensorrt: str, cuda: str, round_name: str
) -> None:
    spec = load_image_spec(project, name)
    assert spec.versions["tensorrt"].startswith(tensorrt)
    assert spec.versions["cuda"].startswith(cuda)
    assert {"cudnn", "ubuntu", "python"} <= set(spec.versions)
    assert spec.versions["python"] == spec.python.version
    assert (spec.round, spec.gid) == (round_name, 1500)


def test_tensorrt_10_locks_cuda_python_for_cuda_13_and_the_v61_loadgen(project: Project) -> None:
    requirements = load_image_spec(project, "tensorrt-10").requirements
    assert "cuda-python==13.0.3" in requirements and "mlcommons-loadgen==6.0.17" in requirements
    assert any(r.startswith("numpy==2.") for r in requirements)


def test_image_user_defaults_to_the_uid_used_when_root_invokes_the_tool(project: Project, tmp_path: Path) -> None:
    assert load_image_spec(project, "cpu").uid == RunOptions().uid_when_root == 15000
    data = yaml.safe_load((project.images / "cpu.yaml").read_text())
    assert parse_image_spec({**data, "uid": 2000}, tmp_path / "cpu.yaml").uid == 2000


def test_image_user_cannot_be_root(project: Project, tmp_path: Path) -> None:
    data = yaml.safe_load((project.images / "cpu.yaml").read_text())
    with pytest.raises(SpecError, match="uid: 0 would run the image as root"):
        parse_image_spec({**data, "uid": 0}, tmp_path / "cpu.yaml")
