"""user.conf (harness/loadgen/userconf.py): only the settings given."""

from __future__ import annotations

from harness.contract import LoadGenSettings
from harness.loadgen.userconf import render_user_conf


def test_user_conf_holds_only_the_settings_given() -> None:
    text = render_user_conf(
        "resnet50", "Server", LoadGenSettings(target_qps=1500.0, min_duration_ms=1000, target_latency_ms=12.5)
    )
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == [
        "resnet50.Server.target_qps = 1500",
        "resnet50.Server.target_latency = 12.5",
        "resnet50.Server.min_duration = 1000",
    ]
