"""explore's run loop against a scripted engine (tests/support/fake_engine.py, a named stand-in): one experiment per
point with its description, manifest and tags; a refused point recorded and the grid going on; the report; --apply
changing only the settings' lines; bad input refused with nothing written; no VALID point an error. The real engine and
harness: tests/integration/test_docker_explore.py."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import yaml

from harness.contract import Figures, RunSpec
from msb import cli
from msb.descriptions.per_scenario import PerScenario
from msb.descriptions.system import load_system_spec
from msb.explore import command as explore_command
from msb.project import Project
from tests.support.fake_engine import INTERRUPT, PLACE, REFUSE, FakeEngine

SYSTEM = "cpu-demo-v61.yaml"


def offline_results(spec: RunSpec) -> tuple[Figures, dict[str, object]]:
    """A system whose throughput peaks at batch size 8 and whose batch size 32 runs are INVALID."""
    batch = spec.backend.batch_size
    rate = {1: 500.0, 8: 1200.0, 32: 1500.0}.get(batch, 100.0)
    validity = "INVALID" if batch == 32 else "VALID"
    latency_ns = batch * 1_000_000
    detail = {"result_validity": validity, "result_samples_per_second": rate, "result_mean_latency_ns": latency_ns,
              **{f"result_{p}.00_percentile_latency_ns": latency_ns * p / 50 for p in (50, 90, 99)}}  # fmt: skip
    ms = latency_ns / 1e6  # the same figures in the record, where explore reads them
    figures = Figures(validity, "Samples per second", rate, mean_ms=ms, p50_ms=ms, p90_ms=ms * 1.8, p99_ms=ms * 1.98,
                      samples_per_second=rate)  # fmt: skip
    return figures, detail


@pytest.fixture
def setup(tmp_path: Path, project: Project, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, FakeEngine, list[str]]:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "val_map.txt").write_text("a.JPEG 0\n")
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    shutil.copy(project.systems / SYSTEM, tmp_path / SYSTEM)
    engine = FakeEngine(tmp_path / "unused", round="v6.1", results_of=offline_results)
    monkeypatch.setattr(explore_command, "DockerEngine", lambda: engine)
    args = ["explore", "--system", str(tmp_path / SYSTEM), "--benchmark", "resnet50", "--scenario", "Offline",
            "--dataset", str(tmp_path / "data"), "--model", str(tmp_path / "model.onnx"),
            "--experiment", str(tmp_path / "explore"), "--duration-ms", "500"]  # fmt: skip
    return tmp_path, engine, args


def test_each_point_is_an_experiment_with_its_settings_manifest_and_tags(setup, project, capsys) -> None:
    tmp, engine, args = setup
    engine.behaviour_of = lambda spec: REFUSE if spec.backend.batch_size == 256 else PLACE
    assert cli.main([*args, "--batch-sizes", "1,8,32,256", "--threads", "2"], project) == 0
    # One run per point, in grid order, each with the point's batch size, threads and short duration.
    assert [(s.backend.batch_size, s.backend.threads, s.loadgen.min_duration_ms) for s in engine.specs] == [
        (1, 2, 500), (8, 2, 500), (32, 2, 500), (256, 2, 500)]  # fmt: skip
    assert {s.mode for s in engine.specs} == {"performance"}
    point = tmp / "explore" / "points" / "bs8-t2"
    described = yaml.safe_load((point / "system.yaml").read_text())["benchmarks"]["resnet50"]
    assert described["batch_size"] == 8 and described["scenarios"]["Offline"]["min_duration_ms"] == 500
    manifests = list((point / ".msb" / "manifests").rglob("*.json"))
    assert len(manifests) == 1
    recorded = json.loads(manifests[0].read_text())
    assert recorded["spec"]["backend"]["batch_size"] == 8
    assert recorded["system"]["description"] == (point / "system.yaml").read_text()  # so `reproduce` re-runs it
    tags = json.loads((point / "point.json").read_text())
    assert tags["tags"] == ["explore", "cpu_demo", "resnet50", "Offline", "batch_size=8", "threads=2",
                            "min_duration_ms=500"]  # fmt: skip
    assert tags["status"] == "VALID" and tags["figures"]["samples_per_second"] == 1200.0
    rows = list(csv.DictReader((tmp / "explore" / "report" / "results.csv").open()))
    assert [(r["point"], r["status"]) for r in rows] == [
        ("bs1-t2", "VALID"), ("bs8-t2", "VALID"), ("bs32-t2", "INVALID"), ("bs256-t2", "REFUSED")]  # fmt: skip
    assert "scripted refuse" in rows[3]["message"]
    assert rows[1]["manifest"].startswith("points/bs8-t2/.msb/manifests/")
    summary = (tmp / "explore" / "report" / "summary.md").read_text()
    assert summary.startswith("RECOMMENDED: batch_size: 8, threads: 2 (bs8-t2: 1,200 samples/s, VALID)")
    assert sorted(p.name for p in (tmp / "explore" / "report" / "plots").iterdir()) == ["latency.png", "throughput.png"]
    out = capsys.readouterr().out
    assert "RECOMMENDED: batch_size: 8" in out and "applied" not in out
    assert (tmp / SYSTEM).read_text() == (project.systems / SYSTEM).read_text()  # without --apply, untouched


def test_apply_changes_only_the_settings_lines(setup, project, capsys) -> None:
    tmp, _engine, args = setup
    assert cli.main([*args, "--batch-sizes", "1,8,32", "--threads", "1,2", "--apply"], project) == 0
    before, after = (project.systems / SYSTEM).read_text().splitlines(), (tmp / SYSTEM).read_text().splitlines()
    # Batch size 8 was set already, so its line stays; of the equally fast thread counts, fewer win the tie, and
    # they are Offline's alone: `threads: 2` keeps 2 for the other scenarios, on the same line.
    assert [(a, b) for a, b in zip(before, after, strict=True) if a != b] == [
        ("    threads: 2", "    threads: {default: 2, Offline: 1}")
    ]
    system = load_system_spec(project, str(tmp / SYSTEM)).benchmarks["resnet50"]
    assert [system.threads(s) for s in ("Offline", "SingleStream", "MultiStream")] == [1, 2, 2]
    assert "applied: batch_size: 8, threads: 1" in capsys.readouterr().out
    assert "written into `benchmarks.resnet50`" in (tmp / "explore" / "report" / "summary.md").read_text()


def test_apply_gives_threads_to_the_scenario_alone_when_the_description_has_none(setup, project) -> None:
    """No `threads:` means the runtime's default; --apply gives the explored scenario its count and the other
    scenarios keep the runtime's default (not 1)."""
    tmp, _engine, args = setup
    before = (tmp / SYSTEM).read_text()
    assert before.count("    batch_size: 8\n    threads: 2\n") == 1  # resnet50's
    (tmp / SYSTEM).write_text(before.replace("    batch_size: 8\n    threads: 2\n", "    batch_size: 8\n"))
    assert cli.main([*args, "--batch-sizes", "8", "--threads", "3", "--apply"], project) == 0
    assert "    threads: {Offline: 3}\n" in (tmp / SYSTEM).read_text()
    system = load_system_spec(project, str(tmp / SYSTEM)).benchmarks["resnet50"]
    assert [system.threads(s) for s in ("Offline", "SingleStream", "MultiStream")] == [3, None, None]


def test_apply_writes_a_new_batch_size_for_the_scenario_alone_as_one_line(setup, project, capsys) -> None:
    tmp, engine, args = setup
    engine.results_of = lambda spec: offline_results(spec) if spec.backend.batch_size != 8 else (
        Figures("INVALID", "Samples per second", 9999.0), {})  # fmt: skip
    assert cli.main([*args, "--batch-sizes", "1,8", "--apply"], project) == 0
    before, after = (project.systems / SYSTEM).read_text().splitlines(), (tmp / SYSTEM).read_text().splitlines()
    # Offline's batch size is the explored one; SingleStream and MultiStream keep the 8 they had.
    assert [(a, b) for a, b in zip(before, after, strict=True) if a != b] == [
        ("    batch_size: 8", "    batch_size: {default: 8, Offline: 1}")
    ]
    system = load_system_spec(project, str(tmp / SYSTEM)).benchmarks["resnet50"]
    assert [system.batch_size(s) for s in ("Offline", "SingleStream", "MultiStream")] == [1, 8, 8]
    assert "for Offline only" in capsys.readouterr().out
    assert "Each is Offline's alone" in (tmp / "explore" / "report" / "summary.md").read_text()


def test_apply_on_a_per_scenario_mapping_changes_the_scenarios_entry(setup, project) -> None:
    tmp, _engine, args = setup
    before = (
        (tmp / SYSTEM).read_text().replace("    batch_size: 8\n", "    batch_size: {Offline: 4, SingleStream: 1}\n")
    )
    (tmp / SYSTEM).write_text(before)
    assert cli.main([*args, "--batch-sizes", "1,8", "--apply"], project) == 0
    after = (tmp / SYSTEM).read_text()
    assert [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b] == [
        ("    batch_size: {Offline: 4, SingleStream: 1}", "    batch_size: {Offline: 8, SingleStream: 1}")
    ]


def test_a_points_description_gives_the_batch_size_to_the_explored_scenario(setup, project) -> None:
    tmp, _engine, args = setup
    assert cli.main([*args, "--batch-sizes", "1"], project) == 0
    point = load_system_spec(project, str(tmp / "explore" / "points" / "bs1" / "system.yaml"))
    assert point.benchmarks["resnet50"].batch_sizes == PerScenario(8, {"Offline": 1})
    assert point.benchmarks["resnet50"].thread_counts == PerScenario(2)  # no --threads: the description's, for all


def test_a_points_description_gives_the_threads_to_the_explored_scenario(setup, project) -> None:
    tmp, engine, args = setup
    assert cli.main([*args, "--batch-sizes", "1", "--threads", "4"], project) == 0
    point = load_system_spec(project, str(tmp / "explore" / "points" / "bs1-t4" / "system.yaml"))
    assert point.benchmarks["resnet50"].thread_counts == PerScenario(2, {"Offline": 4})
    assert [s.backend.threads for s in engine.specs] == [4]


def test_no_valid_point_is_an_error_and_nothing_is_applied(setup, project, capsys) -> None:
    tmp, engine, args = setup
    engine.behaviour_of = lambda spec: REFUSE
    assert cli.main([*args, "--batch-sizes", "8,32", "--apply"], project) == 1
    captured = capsys.readouterr()
    assert "NO VALID POINT: no setting recommended (REFUSED 2)" in captured.out
    assert "error: no point of the grid was VALID" in captured.err and "fix:" in captured.err
    assert "Traceback" not in captured.err
    assert (tmp / SYSTEM).read_text() == (project.systems / SYSTEM).read_text()
    assert (tmp / "explore" / "report" / "summary.md").read_text().startswith("NO VALID POINT")


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--batch-sizes", "1,zero"], "--batch-sizes '1,zero': 'zero' is not a whole number"),
        (["--batch-sizes", "8", "--threads", "0"], "--threads '0': '0' is not a whole number of 1 or more"),
        (["--batch-sizes", "8", "--duration-ms", "0"], "--duration-ms 0 is not a whole number of 1 or more"),
        (["--batch-sizes", "8", "--benchmark", "bert"], "system 'cpu_demo' has no settings for benchmark 'bert'"),
        (["--batch-sizes", "8", "--scenario", "Server"], "has no resnet50 settings for scenario 'Server'"),
    ],
)
def test_bad_input_is_named_and_nothing_is_written(setup, project, capsys, extra, named) -> None:
    tmp, engine, args = setup
    assert cli.main([*args, *extra], project) == 2
    err = capsys.readouterr().err
    assert named in err and "fix:" in err and "Traceback" not in err
    assert not (tmp / "explore").exists() and engine.started == []


def test_an_existing_folder_is_refused(setup, project, capsys) -> None:
    tmp, engine, args = setup
    (tmp / "explore").mkdir()
    (tmp / "explore" / "keep.txt").write_text("mine\n")
    assert cli.main([*args, "--batch-sizes", "8"], project) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert [p.name for p in (tmp / "explore").iterdir()] == ["keep.txt"] and engine.started == []


def test_an_interrupted_grid_stops_and_writes_no_report(setup, project, capsys) -> None:
    tmp, engine, args = setup
    engine.behaviour_of = lambda spec: INTERRUPT if spec.backend.batch_size == 8 else PLACE
    assert cli.main([*args, "--batch-sizes", "1,8,32", "--apply"], project) == 1
    assert [s.backend.batch_size for s in engine.specs] == [1, 8]
    assert "interrupted" in capsys.readouterr().err
    assert not (tmp / "explore" / "report").exists()
    assert (tmp / SYSTEM).read_text() == (project.systems / SYSTEM).read_text()


def test_points_share_the_preprocessed_samples(setup, project) -> None:
    tmp, engine, args = setup
    seen: list[bool] = []

    def preprocess(spec: RunSpec) -> None:
        """What the harness does: reuse the experiment's cached samples, or make them."""
        entry = engine.experiment / ".cache" / "preprocessed" / "ab" / "sample.npy"
        seen.append(entry.is_file())
        entry.parent.mkdir(parents=True, exist_ok=True)
        entry.write_bytes(b"npy")

    engine.on_run = preprocess
    assert cli.main([*args, "--batch-sizes", "1,8,32"], project) == 0
    assert seen == [False, True, True]  # made by the first point only
    assert (tmp / "explore" / ".cache" / "preprocessed" / "ab" / "sample.npy").is_file()
    assert not any((tmp / "explore" / "points" / tag / ".cache").exists() for tag in ("bs1", "bs8", "bs32"))


def test_the_default_folder_is_named_from_known_names_only(setup, project, capsys, monkeypatch) -> None:
    tmp, engine, args = setup
    monkeypatch.chdir(tmp)
    without = [a for i, a in enumerate(args) if "--experiment" not in args[i - 1 : i + 1]]
    at = without.index("--benchmark") + 1
    assert cli.main([*without[:at], "../../escape", *without[at + 1 :], "--batch-sizes", "8"], project) == 2
    assert "no settings for benchmark '../../escape'" in capsys.readouterr().err
    assert not (tmp / "experiments").exists() and engine.started == []
    assert cli.main([*without, "--batch-sizes", "8"], project) == 0
    made = list((tmp / "experiments").iterdir())
    assert len(made) == 1 and made[0].name.startswith("explore-cpu_demo-resnet50-Offline-")
    assert (made[0] / "report" / "summary.md").is_file()
