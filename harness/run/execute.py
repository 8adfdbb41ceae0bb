"""One harness run, start to finish: dataset, cache, backend, LoadGen, accuracy, staged results.

Everything is written into the run's staging folder and moved into the submission tree only after the run
completed; any exception (or an interrupt) discards the staging folder, so the tree never holds a partial
result.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from harness.backends.base import Backend, BackendInfo
from harness.backends.registry import get_backend
from harness.benchmarks.base import (
    AccuracyReport,
    Benchmark,
    CompactBenchmark,
    Sample,
    varying_input_of,
)
from harness.benchmarks.registry import effective_options, get_benchmark
from harness.cache import PreprocessedCache, cache_namespace
from harness.compliance.results import PriorResults, find_prior_results, write_test_dir
from harness.contract import ACCURACY, Figures, LoadGenSettings, RunSpec
from harness.contract.layout import ResultLayout, layout_of_round
from harness.loadgen.launch import run_test, test_settings
from harness.loadgen.pipeline import PipelinedServerSUT, PipelinedSUT
from harness.loadgen.qsl import QuerySampleLibrary, SampleLibrary, prepare_samples
from harness.loadgen.resident import ResidentBackend, ResidentLibrary
from harness.loadgen.sut import BatchingSUT, Responder, ServerSUT
from harness.loadgen.userconf import render_user_conf
from harness.results.loadgen_logs import (
    code_readme,
    measurements_json,
    measurements_readme,
    parse_summary,
    performance_figures,
)
from harness.results.provenance import describe_inputs, loadgen_facts
from harness.results.staging import Staging
from harness.run.checks import RunError, check_audit_config, check_batching, check_input_shape, check_model
from harness.run.outcome import RunOutcome

# LoadGen's log files copied into a result folder (the trace is disabled; the rest stays in staging).
_PERFORMANCE_LOGS = ("mlperf_log_summary.txt", "mlperf_log_detail.txt")
_ACCURACY_LOGS = (*_PERFORMANCE_LOGS, "mlperf_log_accuracy.json")
_SERVER_WORKERS = 2


@dataclass(frozen=True)
class _Run:
    """A validated spec with its paths as Paths, and the command line recorded in the measurements README."""

    spec: RunSpec
    command: str

    @property
    def dataset(self) -> Path:
        return Path(self.spec.dataset)

    @property
    def model(self) -> Path:
        return Path(self.spec.model)

    @property
    def output(self) -> Path:
        return Path(self.spec.output)

    @property
    def cache_dir(self) -> Path:
        return Path(self.spec.cache_dir) if self.spec.cache_dir else self.output / ".cache" / "preprocessed"

    @property
    def loadgen(self) -> LoadGenSettings:
        """The spec's settings; with `count`, LoadGen's performance sample count follows it unless set."""
        settings = self.spec.loadgen
        if settings.performance_sample_count is None and self.spec.count is not None:
            settings = replace(settings, performance_sample_count=self.spec.count)
        return settings

    @property
    def compliance(self) -> str | None:
        return self.spec.compliance.test if self.spec.compliance else None


def execute(spec: RunSpec, command: str) -> RunOutcome:
    """Run LoadGen once for `spec` and place its results; raises on any failure, leaving no result.

    `command` is how the run was asked for, recorded in the measurements README."""
    request = _Run(spec, command)
    benchmark = get_benchmark(spec.benchmark, spec.benchmark_options)
    check_model(request.model)
    check_batching(benchmark, spec.backend.batch_size)
    system_json = None if spec.system_json is None else json.dumps(spec.system_json, indent=2, sort_keys=True) + "\n"
    samples = benchmark.list_samples(request.dataset, spec.count)
    layout = ResultLayout(
        spec.submitter,
        spec.system,
        benchmark.name,
        spec.scenario,
        spec.implementation,
        division=spec.division,
        kind=layout_of_round(spec.round),
    )
    prior = None
    if spec.compliance is not None:
        check_audit_config(spec.compliance.test, spec.compliance.audit_config)
        prior = find_prior_results(request.output, layout, spec.compliance.test)
    staging = Staging.open(request.output)
    try:
        if prior is None:
            outcome = _run_staged(request, benchmark, samples, layout, staging, system_json)
        else:
            outcome = _run_compliance(request, benchmark, samples, layout, staging, prior)
    except BaseException:
        staging.discard()
        raise
    return outcome


def _run_staged(
    request: _Run,
    benchmark: Benchmark,
    samples: list[Sample],
    layout: ResultLayout,
    staging: Staging,
    system_json: str | None,
) -> RunOutcome:
    # The backend first: a bad model or a missing GPU fails in seconds, before the dataset is decoded.
    backend = _load_backend(request, benchmark)
    library, preprocessed = _sample_library(request, benchmark, samples, backend)

    measurements = staging.path / layout.measurements_dir
    measurements.mkdir(parents=True)
    user_conf = measurements / "user.conf"
    user_conf.write_text(render_user_conf(benchmark.name, request.spec.scenario, request.loadgen))
    log_dir = staging.path / "loadgen"
    _measure(request, benchmark, backend, library, user_conf, log_dir)
    provenance = _provenance(request, benchmark, samples, log_dir)

    result_dir = staging.path / layout.result_dir(request.spec.mode)
    accuracy = _collect_logs(request, benchmark, samples, log_dir, result_dir)
    info = backend.info()
    _write_records(request, benchmark, layout, staging, info, system_json)
    placed = staging.commit(layout.units(request.spec.mode, with_system_json=system_json is not None))
    return RunOutcome(
        summary=parse_summary((placed[0] / "mlperf_log_summary.txt").read_text()),
        accuracy=accuracy,
        result_dir=placed[0],
        placed=tuple(placed),
        accuracy_dirs=(layout.result_dir(ACCURACY),) if request.spec.mode == ACCURACY else (),
        samples=len(samples),
        preprocessed=preprocessed,
        backend=info,
        provenance=provenance,
        readme=layout.measurements_dir / "README.md",
        performance=_performance(placed[0], request.spec),
    )


def _run_compliance(
    request: _Run,
    benchmark: Benchmark,
    samples: list[Sample],
    layout: ResultLayout,
    staging: Staging,
    prior: PriorResults,
) -> RunOutcome:
    """A compliance test: the performance run under its audit.config, verified and placed as its TEST folder.

    Only the TEST folder is placed: the submission's user.conf and README describe its own runs.
    """
    test = str(request.compliance)
    backend = _load_backend(request, benchmark)
    library, preprocessed = _sample_library(request, benchmark, samples, backend)
    user_conf = staging.path / "user.conf"
    user_conf.write_text(render_user_conf(benchmark.name, request.spec.scenario, request.loadgen))
    log_dir = staging.path / "loadgen"
    audit_config = staging.path / "audit.config"
    audit_config.write_text(request.spec.compliance.audit_config if request.spec.compliance else "")
    _measure(request, benchmark, backend, library, user_conf, log_dir, audit_config)
    provenance = _provenance(request, benchmark, samples, log_dir)

    def score(log: Path) -> AccuracyReport:
        return benchmark.accuracy(log, request.dataset, samples)

    verdict = write_test_dir(test, log_dir, staging.path / layout.compliance_dir(test), prior, score)
    placed = staging.commit([layout.compliance_dir(test)])
    return RunOutcome(
        summary=parse_summary((placed[0] / "performance" / "run_1" / "mlperf_log_summary.txt").read_text()),
        accuracy=None,
        result_dir=placed[0],
        placed=tuple(placed),
        # TEST01 keeps its own accuracy log, which is truncated like the submission's.
        accuracy_dirs=(layout.compliance_dir(test) / ACCURACY,) if test == "TEST01" else (),
        samples=len(samples),
        preprocessed=preprocessed,
        backend=backend.info(),
        compliance=verdict,
        provenance=provenance,
        performance=_performance(placed[0] / "performance" / "run_1", request.spec),
    )


def _performance(run_dir: Path, spec: RunSpec) -> Figures:
    """LoadGen's performance figures, from the detail log placed beside the summary; none in an accuracy run."""
    if spec.mode == ACCURACY:
        return Figures()
    return performance_figures((run_dir / "mlperf_log_detail.txt").read_text(), spec.scenario)


def _provenance(request: _Run, benchmark: Benchmark, samples: list[Sample], log_dir: Path) -> dict[str, Any]:
    inputs = describe_inputs(benchmark, request.dataset, samples, request.model)
    return {**inputs, "loadgen": loadgen_facts(log_dir / "mlperf_log_detail.txt")}


def _sample_library(
    request: _Run, benchmark: Benchmark, samples: list[Sample], backend: Backend
) -> tuple[QuerySampleLibrary, int]:
    """The samples preprocessed (or read from the cache); returns the library and how many were made now.

    A backend that keeps samples on its devices (ResidentBackend) gets them in the benchmark's compact form
    where it has one; the others get the preprocessed arrays in host memory."""
    compact = benchmark if isinstance(benchmark, CompactBenchmark) else None
    workers = None
    # Samples of varying shape take the host path: no one-shape device store holds them.
    if isinstance(backend, ResidentBackend) and varying_input_of(benchmark) is None:
        form = compact.compact_form if compact else None
        workers = backend.resident_workers(form, benchmark.input_shape, request.spec.backend.batch_size)
    workers_count = os.cpu_count() or 1
    if workers:
        namespace = f"{benchmark.name}-{compact.compact_form.version}" if compact else cache_namespace(benchmark)
        preprocess = compact.compact if compact else benchmark.preprocess
        cache = PreprocessedCache(request.cache_dir, namespace)
        entries, preprocessed = prepare_samples(samples, preprocess, cache, workers_count)
        return ResidentLibrary(entries, len(entries), workers), preprocessed
    cache = PreprocessedCache(request.cache_dir, cache_namespace(benchmark))
    entries, preprocessed = prepare_samples(samples, benchmark.preprocess, cache, workers_count)
    return SampleLibrary(entries, performance_count=len(entries)), preprocessed


def _measure(
    request: _Run,
    benchmark: Benchmark,
    backend: Backend,
    library: QuerySampleLibrary,
    user_conf: Path,
    log_dir: Path,
    audit_config: Path | None = None,
) -> None:
    """The LoadGen test itself; raises if any inference failed."""
    settings = test_settings(user_conf, benchmark.name, request.spec.scenario, request.spec.mode, request.spec.seeds)
    batch_size = request.spec.backend.batch_size
    sut: BatchingSUT | ServerSUT | PipelinedSUT
    if isinstance(library, ResidentLibrary):
        wait_ms = float(request.spec.backend.options.get("max_batch_wait_ms", 1.0))
        if request.spec.scenario == "Server":
            sut = PipelinedServerSUT(library, benchmark, batch_size, max_wait_s=wait_ms / 1000)
        else:
            sut = PipelinedSUT(library, benchmark, batch_size)
    else:
        assert isinstance(library, SampleLibrary)
        responder = Responder(backend, benchmark, library)
        if request.spec.scenario == "Server":
            sut = ServerSUT(responder, batch_size, workers=_SERVER_WORKERS)
        else:
            sut = BatchingSUT(responder, batch_size)
    run_test(sut, library, settings, log_dir, audit_config)
    try:
        sut.raise_if_failed()
    except Exception as error:
        raise RunError(
            f"inference failed during the LoadGen test ({type(error).__name__}: {error}); no results were placed"
        ) from error


def _collect_logs(
    request: _Run, benchmark: Benchmark, samples: list[Sample], log_dir: Path, result_dir: Path
) -> AccuracyReport | None:
    """Copy LoadGen's logs into the result folder; in accuracy mode, score them into accuracy.txt."""
    result_dir.mkdir(parents=True)
    names = _ACCURACY_LOGS if request.spec.mode == "accuracy" else _PERFORMANCE_LOGS
    for name in names:
        shutil.copyfile(log_dir / name, result_dir / name)
    if request.spec.mode != "accuracy":
        return None
    accuracy = benchmark.accuracy(result_dir / "mlperf_log_accuracy.json", request.dataset, samples)
    (result_dir / "accuracy.txt").write_text(accuracy.line + "\n")
    return accuracy


def _write_records(
    request: _Run,
    benchmark: Benchmark,
    layout: ResultLayout,
    staging: Staging,
    info: BackendInfo,
    system_json: str | None,
) -> None:
    """Measurements JSON and README, the code README and the system description, into staging."""
    measurements = staging.path / layout.measurements_dir
    (measurements / layout.measurements_json_name).write_text(measurements_json(request.model.name, info))
    readme = measurements_readme(
        benchmark.name,
        request.spec.scenario,
        request.spec.mode,
        request.command,
        info,
        request.spec.run_info,
        effective_options(benchmark.name, request.spec.benchmark_options),
    )
    (measurements / "README.md").write_text(readme)
    code_dir = staging.path / layout.code_dir
    code_dir.mkdir(parents=True)
    preprocessing = cache_namespace(benchmark)
    (code_dir / "README.md").write_text(code_readme(benchmark.name, request.spec.implementation, info, preprocessing))
    if system_json is not None:
        (staging.path / layout.system_json).parent.mkdir(parents=True)
        (staging.path / layout.system_json).write_text(system_json)


def _load_backend(request: _Run, benchmark: Benchmark) -> Backend:
    backend = get_backend(
        request.spec.backend.name,
        benchmark=benchmark.name,
        device=request.spec.backend.device,
        precision=request.spec.backend.precision,
        threads=request.spec.backend.threads,
        output_names=benchmark.output_names,
        options=request.spec.backend.options,
        cache_dir=request.cache_dir.parent,
        batch_size=request.spec.backend.batch_size,
    )
    backend.load(request.model)
    check_input_shape(backend, request.model, benchmark)
    # A batch of the run's shape, so first-call allocation and tuning happen outside the timed run.
    backend.warmup(np.zeros((request.spec.backend.batch_size, *benchmark.input_shape), dtype=benchmark.input_dtype))
    return backend
