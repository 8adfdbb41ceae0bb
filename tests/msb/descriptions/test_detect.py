"""`build.py system detect`: parsers of the host tools' output, and a description that validation holds back
until its TODO fields are filled."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from msb.descriptions.detect import (
    Gpu,
    HostFacts,
    description,
    framework_from,
    parse_lscpu,
    parse_meminfo,
    parse_nvidia_smi,
    parse_os_release,
)
from msb.descriptions.rounds import load_round
from msb.descriptions.system import load_system_spec
from msb.errors import SpecError
from msb.project import Project

LSCPU = """Architecture:                            x86_64
CPU(s):                                  112
Model name:                              Intel(R) Xeon(R) Platinum 8480C
Thread(s) per core:                      1
Core(s) per socket:                      56
Socket(s):                               2
CPU max MHz:                             3800.0000
L1d cache:                               5.3 MiB (112 instances)
L2 cache:                                224 MiB (112 instances)
L3 cache:                                210 MiB (2 instances)
"""
MEMINFO = "MemTotal:       2113389612 kB\nMemFree:        2000000000 kB\n"
SMI = "NVIDIA H100 80GB HBM3, 81559, 580.65.06\nNVIDIA H100 80GB HBM3, 81559, 580.65.06\n"
OS_RELEASE = 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\n'


def facts() -> HostFacts:
    return HostFacts(parse_lscpu(LSCPU), parse_meminfo(MEMINFO), parse_nvidia_smi(SMI), parse_os_release(OS_RELEASE))


def test_parsers_read_the_tools_output() -> None:
    cpu = parse_lscpu(LSCPU)
    assert cpu["Model name"] == "Intel(R) Xeon(R) Platinum 8480C" and cpu["Socket(s)"] == "2"
    assert parse_meminfo(MEMINFO) == 2113389612
    assert parse_nvidia_smi(SMI) == (Gpu("NVIDIA H100 80GB HBM3", 81559, "580.65.06"),) * 2
    assert parse_os_release(OS_RELEASE) == "Ubuntu 22.04.4 LTS"


def test_nvidia_smi_with_header_and_units() -> None:
    text = "name, memory.total [MiB], driver_version\nNVIDIA A100-SXM4-40GB, 40960 MiB, 535.104.05\n"
    assert parse_nvidia_smi(text) == (Gpu("NVIDIA A100-SXM4-40GB", 40960, "535.104.05"),)


def test_framework_from_labels_and_pins() -> None:
    labels = {"io.mlperf-builder.backends": "onnxruntime", "io.mlperf-builder.versions.python": "3.11"}
    framework, stack = framework_from(labels, ["mlcommons-loadgen==5.1.2", "onnxruntime==1.32.0"])
    assert framework == "ONNX Runtime 1.32.0"
    assert stack == ["Python 3.11", "MLPerf LoadGen 5.1.2"]
    trt = {"io.mlperf-builder.backends": "tensorrt", "io.mlperf-builder.versions.tensorrt": "8.6.1.6"}
    assert framework_from(trt, [])[0] == "TensorRT 8.6.1.6"


def test_description_fills_what_the_host_tells(project: Project) -> None:
    text = description(facts(), load_round("v5.1"), "cpu", "ONNX Runtime 1.32.0", ["Python 3.11"])
    data = yaml.safe_load(text)
    sj = data["systems_json"]
    assert sj["host_processor_model_name"] == "Intel(R) Xeon(R) Platinum 8480C"
    assert (sj["host_processors_per_node"], sj["host_processor_core_count"]) == ("2", "56")
    assert sj["host_memory_capacity"] == "2015 GB"
    assert (sj["accelerators_per_node"], sj["accelerator_model_name"]) == ("2", "NVIDIA H100 80GB HBM3")
    assert sj["accelerator_memory_capacity"] == "80 GB"
    assert sj["other_software_stack"] == "Python 3.11, NVIDIA driver 580.65.06"
    assert sj["operating_system"] == "Ubuntu 22.04.4 LTS" and sj["framework"] == "ONNX Runtime 1.32.0"
    assert data["run"]["gpus"] == "all" and data["round"] == "v5.1"
    assert sj["cooling"].startswith("TODO")


def test_detected_description_is_refused_until_todos_are_filled(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "new.yaml"
    path.write_text(description(facts(), load_round("v5.1"), "cpu", "ONNX Runtime", []))
    with pytest.raises(SpecError, match="TODO"):
        load_system_spec(project, str(path))
    data = yaml.safe_load(path.read_text())
    data.update(name="h100_box", submitter="ACME", system_type="edge")
    data["systems_json"] = {k: ("filled" if str(v).startswith("TODO") else v) for k, v in data["systems_json"].items()}
    path.write_text(yaml.safe_dump(data))
    assert load_system_spec(project, str(path)).name == "h100_box"


def test_no_gpu_host_states_no_accelerator() -> None:
    host = HostFacts(parse_lscpu(LSCPU), parse_meminfo(MEMINFO), (), None)
    sj = yaml.safe_load(description(host, load_round("v5.1"), None, None, []))["systems_json"]
    assert sj["accelerators_per_node"] == "0" and sj["accelerator_model_name"] == "N/A"
