"""The run contract between the host (`build.py`) and the harness: what is asked of one run, and what it did.

Pure data and its JSON form, standard library only: the only module of `harness` that `msb` imports. The host writes
a `RunSpec` as `spec.json` into the run's folder, the harness runs from it (`python -m harness run --spec FILE`) and
writes a `RunRecord` as `record.json` beside it. The host learns what happened from the record alone, never from the
harness's paths or file times. Auditors typing flags by hand get the same `RunSpec` (`harness.entry.cli` parses both).

Every word both sides share is defined here once: scenarios, modes, compliance tests, outcomes, exit codes, the
container's mount points, the name rule.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

# One version for spec and record, host and image: the harness refuses a spec of another schema, so a host never runs
# an image whose record it cannot read. Bumped when either side could not read what the other writes (2: the
# record's figures carry LoadGen's performance figures). Records of an earlier schema still decode.
SCHEMA = 2
SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
MODES = ("accuracy", "performance")
ACCURACY, PERFORMANCE = MODES
COMPLIANCE_TESTS = ("TEST01", "TEST04")
DIVISIONS = ("closed", "open")
SEEDS = ("qsl_rng_seed", "sample_index_rng_seed", "schedule_rng_seed")
# The MLPerf round meant where none is named: a system description without `round:`, `system detect`, the
# submission tools' --round.
CURRENT_ROUND = "v6.1"
# find-peak's trials: each runs this long unless the spec says otherwise (LoadGen's duration sets the length), and
# the search stops after this many.
FIND_PEAK_TRIAL_MS = 10000
FIND_PEAK_MAX_TRIALS = 8

# Where the host mounts things in the container.
CONTAINER_EXPERIMENT = "/work/experiment"
CONTAINER_DATASET = "/data/dataset"
CONTAINER_MODEL_DIR = "/data/model"
SPEC_FILE = "spec.json"
RECORD_FILE = "record.json"

# A name that becomes a folder or file name (system, submitter, benchmark, implementation, image): one path
# component, no hidden file, nothing a shell or a checker trips on.
NAME_RULE = "letters, digits, '.', '_' and '-', starting with a letter or digit, without '..'"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class ContractError(ValueError):
    """A spec or record does not follow the contract; the message names the field and what it must be."""


class Outcome(str, enum.Enum):
    """What a run did, as the record states it."""

    PLACED = "placed"  # results moved into the tree
    VERIFICATION_FAILED = "placed-verification-failed"  # a compliance test placed its results but failed verification
    REFUSED = "refused"  # bad input, nothing placed
    INTERRUPTED = "interrupted"  # SIGINT/SIGTERM (or the host went away), nothing placed
    ERROR = "error"  # the run failed, nothing placed


class Exit(enum.IntEnum):
    """The harness's exit status for each outcome. A Python crash exits 1 too, so 1 always means error."""

    OK = 0
    ERROR = 1
    REFUSED = 2
    VERIFICATION_FAILED = 3
    INTERRUPTED_SIGINT = 130
    INTERRUPTED_SIGTERM = 143


EXIT_OF = {
    Outcome.PLACED: Exit.OK,
    Outcome.VERIFICATION_FAILED: Exit.VERIFICATION_FAILED,
    Outcome.REFUSED: Exit.REFUSED,
    Outcome.ERROR: Exit.ERROR,
    Outcome.INTERRUPTED: Exit.INTERRUPTED_SIGTERM,
}

# What each exit status of a command means. The help texts auditors read are rendered from these tables
# (harness/entry/help_texts.py), so the words beside a status cannot drift from the status the code returns.
RUN_EXITS: dict[Exit, str] = {
    Exit.OK: "results placed",
    Exit.ERROR: "an error; nothing placed",
    Exit.REFUSED: "bad input, refused; nothing placed",
    Exit.VERIFICATION_FAILED: "a compliance test's results placed, but its verification failed",
    Exit.INTERRUPTED_SIGINT: "interrupted (SIGINT); nothing placed",
    Exit.INTERRUPTED_SIGTERM: "interrupted (SIGTERM, or the host went away); nothing placed",
}
FIND_PEAK_EXITS: dict[Exit, str] = {
    Exit.OK: "a peak found (printed last)",
    Exit.ERROR: "no trial was VALID, or a trial failed",
    Exit.REFUSED: "bad input, or --result-json could not be written",
    Exit.INTERRUPTED_SIGINT: "interrupted (SIGINT or SIGTERM)",
}

# The batch size of a run that states none: auditors' flags without --batch-size, a spec or system description
# without `batch_size`. One value, not one per scenario: a larger batch is a guess about a device that the
# system description states for its own (find-peak and explore measure it).
DEFAULT_BATCH_SIZE = 1


def is_name(text: object) -> bool:
    return isinstance(text, str) and _NAME.fullmatch(text) is not None and ".." not in text


def check_name(text: object, what: str) -> str:
    """`text` if it is usable as one path component; else a ContractError naming `what` and the rule."""
    if not is_name(text):
        raise ContractError(f"{what} {text!r} is not a valid name: use {NAME_RULE}")
    return str(text)


@dataclass(frozen=True)
class LoadGenSettings:
    """User settings of one scenario, written to user.conf; None leaves LoadGen's (the round's) value."""

    target_qps: float | None = None
    target_latency_ms: float | None = None
    min_duration_ms: int | None = None
    min_query_count: int | None = None
    samples_per_query: int | None = None
    performance_sample_count: int | None = None


@dataclass(frozen=True)
class BackendSpec:
    name: str  # "onnxruntime", "pytorch", "tensorrt"
    device: str = "cpu"  # "cpu", "cuda", "cuda:N": never falls back
    precision: str = "fp32"
    batch_size: int = DEFAULT_BATCH_SIZE
    threads: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # checked against the backend's declared options


@dataclass(frozen=True)
class ComplianceSpec:
    test: str  # "TEST01", "TEST04"
    audit_config: str  # the text of the test's audit.config, as the round publishes it


@dataclass(frozen=True)
class RunSpec:
    """Everything the host asks of one run. Paths are as the harness sees them (inside the container)."""

    benchmark: str
    scenario: str
    mode: str
    round: str
    division: str
    submitter: str
    system: str
    dataset: str
    model: str
    output: str  # the experiment folder: results go to output/<division>/<submitter>/...
    backend: BackendSpec
    loadgen: LoadGenSettings = field(default_factory=LoadGenSettings)
    # Settings of the benchmark itself (e.g. YOLO's padding), checked against the options the benchmark declares.
    benchmark_options: dict[str, Any] = field(default_factory=dict)
    impl: str | None = None  # implementation name; default BACKEND-DEVICE
    count: int | None = None  # use the first N samples
    cache_dir: str | None = None  # preprocessed samples; default output/.cache/preprocessed
    system_json: dict[str, Any] | None = None  # placed as systems/<system>.json
    compliance: ComplianceSpec | None = None  # a compliance test: a performance run that audit.config alters
    run_info: dict[str, Any] | None = None  # how the host started the run (recorded in the measurements README)
    # The round's LoadGen seeds (qsl_rng_seed, sample_index_rng_seed, schedule_rng_seed): LoadGen compiles its
    # round's in and user.conf cannot change them, so a LoadGen of another round is refused before it runs.
    seeds: dict[str, int] | None = None
    allow_root: bool = False  # the harness refuses uid 0 unless this is set
    exit_on_stdin_eof: bool = False  # the host holds stdin open: EOF means it is gone, so stop (no orphan runs)
    schema: int = SCHEMA

    @property
    def implementation(self) -> str:
        return self.impl or f"{self.backend.name}-{self.backend.device.partition(':')[0]}"

    def validate(self) -> RunSpec:
        """Check every field a path or LoadGen depends on; returns self so it chains."""
        if self.schema != SCHEMA:
            raise ContractError(f"spec schema {self.schema} is not {SCHEMA}: host and image are of different versions")
        _choice(self.scenario, SCENARIOS, "scenario")
        _choice(self.mode, MODES, "mode")
        _choice(self.division, DIVISIONS, "division")
        for what in ("benchmark", "submitter", "system", "round"):
            check_name(getattr(self, what), what)
        check_name(self.implementation, "impl")
        check_name(self.backend.name, "backend")
        if self.backend.batch_size < 1:
            raise ContractError(f"backend.batch_size {self.backend.batch_size} is not a whole number of 1 or more")
        if self.count is not None and self.count < 1:
            raise ContractError(f"count {self.count} is not a whole number of 1 or more")
        if self.compliance is not None:
            _choice(self.compliance.test, COMPLIANCE_TESTS, "compliance.test")
            if self.mode != PERFORMANCE:
                raise ContractError(f"compliance test {self.compliance.test} is a performance run, not {self.mode}")
        if self.loadgen.samples_per_query is not None and self.scenario != "MultiStream":
            raise ContractError(f"samples_per_query applies to MultiStream only, not {self.scenario}")
        unknown_seeds = sorted(set(self.seeds or {}) - set(SEEDS))
        if unknown_seeds:
            raise ContractError(f"seeds: unknown key(s) {', '.join(unknown_seeds)}; valid: {', '.join(SEEDS)}")
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (self.seeds or {}).values()):
            raise ContractError(f"seeds must be whole numbers, not {self.seeds}")
        for key, value in asdict(self.loadgen).items():
            if value is not None and not value > 0:
                raise ContractError(f"loadgen.{key} {value} is not above 0")
        return self


@dataclass(frozen=True)
class Figures:
    """The figures of a run, as the harness read them from LoadGen's logs: the headline from the summary, the
    performance figures from the detail log (`result_*` keys), so that the host never parses LoadGen's logs.

    Every performance figure is None in an accuracy run, and where LoadGen logged none for the scenario (a latency
    scenario has no samples/s, Offline no QPS, MultiStream no throughput at all). Latencies are in milliseconds;
    MultiStream's are per query, as its summary states them (one query holds samples_per_query samples)."""

    validity: str = ""  # "VALID", "INVALID", "" (accuracy runs)
    metric: str = ""  # e.g. "Samples per second"
    value: float | None = None
    accuracy: str | None = None  # accuracy.txt's line
    # Added in schema 2: a record of schema 1 decodes with all of these None.
    mean_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p97_ms: float | None = None
    p99_ms: float | None = None
    p99_9_ms: float | None = None
    samples_per_second: float | None = None  # Offline: samples per second; Server: completed samples per second
    scheduled_samples_per_second: float | None = None  # Server
    qps_with_loadgen_overhead: float | None = None  # SingleStream
    qps_without_loadgen_overhead: float | None = None  # SingleStream


@dataclass(frozen=True)
class RunRecord:
    """What the harness did. Paths are relative to the experiment folder."""

    outcome: Outcome
    message: str = ""  # the error, or the verification verdict
    units: tuple[str, ...] = ()  # result units placed (folders or files), the result folder first
    files: tuple[str, ...] = ()  # every file in those units, sorted: what proves the run is still in the tree
    accuracy_dirs: tuple[str, ...] = ()  # folders whose mlperf_log_accuracy.json is to be truncated
    figures: Figures = field(default_factory=Figures)
    backend: dict[str, Any] = field(default_factory=dict)  # what the backend ran on
    verifications: dict[str, str] = field(default_factory=dict)  # compliance: verify_*.txt -> its verdict line
    # What the run was made from (harness.results.provenance): dataset files read, model, LoadGen build and
    # effective seeds.
    provenance: dict[str, Any] = field(default_factory=dict)
    readme: str = ""  # the measurements README the run wrote, relative to the experiment ("" for compliance tests)
    started: str = ""  # ISO 8601, UTC
    finished: str = ""
    schema: int = SCHEMA

    @property
    def placed(self) -> bool:
        return self.outcome in (Outcome.PLACED, Outcome.VERIFICATION_FAILED)

    @property
    def exit_code(self) -> int:
        return int(EXIT_OF[self.outcome])


def to_json(value: RunSpec | RunRecord) -> str:
    """Stable JSON (sorted keys): two specs or records diff line by line."""
    return json.dumps(_plain(value), indent=2, sort_keys=True) + "\n"


def spec_from_json(text: str, where: str = "spec") -> RunSpec:
    data = _load(text, where)
    try:
        values = _fields(RunSpec, data, where)
        values["backend"] = BackendSpec(**_fields(BackendSpec, values["backend"], f"{where} backend"))
        if "loadgen" in values:
            values["loadgen"] = LoadGenSettings(**_fields(LoadGenSettings, values["loadgen"], f"{where} loadgen"))
        if values.get("compliance") is not None:
            given = _fields(ComplianceSpec, values["compliance"], f"{where} compliance")
            values["compliance"] = ComplianceSpec(**given)
        spec = RunSpec(**values)
    except TypeError as error:  # a missing required field
        raise ContractError(f"{where}: {error}") from None
    _check_types(spec, where)
    return spec.validate()


def record_from_json(text: str, where: str = "record") -> RunRecord:
    data = _load(text, where)
    try:
        values = _fields(RunRecord, data, where)
        values["outcome"] = Outcome(values["outcome"])
        values["figures"] = Figures(**_fields(Figures, values.get("figures") or {}, f"{where} figures"))
        for key in ("units", "files", "accuracy_dirs"):
            values[key] = tuple(str(item) for item in values.get(key) or ())
        record = RunRecord(**values)
    except (TypeError, ValueError, KeyError) as error:
        raise ContractError(f"{where} is not a run record: {error}") from None
    _check_scalars(record.figures, "figures.", where)
    return record


def with_output(spec: RunSpec, output: str, cache_dir: str | None) -> RunSpec:
    """The same run written elsewhere (find-peak's trials write into a scratch folder)."""
    return replace(spec, output=output, cache_dir=cache_dir)


def _choice(value: object, valid: tuple[str, ...], what: str) -> None:
    if value not in valid:
        raise ContractError(f"{what} {value!r} is not one of: {', '.join(valid)}")


def _load(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ContractError(f"{where} is not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise ContractError(f"{where} must be a JSON object, not {type(data).__name__}")
    return data


def _fields(cls: type, data: object, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ContractError(f"{where} must be a JSON object, not {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ContractError(f"{where}: unknown field(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    return dict(data)


_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
}


def _check_types(spec: RunSpec, where: str) -> None:
    for obj, prefix in ((spec, ""), (spec.backend, "backend."), (spec.loadgen, "loadgen.")):
        _check_scalars(obj, prefix, where)
    for name, options in (("backend.options", spec.backend.options), ("benchmark_options", spec.benchmark_options)):
        if not isinstance(options, dict):
            raise ContractError(f"{where}: {name} must be a JSON object, not {options!r}")


def _check_scalars(obj: Any, prefix: str, where: str) -> None:
    """The scalar fields of `obj` have the JSON type their annotation says (bool is not taken for a number)."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        kinds = str(f.type).replace(" ", "").split("|")
        if value is None and "None" in kinds:
            continue
        wanted = [t for k in kinds for t in _TYPES.get(k, ())]
        if not wanted:
            continue
        ok = isinstance(value, tuple(wanted)) and not (isinstance(value, bool) and bool not in wanted)
        if not ok:
            raise ContractError(f"{where}: {prefix}{f.name} must be {' or '.join(kinds)}, not {value!r}")


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
