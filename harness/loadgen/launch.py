"""One LoadGen test: settings from user.conf, the QSL and SUT handed to LoadGen, logs into a folder.

LoadGen 5.x applies its built-in copy of the round's mlperf.conf itself; `FromConfig` is called once, with
the user.conf only. LoadGen 5.1.2 applies that built-in config only on the first such call in a process
(later calls get bare defaults: zero seeds), so a process runs one test, and `test_settings` checks the
seeds to make sure. The test runs in a helper thread so that the main thread stays free to take SIGINT and
SIGTERM (a Python signal handler runs only in the main thread, and LoadGen's StartTest blocks for the whole
run).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol

import mlperf_loadgen as lg

from harness.loadgen.qsl import QuerySampleLibrary

SCENARIOS: dict[str, lg.TestScenario] = {
    "SingleStream": lg.TestScenario.SingleStream,
    "MultiStream": lg.TestScenario.MultiStream,
    "Server": lg.TestScenario.Server,
    "Offline": lg.TestScenario.Offline,
}
TEST_MODES: dict[str, lg.TestMode] = {
    "accuracy": lg.TestMode.AccuracyOnly,
    "performance": lg.TestMode.PerformanceOnly,
}


class LoadGenError(RuntimeError):
    """LoadGen refused the settings or failed; the message says which input."""


class SystemUnderTest(Protocol):
    def issue_query(self, query_samples: list[lg.QuerySample]) -> None: ...

    def flush_queries(self) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


def test_settings(
    user_conf: Path, model: str, scenario: str, mode: str, seeds: Mapping[str, int] | None = None
) -> lg.TestSettings:
    """LoadGen settings: the built-in round config, then `user_conf` on top; `seeds`, the round's, must be those
    this LoadGen applies (they are compiled in: a LoadGen of another round gives results of another round)."""
    settings = lg.TestSettings()
    settings.scenario = SCENARIOS[scenario]
    settings.mode = TEST_MODES[mode]
    status = settings.FromConfig(str(user_conf), model, scenario, 1)
    if status != 0:
        raise LoadGenError(f"LoadGen rejected {user_conf} (status {status}); check its keys and values")
    if settings.qsl_rng_seed == 0:
        raise LoadGenError(
            "LoadGen did not apply its built-in mlperf.conf (seeds are 0): it does so only for the first "
            "test of a process; run each test in a new `python -m harness run` process"
        )
    wrong = {key: getattr(settings, key) for key, value in (seeds or {}).items() if getattr(settings, key) != value}
    if wrong:
        applied = ", ".join(f"{key}={value}" for key, value in sorted(wrong.items()))
        wanted = ", ".join(f"{key}={(seeds or {})[key]}" for key in sorted(wrong))
        raise LoadGenError(
            f"this LoadGen applies {applied}, not the round's {wanted}: its results would not be of this round; "
            "run the image of the round (images/*.yaml `round:`), whose LoadGen carries its seeds"
        )
    return settings


def run_test(
    sut: SystemUnderTest,
    library: QuerySampleLibrary,
    settings: lg.TestSettings,
    log_dir: Path,
    audit_config: Path | None = None,
) -> None:
    """Run one LoadGen test; its mlperf_log_* files land in `log_dir`.

    With `audit_config` (a compliance test's audit.config) the test runs as that compliance test.
    """
    log_dir = log_dir.absolute()
    log_dir.mkdir(parents=True, exist_ok=True)
    output = lg.LogOutputSettings()
    output.outdir = str(log_dir)
    output.copy_summary_to_stdout = False
    log_settings = lg.LogSettings()
    log_settings.log_output = output
    log_settings.enable_trace = False
    # LoadGen looks for audit.config in the working directory: the test runs in `log_dir`, which holds a copy
    # of the compliance test's file or none at all (an audit.config in the image's working directory would
    # otherwise silently turn a submission run into a compliance test).
    audit = log_dir / "audit.config"
    audit.unlink(missing_ok=True)
    if audit_config is not None:
        shutil.copyfile(audit_config, audit)

    qsl = lg.ConstructQSL(library.total_count, library.performance_count, library.load, library.unload)
    lg_sut = lg.ConstructSUT(sut.issue_query, sut.flush_queries)
    failure: list[BaseException] = []

    def start() -> None:
        try:
            lg.StartTestWithLogSettings(lg_sut, qsl, settings, log_settings, str(audit))
        except BaseException as error:  # re-raised in the main thread
            failure.append(error)

    sut.start()
    with _working_directory(log_dir):
        thread = threading.Thread(target=start, name="loadgen", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(timeout=0.2)  # returns to Python regularly so signal handlers can run
    sut.stop()
    lg.DestroySUT(lg_sut)
    lg.DestroyQSL(qsl)
    if failure:
        raise LoadGenError(f"LoadGen failed: {failure[0]}") from failure[0]


@contextlib.contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)
