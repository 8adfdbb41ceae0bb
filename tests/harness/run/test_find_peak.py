"""`python -m harness find-peak`: the search on simulated systems (exact boundaries), and end to end with real
LoadGen trials on synthetic ImageNet (the answer is a value LoadGen called VALID; nothing lands in closed/)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.run.find_peak import PeakSearchError, Trial, format_peak, read_trial, search, start_value
from msb.synthetic.imagenet import write_dataset, write_model
from tests.support import REPO


def system(scenario: str, boundary: float, measured: float, too_short_below: float = 0.0) -> Callable[[float], Trial]:
    """A system whose LoadGen verdict flips at `boundary` (a rate for Offline/Server, a latency in ms otherwise)."""

    def run_trial(value: float) -> Trial:
        if scenario == "Server":
            too_short = value < too_short_below
            return Trial(value, valid=not too_short and value <= boundary, measured=measured, too_short=too_short)
        valid = value >= boundary if scenario == "Offline" else value <= boundary
        return Trial(value, valid=valid, measured=measured)

    return run_trial


def quiet(_line: str) -> None:
    return None


@pytest.mark.parametrize(
    ("scenario", "boundary", "measured", "start"),
    [
        ("Offline", 1000.0, 1000.0, 10.0),
        ("Offline", 1000.0, 700.0, 50000.0),  # the measured rate misleads: bracketing still finds it
        ("SingleStream", 2.0, 2.0, 10.0),
        ("MultiStream", 0.5, 0.45, 50.0),
    ],
)
def test_the_answer_is_valid_and_within_ten_percent_of_the_boundary_or_the_measured_figure(
    scenario: str, boundary: float, measured: float, start: float
) -> None:
    run_trial = system(scenario, boundary, measured)
    peak = search(scenario, start, 8, run_trial, quiet)
    assert run_trial(peak.value).valid
    assert len(peak.trials) <= 8
    assert any(target / 1.1 <= peak.value <= target * 1.1 for target in (boundary, measured))


def test_server_climbs_past_runs_too_short_for_early_stopping_then_brackets_the_latency_limit() -> None:
    run_trial = system("Server", boundary=500.0, measured=0.0, too_short_below=30.0)
    peak = search("Server", 10.0, 8, run_trial, quiet)
    assert peak.setting == "target_qps"
    assert 500.0 / 1.1 <= peak.value <= 500.0
    assert peak.trials[0].too_short


def test_no_valid_trial_is_an_error_listing_what_was_tried() -> None:
    def never(value: float) -> Trial:
        return Trial(value, valid=False, measured=None, unmet=("Early stopping",))

    with pytest.raises(PeakSearchError, match=r"no VALID run in 3 trials .*Early stopping.*--min-duration-ms"):
        search("SingleStream", 10.0, 3, never, quiet)


def test_the_printed_line_names_the_scenarios_setting() -> None:
    offline = search("Offline", 1000.0, 8, system("Offline", 900.0, 1000.0), quiet)
    latency = search("SingleStream", 1.0, 8, system("SingleStream", 2.0, 1.0), quiet)
    assert format_peak(offline) == f"peak: target_qps={offline.value:.6g}"
    assert format_peak(latency) == f"peak: target_latency_ms={latency.value:.6g}"
    assert start_value("Server", None) > 0 and start_value("Offline", 123.4567891) == 123.457


def test_a_summary_is_read_as_loadgen_wrote_it() -> None:
    summary = (
        "Scenario : Server\nCompleted samples per second    : 12.00\nResult is : INVALID\n"
        "  Performance constraints satisfied : Yes\n  Min duration satisfied : Yes\n"
        "  Early stopping satisfied: NO\n"
    )
    trial = read_trial(10.0, "Server", summary)
    assert (trial.valid, trial.measured, trial.too_short, trial.unmet) == (False, 12.0, True, ("Early stopping",))
    latency = read_trial(0.1, "SingleStream", "Result is : VALID\nMean latency (ns)               : 109904\n")
    assert latency.valid and latency.measured == pytest.approx(0.109904)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("peak")
    write_dataset(root / "dataset", 8)
    write_model(root / "model.onnx")
    return root


def find_peak(synthetic: Path, output: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "find-peak",
            "--benchmark=resnet50",
            f"--dataset={synthetic / 'dataset'}",
            "--backend=onnxruntime",
            f"--output={output}",
            "--submitter=ACME",
            "--system=host_cpu",
            "--threads=1",
            "--min-duration-ms=300",
            *(["--allow-root"] if os.geteuid() == 0 else []),  # CI runs as root; the harness refuses it by default
            *extra,
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(("scenario", "setting"), [("Offline", "target_qps"), ("SingleStream", "target_latency_ms")])
def test_find_peak_reports_a_value_whose_loadgen_run_was_valid(
    synthetic: Path, tmp_path: Path, scenario: str, setting: str
) -> None:
    result_json = tmp_path / "peak.json"
    result = find_peak(
        synthetic,
        tmp_path / "exp",
        f"--scenario={scenario}",
        f"--model={synthetic / 'model.onnx'}",
        f"--result-json={result_json}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    peak = json.loads(result_json.read_text())
    assert peak["setting"] == setting
    assert last == f"peak: {setting}={peak['value']:.6g}"
    assert 1 <= len(peak["trials"]) <= 8
    assert any(trial["value"] == peak["value"] and trial["valid"] for trial in peak["trials"])
    # Trials ran in a scratch folder: the experiment holds at most the shared sample cache.
    assert not (tmp_path / "exp" / "closed").exists()


def test_a_bad_model_stops_the_search_at_the_first_trial_with_its_error(synthetic: Path, tmp_path: Path) -> None:
    result = find_peak(synthetic, tmp_path / "exp", "--scenario=Offline", f"--model={tmp_path / 'none.onnx'}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert str(tmp_path / "none.onnx") in result.stderr and "trial" in result.stderr
    assert "peak:" not in result.stdout


def test_find_peak_has_the_run_flags_less_mode_and_compliance() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness", "find-peak", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for flag in ("--benchmark", "--target-qps", "--target-latency-ms", "--max-trials", "--result-json", "--cache-dir"):
        assert flag in result.stdout
    for flag in ("--mode", "--compliance", "--audit-config"):
        assert re.search(rf"{flag}\b", result.stdout) is None, flag
