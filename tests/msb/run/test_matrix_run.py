"""The matrix's file work around the runs: state for resume, truncation with full logs kept outside the tree,
the full log put back for TEST01, calibration.md. The runs themselves: tests/integration/test_docker_matrix.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from rich.console import Console

from msb.descriptions.per_scenario import PerScenario
from msb.descriptions.rounds import load_round
from msb.descriptions.system import SystemSpec, load_system_spec
from msb.errors import RunFailed, SpecError
from msb.project import Project
from msb.run import matrix, matrix_run, runner, state
from msb.run.calibration_doc import calibration_doc
from msb.run.expdir import Identity
from msb.run.matrix import MatrixRun
from msb.run.matrix_run import FULL_LOGS_DIR, restore_full_log, truncate_group, write_calibration
from msb.run.progress import DONE
from msb.run.state import RunState
from msb.submission.truncate import TRUNCATED_MAX_BYTES, file_sha256, recorded_hash
from tests.support.fake_engine import CRASH, ERROR, INTERRUPT, REFUSE, VERIFICATION_FAILS, FakeEngine

ACC = Path("closed/MSB/results/cpu_demo/resnet50/Offline/accuracy")


T01 = Path("closed/MSB/compliance/cpu_demo/resnet50/Offline/TEST01/accuracy")


@pytest.fixture
def demo(project: Project) -> SystemSpec:
    return load_system_spec(project, "cpu-demo")


def write_log(directory: Path, fill: str) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    text = "[\n" + ",\n".join(f'{{"seq_id": {i}, "qsl_idx": {i}, "data": "{fill * 16}"}}' for i in range(400)) + "\n]\n"
    (directory / "mlperf_log_accuracy.json").write_text(text)
    return text


def group(system: str = "cpu_demo") -> list[MatrixRun]:
    return [MatrixRun(system, "resnet50", "Offline", k) for k in ("accuracy", "performance", "TEST01")]


def states(*runs: MatrixRun) -> dict[str, RunState]:
    """What the harness's records said of each run's accuracy folders."""
    folders = {"accuracy": (str(ACC),), "TEST01": (str(T01),)}
    return {run.key: RunState(DONE, accuracy_dirs=folders.get(run.kind, ())) for run in runs}


def test_truncation_keeps_the_full_logs_outside_the_tree(tmp_path: Path, demo: SystemSpec) -> None:
    full = write_log(tmp_path / ACC, "AB")
    (tmp_path / ACC / "accuracy.txt").write_text("accuracy=100.000%, good=24, total=24\n")
    write_log(tmp_path / T01, "CD")
    assert truncate_group(tmp_path, group(), states(*group())) == [tmp_path / ACC, tmp_path / T01]
    backup = tmp_path / FULL_LOGS_DIR / ACC / "mlperf_log_accuracy.json"
    assert backup.read_text() == full
    assert recorded_hash(tmp_path / ACC / "accuracy.txt") == file_sha256(backup)
    assert (tmp_path / ACC / "mlperf_log_accuracy.json").stat().st_size <= 10240
    assert recorded_hash(tmp_path / T01 / "accuracy.txt")  # TEST01's accuracy.txt is the hash line
    # Group-writable: the container's uid (another user in the experiment's group) rewrites them in a TEST01 rerun.
    assert all(
        (tmp_path / ACC / name).stat().st_mode & 0o060 == 0o060 for name in ("accuracy.txt", "mlperf_log_accuracy.json")
    )
    assert truncate_group(tmp_path, group(), states(*group())) == []  # a resumed matrix leaves them alone


def test_full_log_is_put_back_for_test01_and_truncated_again(tmp_path: Path, demo: SystemSpec) -> None:
    full = write_log(tmp_path / ACC, "AB")
    (tmp_path / ACC / "accuracy.txt").write_text("accuracy=100.000%\n")
    truncate_group(tmp_path, group()[:1], states(*group()))
    assert restore_full_log(tmp_path, ACC)
    assert (tmp_path / ACC / "mlperf_log_accuracy.json").read_text() == full
    assert truncate_group(tmp_path, group()[:1], states(*group())) == [tmp_path / ACC]
    assert not restore_full_log(tmp_path, ACC / "nowhere")


def test_redone_accuracy_run_replaces_the_old_backup(tmp_path: Path, demo: SystemSpec) -> None:
    write_log(tmp_path / ACC, "AB")
    (tmp_path / ACC / "accuracy.txt").write_text("accuracy=100.000%\n")
    truncate_group(tmp_path, group()[:1], states(*group()))
    new = write_log(tmp_path / ACC, "EF")  # what a --force rerun places
    (tmp_path / ACC / "accuracy.txt").write_text("accuracy=100.000%\n")
    truncate_group(tmp_path, group()[:1], states(*group()))
    assert (tmp_path / FULL_LOGS_DIR / ACC / "mlperf_log_accuracy.json").read_text() == new


def test_calibration_doc_default_for_fp32_and_one_section_per_system(tmp_path: Path, demo: SystemSpec) -> None:
    path = write_calibration(tmp_path, demo)
    assert path == tmp_path / "closed" / "MSB" / "calibration.md"
    text = path.read_text()
    assert "## cpu_demo" in text and "no calibration and no quantisation" in text and "resnet50 (fp32" in text
    other = dataclasses.replace(demo, name="other", calibration="INT8 with 500 ImageNet calibration images.")
    both = calibration_doc(text, other)
    assert "## cpu_demo" in both and "## other\n\nINT8 with 500 ImageNet calibration images." in both
    assert calibration_doc(both, other) == both  # rewriting a section is idempotent
    assert write_calibration(tmp_path, demo).read_text() == text


def test_quantised_system_must_describe_its_calibration(demo: SystemSpec) -> None:
    int8 = dataclasses.replace(demo.benchmarks["resnet50"], precision="int8")
    with pytest.raises(SpecError, match="calibration"):
        calibration_doc(None, dataclasses.replace(demo, benchmarks={"resnet50": int8}))


ACC_flow = "closed/MSB/results/cpu_demo/resnet50/{}/accuracy/mlperf_log_accuracy.json"


@pytest.fixture
def inputs(tmp_path: Path) -> runner.RunArgs:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "val_map.txt").write_text("a.JPEG 0\n")
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    return runner.RunArgs("", "", "accuracy", tmp_path / "exp", tmp_path / "data", tmp_path / "model.onnx")


def run(
    system: SystemSpec,
    inputs: runner.RunArgs,
    engine: FakeEngine,
    keep_going: bool = False,
    force: bool = False,
    scenario: str | None = None,
) -> matrix_run.MatrixOutcome:
    profile = load_round(system.round)
    runs = matrix.plan_matrix(system, profile, scenario=scenario)
    options = matrix_run.MatrixOptions(inputs, force=force, keep_going=keep_going)
    ident = Identity(invoking_uid=0, container_uid=15000, gid=1500)
    return matrix_run.run_matrix(system, profile, runs, options, engine, ident, Console(file=None, quiet=True))


def truncated(experiment: Path, scenario: str) -> bool:
    return (experiment / ACC_flow.format(scenario)).stat().st_size <= TRUNCATED_MAX_BYTES


def test_a_whole_matrix_runs_in_order_and_truncates_each_group_once_done(demo: SystemSpec, inputs: runner.RunArgs):
    engine = FakeEngine(inputs.experiment)
    outcome = run(demo, inputs, engine)
    assert not outcome.failed and not outcome.not_started and len(outcome.ran) == 12
    first = [f"resnet50-SingleStream-{k}" for k in ("accuracy", "performance", "TEST01", "TEST04")]
    assert engine.started[:4] == first  # the round's scenario order; compliance tests after the results they verify
    assert all(truncated(inputs.experiment, s) for s in ("Offline", "SingleStream", "MultiStream"))
    assert (inputs.experiment / "closed/MSB/calibration.md").is_file()
    # Every run folder (spec in, record out) is gone once its record was read.
    assert not list((inputs.experiment / runner.RUNS_DIR).iterdir())


def test_every_run_of_a_scenario_gets_the_scenarios_batch_size(demo: SystemSpec, inputs: runner.RunArgs):
    bench = dataclasses.replace(demo.benchmarks["resnet50"], batch_sizes=PerScenario(8, {"Offline": 256}))
    engine = FakeEngine(inputs.experiment)
    assert not run(dataclasses.replace(demo, benchmarks={"resnet50": bench}), inputs, engine).failed
    sizes = {(s.scenario, s.backend.batch_size) for s in engine.specs}
    assert sizes == {("SingleStream", 8), ("MultiStream", 8), ("Offline", 256)} and len(engine.specs) == 12


def test_a_failed_run_stops_the_matrix_and_keeps_what_was_placed(demo: SystemSpec, inputs: runner.RunArgs):
    engine = FakeEngine(inputs.experiment, {"resnet50-SingleStream-performance": ERROR})
    outcome = run(demo, inputs, engine)
    assert outcome.failed == ["cpu_demo-resnet50-SingleStream-performance"]
    assert outcome.ran == ["cpu_demo-resnet50-SingleStream-accuracy"]
    assert len(outcome.not_started) == 10
    assert (inputs.experiment / ACC_flow.format("SingleStream")).is_file()
    # Its group is not complete: TEST01 still needs the full accuracy log, so nothing is truncated.
    assert not truncated(inputs.experiment, "SingleStream")


def test_keep_going_runs_the_rest_after_a_failure(demo: SystemSpec, inputs: runner.RunArgs):
    engine = FakeEngine(inputs.experiment, {"resnet50-SingleStream-performance": CRASH})
    outcome = run(demo, inputs, engine, keep_going=True)
    assert outcome.failed == ["cpu_demo-resnet50-SingleStream-performance"]
    assert len(outcome.ran) == 11 and not outcome.not_started
    assert not truncated(inputs.experiment, "SingleStream") and truncated(inputs.experiment, "Offline")


def test_an_interrupt_stops_even_with_keep_going(demo: SystemSpec, inputs: runner.RunArgs):
    engine = FakeEngine(inputs.experiment, {"resnet50-SingleStream-TEST01": INTERRUPT})
    outcome = run(demo, inputs, engine, keep_going=True)
    assert outcome.failed == ["cpu_demo-resnet50-SingleStream-TEST01"]
    assert len(outcome.ran) == 2 and len(outcome.not_started) == 9
    assert engine.started[-1] == "resnet50-SingleStream-TEST01"


def test_a_compliance_test_placed_but_failed_is_done_and_listed(demo: SystemSpec, inputs: runner.RunArgs):
    engine = FakeEngine(inputs.experiment, {"resnet50-Offline-TEST04": VERIFICATION_FAILS})
    outcome = run(demo, inputs, engine, scenario="Offline")
    assert not outcome.failed and outcome.unverified == ["cpu_demo-resnet50-Offline-TEST04"]
    assert truncated(inputs.experiment, "Offline")  # the group is done: its logs are truncated
    assert "placed but not passing verification" in " ".join(matrix_run.summary_lines(outcome))
    again = run(demo, inputs, FakeEngine(inputs.experiment))
    assert "cpu_demo-resnet50-Offline-TEST04" in again.skipped  # done is done: resume does not redo it


def test_a_refused_run_is_a_failure_naming_the_harness_message(demo: SystemSpec, inputs: runner.RunArgs):
    engine = FakeEngine(inputs.experiment, {"resnet50-Offline-accuracy": REFUSE})
    profile = load_round(demo.round)
    plan = runner.plan(demo, dataclasses.replace(inputs, benchmark="resnet50", scenario="Offline"), IDENT)
    with pytest.raises(runner.RunRefused, match="scripted refuse"):
        runner.execute(plan, engine, IDENT, on_output=lambda line: None)
    assert run(demo, inputs, engine).failed == ["cpu_demo-resnet50-Offline-accuracy"]
    assert profile.name == "v5.1"


def test_resume_redoes_only_what_is_not_done(demo: SystemSpec, inputs: runner.RunArgs):
    run(demo, inputs, FakeEngine(inputs.experiment, {"resnet50-SingleStream-TEST04": CRASH}), keep_going=True)
    # A crash of build.py during a run leaves it recorded as running.
    state.write_state(inputs.experiment, "cpu_demo-resnet50-MultiStream-TEST01", state.RunState("running"))
    engine = FakeEngine(inputs.experiment)
    outcome = run(demo, inputs, engine)
    assert engine.started == ["resnet50-SingleStream-TEST04", "resnet50-MultiStream-TEST01"]
    assert len(outcome.skipped) == 10 and not outcome.failed
    # A unit removed by hand is redone; --force redoes everything.
    (inputs.experiment / ACC_flow.format("Offline")).unlink()
    engine = FakeEngine(inputs.experiment)
    run(demo, inputs, engine)
    assert engine.started == ["resnet50-Offline-accuracy"]
    engine = FakeEngine(inputs.experiment)
    run(demo, inputs, engine, force=True)
    assert len(engine.started) == 12


def test_test01_gets_the_full_accuracy_log_back_after_truncation(demo: SystemSpec, inputs: runner.RunArgs):
    run(demo, inputs, FakeEngine(inputs.experiment), scenario="Offline")
    assert truncated(inputs.experiment, "Offline")
    seen: list[int] = []
    log = inputs.experiment / ACC_flow.format("Offline")
    engine = FakeEngine(inputs.experiment, on_run=lambda spec: seen.append(log.stat().st_size))
    state.write_state(inputs.experiment, "cpu_demo-resnet50-Offline-TEST01", state.RunState("failed"))
    run(demo, inputs, engine, scenario="Offline")
    assert engine.started == ["resnet50-Offline-TEST01"]
    assert seen[0] > TRUNCATED_MAX_BYTES  # the full log was in place while TEST01 ran
    assert truncated(inputs.experiment, "Offline")  # and truncated again after


def test_an_open_division_system_writes_open_and_resumes_without_redoing(demo: SystemSpec, inputs: runner.RunArgs):
    system = dataclasses.replace(demo, division="open")
    engine = FakeEngine(inputs.experiment)
    run(system, inputs, engine, scenario="Offline")
    assert {spec.division for spec in engine.specs} == {"open"}
    assert (inputs.experiment / "open/MSB/calibration.md").is_file()
    assert not (inputs.experiment / "closed").exists()
    again = FakeEngine(inputs.experiment)
    assert len(run(system, inputs, again, scenario="Offline").skipped) == 4 and again.started == []


def test_a_harness_that_wrote_no_record_is_an_error_with_its_last_lines(demo: SystemSpec, inputs: runner.RunArgs):
    engine = FakeEngine(inputs.experiment, {"resnet50-Offline-accuracy": CRASH})
    plan = runner.plan(demo, dataclasses.replace(inputs, benchmark="resnet50", scenario="Offline"), IDENT)
    with pytest.raises(RunFailed) as err:
        runner.execute(plan, engine, IDENT, on_output=lambda line: None)
    assert "wrote no record" in err.value.message and "fake harness: resnet50-Offline-accuracy crash" in str(err.value)
    assert not plan.run_dir.exists()


def test_the_record_is_read_from_the_run_folder(demo: SystemSpec, inputs: runner.RunArgs):
    plan = runner.plan(demo, dataclasses.replace(inputs, benchmark="resnet50", scenario="Offline"), IDENT)
    record = runner.execute(plan, FakeEngine(inputs.experiment), IDENT, on_output=lambda line: None)
    assert record.units == ("closed/MSB/results/cpu_demo/resnet50/Offline/accuracy",)
    assert record.figures.validity == "VALID"


IDENT = Identity(invoking_uid=0, container_uid=15000, gid=1500)
