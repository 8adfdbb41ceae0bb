"""The run contract (harness/contract/): one description of a run that host and harness share, in JSON; what the
harness makes of a spec (refusals, root, the record it writes), and the flags auditors type becoming the same spec."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from harness.contract import (
    SCHEMA,
    BackendSpec,
    ComplianceSpec,
    ContractError,
    Exit,
    Figures,
    LoadGenSettings,
    Outcome,
    RunRecord,
    RunSpec,
    check_name,
    record_from_json,
    spec_from_json,
    to_json,
)
from harness.entry import cli, flags

SPEC = RunSpec(
    benchmark="resnet50",
    scenario="Offline",
    mode="performance",
    round="v5.1",
    division="open",
    submitter="ACME",
    system="host_cpu",
    dataset="/data/dataset",
    model="/data/model/m.onnx",
    output="/work/experiment",
    backend=BackendSpec("onnxruntime", threads=2, batch_size=8, options={"plugins": ["/p.so"]}),
    loadgen=LoadGenSettings(target_qps=100.0, min_duration_ms=1000),
    compliance=ComplianceSpec("TEST04", "performance_issue_same = 1\n"),
    system_json={"system_name": "host_cpu"},
)


def test_a_spec_and_a_record_survive_json_unchanged_and_in_a_stable_order() -> None:
    assert spec_from_json(to_json(SPEC)) == SPEC
    assert to_json(spec_from_json(to_json(SPEC))) == to_json(SPEC)
    record = RunRecord(Outcome.VERIFICATION_FAILED, "x", ("open/a",), ("open/a/f",), (), Figures("VALID", "m", 1.0))
    assert record_from_json(to_json(record)) == record
    assert record.placed and record.exit_code == Exit.VERIFICATION_FAILED != Exit.ERROR


# A record as the harness wrote it before the figures carried LoadGen's performance figures (schema 1).
SCHEMA_1_RECORD = """{
  "accuracy_dirs": [],
  "backend": {"backend": "onnxruntime", "details": {}, "device": "cpu", "precision": "fp32", "version": "1.22.0"},
  "figures": {"accuracy": null, "metric": "90.0th percentile latency (ns)", "validity": "INVALID", "value": 215052.0},
  "files": ["closed/ACME/results/host_cpu/resnet50/SingleStream/performance/run_1/mlperf_log_detail.txt"],
  "finished": "2025-11-02T06:00:58+00:00",
  "message": "",
  "outcome": "placed",
  "provenance": {},
  "readme": "closed/ACME/measurements/host_cpu/resnet50/SingleStream/README.md",
  "schema": 1,
  "started": "2025-11-02T06:00:51+00:00",
  "units": ["closed/ACME/results/host_cpu/resnet50/SingleStream/performance/run_1"],
  "verifications": {}
}
"""


def test_a_record_written_before_the_performance_figures_still_decodes_with_them_empty() -> None:
    record = record_from_json(SCHEMA_1_RECORD)
    assert record.schema == 1 and record.outcome is Outcome.PLACED
    assert record.figures == Figures("INVALID", "90.0th percentile latency (ns)", 215052.0)
    assert record.figures.p90_ms is None and record.figures.qps_with_loadgen_overhead is None


def test_the_performance_figures_survive_json() -> None:
    figures = Figures("VALID", "Samples per second", 1306.95, p50_ms=63.19, p99_9_ms=67.33, samples_per_second=1306.95)
    record = record_from_json(to_json(RunRecord(Outcome.PLACED, figures=figures)))
    assert record.figures == figures and record.schema == SCHEMA == 2


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda f: f.__setitem__("p99_9_ms", "67.3"), "figures.p99_9_ms must be float or None, not '67.3'"),
        (lambda f: f.__setitem__("mean_ms", True), "figures.mean_ms must be float or None, not True"),
        (lambda f: f.__setitem__("validity", 1), "figures.validity must be str, not 1"),
        (lambda f: f.__setitem__("p99.9_ms", 1.0), "figures: unknown field(s) p99.9_ms"),
    ],
)
def test_a_bad_figure_in_a_record_is_named(change, words: str) -> None:
    data = json.loads(to_json(RunRecord(Outcome.PLACED, figures=Figures("VALID", "m", 1.0, p90_ms=2.0))))
    change(data["figures"])
    with pytest.raises(ContractError) as err:
        record_from_json(json.dumps(data))
    assert words in str(err.value)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.__setitem__("system", "../../etc"), "system '../../etc' is not a valid name"),
        (lambda d: d.__setitem__("division", "shut"), "division 'shut' is not one of: closed, open"),
        (lambda d: d["backend"].__setitem__("batch_size", "eight"), "backend.batch_size must be int"),
        (lambda d: d["backend"].__setitem__("threads", True), "backend.threads must be int or None, not True"),
        (lambda d: d.__setitem__("colour", "red"), "unknown field(s) colour"),
        (lambda d: d.__setitem__("mode", "accuracy"), "is a performance run"),
        (lambda d: d.__setitem__("schema", 99), "host and image are of different versions"),
        (lambda d: d.pop("model"), "model"),
        (lambda d: d.__setitem__("benchmark_options", ["padding"]), "benchmark_options must be a JSON object"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_field(change, words: str) -> None:
    data = json.loads(to_json(SPEC))
    change(data)
    with pytest.raises(ContractError) as err:
        spec_from_json(json.dumps(data))
    assert words in str(err.value)


def test_the_name_rule() -> None:
    for good in ("cpu_demo", "MSB", "ssd-resnet34", "v5.1", "a.b-c_d"):
        assert check_name(good, "x") == good
    for bad in ("..", "a/b", ".hidden", "a..b", "", "-x", "a b", None, 3):
        with pytest.raises(ContractError):
            check_name(bad, "x")


def spec_file(tmp_path: Path, spec: RunSpec) -> Path:
    path = tmp_path / "run" / "spec.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(spec))
    return path


def test_root_is_refused_unless_allowed_and_the_record_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli.os, "geteuid", lambda: 0)
    path = spec_file(tmp_path, replace(SPEC, output=str(tmp_path / "exp")))
    assert cli.main(["run", "--spec", str(path)]) == Exit.REFUSED
    record = record_from_json((path.parent / "record.json").read_text())
    assert record.outcome is Outcome.REFUSED and "runs as root (uid 0)" in record.message
    assert "--allow-root" in capsys.readouterr().err
    assert not (tmp_path / "exp").exists()  # nothing was written for the refused run


def test_a_spec_the_harness_cannot_read_is_refused_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spec.json"
    path.write_bytes(b"\xff\xfe")
    assert cli.main(["run", "--spec", str(path)]) == Exit.REFUSED
    assert cli.main(["run", "--spec", str(tmp_path / "missing.json")]) == Exit.REFUSED
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error: ") == 2


def test_the_flags_auditors_type_are_the_same_spec(tmp_path: Path) -> None:
    audit = tmp_path / "audit.config"
    audit.write_text(SPEC.compliance.audit_config if SPEC.compliance else "")
    system_json = tmp_path / "host_cpu.json"
    system_json.write_text(json.dumps(SPEC.system_json))
    args = flags.build_parser().parse_args(
        ["run", "--benchmark=resnet50", "--scenario=Offline", "--mode=performance", "--division=open",
         "--dataset=/data/dataset", "--model=/data/model/m.onnx", "--backend=onnxruntime", "--threads=2",
         "--batch-size=8", '--backend-option=plugins=["/p.so"]', "--output=/work/experiment", "--submitter=ACME",
         "--system=host_cpu", "--target-qps=100", "--min-duration-ms=1000", "--compliance=TEST04",
         f"--audit-config={audit}", f"--system-json={system_json}"]
    )  # fmt: skip
    assert flags.spec_from_args(args) == SPEC


def test_benchmark_options_travel_in_the_spec_and_a_spec_without_them_takes_none(tmp_path: Path) -> None:
    args = flags.build_parser().parse_args(
        ["run", "--benchmark=yolo-99", "--scenario=SingleStream", "--mode=accuracy", "--dataset=/d", "--model=/m",
         "--backend=onnxruntime", "--output=/o", "--submitter=ACME", "--system=host_cpu",
         "--benchmark-option=padding=minimal"]
    )  # fmt: skip
    spec = flags.spec_from_args(args)
    assert spec.benchmark_options == {"padding": "minimal"}
    assert spec_from_json(to_json(spec)) == spec
    older = json.loads(to_json(SPEC))
    del older["benchmark_options"]  # a spec written before the field existed
    assert spec_from_json(json.dumps(older)).benchmark_options == {}


def test_run_help_lists_the_options_each_benchmark_declares(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        flags.build_parser().parse_args(["run", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--benchmark-option KEY=VALUE" in help_text
    assert "yolo-95, yolo-99: padding=square|minimal" in help_text
