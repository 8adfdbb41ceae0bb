"""Round profiles: the facts each round pins, and the loader's refusals."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

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
