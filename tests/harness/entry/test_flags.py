"""What auditors type and read (harness/entry/flags.py): the help's exit-status lines come from the contract's
tables, and flags without --batch-size take the contract's one default."""

from __future__ import annotations

import pytest

from harness.contract import (
    DEFAULT_BATCH_SIZE,
    EXIT_OF,
    FIND_PEAK_EXITS,
    RUN_EXITS,
    BackendSpec,
    Exit,
    Outcome,
)
from harness.contract.calibration import CALIBRATE_EXITS, GATE_FAILED
from harness.entry import flags


def help_of(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        flags.build_parser().parse_args([command, "--help"])
    return capsys.readouterr().out


def test_run_help_says_a_failed_verification_exits_with_the_status_the_code_returns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = int(EXIT_OF[Outcome.VERIFICATION_FAILED])
    line = next(line for line in help_of("run", capsys).splitlines() if line.split()[:1] == [str(status)])
    assert "verification failed" in line


def test_calibrate_help_says_a_failed_gate_exits_with_the_status_the_code_returns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = int(EXIT_OF[GATE_FAILED])
    line = next(line for line in help_of("calibrate", capsys).splitlines() if line.split()[:1] == [str(status)])
    assert "failed the gate" in line


@pytest.mark.parametrize(
    ("command", "table"), [("run", RUN_EXITS), ("find-peak", FIND_PEAK_EXITS), ("calibrate", CALIBRATE_EXITS)]
)
def test_the_exit_lines_of_each_help_are_rendered_from_the_contract(
    command: str, table: dict[Exit, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(table, Exit.ERROR, "what the table says now")
    assert "  1   what the table says now\n" in help_of(command, capsys)


@pytest.mark.parametrize("scenario", ["SingleStream", "Server", "Offline"])
def test_flags_without_a_batch_size_take_the_contracts_default(scenario: str) -> None:
    args = flags.build_parser().parse_args(
        ["run", "--benchmark=resnet50", f"--scenario={scenario}", "--mode=performance", "--dataset=/d",
         "--model=/m", "--backend=onnxruntime", "--output=/o", "--submitter=ACME", "--system=host_cpu"]
    )  # fmt: skip
    batch_size = flags.spec_from_args(args).backend.batch_size
    assert batch_size == DEFAULT_BATCH_SIZE == BackendSpec("onnxruntime").batch_size
