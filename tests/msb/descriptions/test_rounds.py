"""Round profiles: the facts each round pins, and the loader's refusals."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from harness.contract.layout import V5, V6, layout_of_round
from msb.descriptions.rounds import ROUNDS_DIR, available_rounds, load_round
from msb.errors import SpecError

REFERENCE = Path("/work/shared/mlperf-reference-data")


def test_both_rounds_load() -> None:
    assert {"v5.0", "v5.1"} <= set(available_rounds())
    for name in ("v5.0", "v5.1"):
        assert load_round(name).name == name


def test_loadgen_pins() -> None:
    assert load_round("v5.1").loadgen == "mlcommons-loadgen==5.1.2"
    # 5.0.25 already carries the v5.1 seeds; a v5.0 image must never get it.
    assert load_round("v5.0").loadgen == "mlcommons-loadgen==5.0.21"


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="round reference data not mounted")
@pytest.mark.parametrize("name", ["v5.0", "v5.1"])
def test_seeds_equal_the_loadgen_built_in_conf(name: str) -> None:
    conf = (REFERENCE / name / "loadgen-builtin-mlperf.conf").read_text()
    built_in = {k: int(v) for k, v in re.findall(r"^\*\.\*\.(\w+_rng_seed) = (\d+)$", conf, re.MULTILINE)}
    assert load_round(name).seeds.as_dict() == {k: built_in[k] for k in load_round(name).seeds.as_dict()}


def test_v51_scenarios_per_system_type() -> None:
    profile = load_round("v5.1")
    resnet, retinanet = profile.models["resnet50"], profile.models["retinanet"]
    assert resnet.scenarios_for("datacenter") is None
    assert resnet.scenarios_for("edge") == ("SingleStream", "MultiStream", "Offline")
    assert retinanet.scenarios_for("datacenter") == ("Server", "Offline")
    assert retinanet.scenarios_for("edge") == ("SingleStream", "MultiStream", "Offline")
    assert set(resnet.scenarios_for("edge,datacenter") or ()) == {"SingleStream", "MultiStream", "Offline", "Server"}


def test_v50_resnet_is_a_datacenter_benchmark() -> None:
    assert load_round("v5.0").models["resnet50"].scenarios_for("datacenter") == ("Server", "Offline")


def test_compliance_tests_and_accuracy_targets() -> None:
    profile = load_round("v5.1")
    resnet, retinanet = profile.models["resnet50"], profile.models["retinanet"]
    assert resnet.compliance_tests == ("TEST01", "TEST04")
    assert retinanet.compliance_tests == ("TEST01",)
    assert resnet.accuracy.target == pytest.approx(75.6954)
    assert retinanet.accuracy.target == pytest.approx(37.1745)
    assert re.search(resnet.accuracy.pattern, "accuracy=76.456%, good=38228, total=50000")
    assert re.search(retinanet.accuracy.pattern, "mAP=37.572%")


def test_unknown_round_lists_the_valid_ones() -> None:
    with pytest.raises(SpecError) as caught:
        load_round("v4.0")
    assert "unknown MLPerf round 'v4.0'" in str(caught.value)
    assert "v5.0, v5.1" in caught.value.fix


def write_variant(tmp_path: Path, change: dict) -> Path:
    data = yaml.safe_load((ROUNDS_DIR / "v5.1.yaml").read_text())
    data.update(change)
    (tmp_path / "v5.1.yaml").write_text(yaml.safe_dump(data))
    return tmp_path


def test_misspelt_key_is_an_error(tmp_path: Path) -> None:
    shutil.copy(ROUNDS_DIR / "v5.1.yaml", tmp_path / "v5.1.yaml")
    text = (tmp_path / "v5.1.yaml").read_text().replace("min_duration_ms:", "min_duration:")
    (tmp_path / "v5.1.yaml").write_text(text)
    with pytest.raises(SpecError, match="min_duration_ms"):
        load_round("v5.1", tmp_path)


def test_boolean_count_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="min_duration_ms: expected a whole number, got true"):
        load_round("v5.1", write_variant(tmp_path, {"min_duration_ms": True}))


def test_unknown_scenario_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="unknown scenario"):
        load_round("v5.1", write_variant(tmp_path, {"early_stopping_scenarios": ["Serverr"]}))


def test_model_outside_the_round_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not in valid_models"):
        load_round("v5.1", write_variant(tmp_path, {"valid_models": ["retinanet"]}))


V6_ROUNDS = ("v6.0", "v6.1")


EDGE = ("SingleStream", "MultiStream", "Offline")


def test_v6_rounds_load_with_the_v6_layout() -> None:
    assert set(V6_ROUNDS) <= set(available_rounds())
    for name in V6_ROUNDS:
        assert load_round(name).layout == V6


def test_every_round_file_agrees_with_the_harness_on_its_layout() -> None:
    # The harness derives the layout from the round's name; the profile states it: they must never drift apart.
    for name in available_rounds():
        assert load_round(name).layout == layout_of_round(name), name
    assert load_round("v5.1").layout == V5


def test_loadgen_pins_v6() -> None:
    assert load_round("v6.0").loadgen == "mlcommons-loadgen==6.0.15"
    assert load_round("v6.1").loadgen == "mlcommons-loadgen==6.0.17"


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="round reference data not mounted")
@pytest.mark.parametrize("name", V6_ROUNDS)
def test_seeds_equal_the_loadgen_built_in_conf_v6(name: str) -> None:
    conf = (REFERENCE / name / "loadgen-builtin-mlperf.conf").read_text()
    built_in = {k: int(v) for k, v in re.findall(r"^\*\.\*\.(\w+_rng_seed) = (\d+)$", conf, re.MULTILINE)}
    seeds = load_round(name).seeds.as_dict()
    assert seeds == {k: built_in[k] for k in seeds}


def _audit_file(path: Path) -> dict[str, str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return dict(tuple(part.strip() for part in line.split("=", 1)) for line in lines if line)  # type: ignore[misc]


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="round reference data not mounted")
@pytest.mark.parametrize("name", V6_ROUNDS)
def test_audit_settings_equal_the_published_audit_configs(name: str) -> None:
    audit = load_round(name).compliance_audit
    compliance = REFERENCE / name / "compliance"
    assert audit["TEST01"]["resnet50"] == _audit_file(compliance / "TEST01" / "resnet50" / "audit.config")
    for yolo in ("yolo-95", "yolo-99"):
        assert audit["TEST01"][yolo] == _audit_file(compliance / "TEST01" / "yolo" / "audit.config")
    assert audit["TEST04"]["*"] == _audit_file(compliance / "TEST04" / "audit.config")


@pytest.mark.parametrize("name", V6_ROUNDS)
def test_no_vision_model_is_in_the_datacenter_suite(name: str) -> None:
    profile = load_round(name)
    for model in profile.models.values():
        assert model.scenarios_for("datacenter") is None, model.name
    resnet = profile.models["resnet50"]
    assert resnet.scenarios_for("edge") == EDGE
    assert resnet.scenarios_for("edge,datacenter") == (*EDGE, "Server")
    for yolo in ("yolo-95", "yolo-99"):
        assert profile.models[yolo].scenarios_for("edge") == EDGE
        assert profile.models[yolo].scenarios_for("datacenter,edge") == EDGE


def test_retinanet_is_a_v60_leftover_only() -> None:
    assert "retinanet" not in load_round("v6.1").models
    assert "retinanet" not in load_round("v6.1").valid_models
    retinanet = load_round("v6.0").models["retinanet"]
    assert retinanet.scenarios_for("edge") is None
    assert set(retinanet.scenarios_for("datacenter,edge") or ()) == {*EDGE, "Server"}


@pytest.mark.parametrize("name", V6_ROUNDS)
def test_targets_sizes_and_compliance(name: str) -> None:
    profile = load_round(name)
    resnet, yolo95, yolo99 = (profile.models[m] for m in ("resnet50", "yolo-95", "yolo-99"))
    assert resnet.accuracy.target == pytest.approx(75.6954)
    assert yolo95.accuracy.target == pytest.approx(50.73)
    assert yolo99.accuracy.target == pytest.approx(52.866)
    assert (resnet.dataset_size, resnet.performance_sample_count, resnet.offline_min_samples_per_query) == (
        50000,
        1024,
        24576,
    )
    for yolo in (yolo95, yolo99):
        assert (yolo.dataset_size, yolo.performance_sample_count, yolo.offline_min_samples_per_query) == (
            1525,
            64,
            1525,
        )
        assert yolo.compliance_tests == ("TEST01",)
        assert yolo.server_target_latency_ns is None
        assert re.search(yolo.accuracy.pattern, "mAP=53.120")
    assert resnet.compliance_tests == ("TEST01", "TEST04")


def test_a_server_scenario_without_a_latency_bound_is_an_error(tmp_path: Path) -> None:
    data = yaml.safe_load((ROUNDS_DIR / "v6.1.yaml").read_text())
    data["models"]["yolo-95"]["required_scenarios"]["edge"].append("Server")
    (tmp_path / "v6.1.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match="yolo-95 has a Server scenario but no server_target_latency_ns"):
        load_round("v6.1", tmp_path)


def test_unknown_layout_is_an_error(tmp_path: Path) -> None:
    data = yaml.safe_load((ROUNDS_DIR / "v6.1.yaml").read_text())
    data["layout"] = "v7"
    (tmp_path / "v6.1.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match="layout 'v7' is not a known tree layout"):
        load_round("v6.1", tmp_path)
