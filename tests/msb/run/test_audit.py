"""audit.config for compliance runs: rendered from the round profile, equal to what the round published."""

from __future__ import annotations

from pathlib import Path

import pytest

from msb.descriptions.rounds import load_round
from msb.errors import SpecError
from msb.run.audit import parse_audit_config, render_audit_config

REFERENCE = Path("/work/shared/mlperf-reference-data")


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="round reference data not mounted")
@pytest.mark.parametrize("round_name", ["v5.0", "v5.1"])
@pytest.mark.parametrize(
    ("test", "model", "reference"),
    [
        ("TEST01", "resnet50", "TEST01/resnet50"),
        ("TEST01", "retinanet", "TEST01/retinanet"),
        ("TEST04", "resnet50", "TEST04"),
    ],
)
def test_rendered_audit_config_has_the_reference_key_values(
    round_name: str, test: str, model: str, reference: str
) -> None:
    rendered = render_audit_config(load_round(round_name), test, model)
    published = (REFERENCE / round_name / "compliance" / reference / "audit.config").read_text()
    assert parse_audit_config(rendered) == parse_audit_config(published)


def test_seed_survives_as_text() -> None:
    rendered = render_audit_config(load_round("v5.1"), "TEST01", "resnet50")
    assert "*.*.accuracy_log_rng_seed = 720381539243781796\n" in rendered


def test_unknown_test_names_the_round_file() -> None:
    with pytest.raises(SpecError) as err:
        render_audit_config(load_round("v5.1"), "TEST99", "resnet50")
    assert "rounds/v5.1.yaml" in err.value.fix
