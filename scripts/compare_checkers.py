"""Compare our submission checker with MLCommons' official one, on a tree and on broken copies of it.

    python scripts/compare_checkers.py EXPERIMENT --official PATH --round v5.1

EXPERIMENT is a `build.py run` experiment folder (it holds closed/ and .msb/full-accuracy-logs/). PATH is a checkout of
mlcommons/inference: at the round's tag for v5.x, whose tools/submission/submission_checker.py is run; master for
v6.x, whose modular checker (`python -m submission_checker.main` in tools/submission) is run. Both are run from there,
never copied into this project. Each variant breaks one rule in a copy of closed/; both checkers must flag it, and
both must pass the intact tree. The v6 checker no longer checks tree hygiene (dotfiles, links, sizes): there ours
alone flags a dotfile, by design. Prints one line per case and exits 1 when they disagree.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def first(root: Path, pattern: str) -> Path:
    matches = sorted(root.glob(pattern))
    if not matches:
        raise SystemExit(f"error: the tree has no {pattern}; run the full matrix first")
    return matches[0]


def missing_file(root: Path, experiment: Path) -> None:
    first(root, "closed/*/results/*/*/*/performance/run_1/mlperf_log_detail.txt").unlink()


def untruncated_accuracy_log(root: Path, experiment: Path) -> None:
    accuracy = first(root, "closed/*/results/*/*/*/accuracy")
    relative = accuracy.relative_to(root)
    shutil.copyfile(experiment / ".msb" / "full-accuracy-logs" / relative / "mlperf_log_accuracy.json",
                    accuracy / "mlperf_log_accuracy.json")  # fmt: skip
    text = (accuracy / "accuracy.txt").read_text()
    (accuracy / "accuracy.txt").write_text("".join(line for line in text.splitlines(True) if "hash=" not in line))


def wrong_seeds(root: Path, experiment: Path) -> None:
    detail = first(root, "closed/*/results/*/*/*/performance/run_1/mlperf_log_detail.txt")
    text = re.sub(r'("key": "(?:requested|effective)_qsl_rng_seed", "value": )\d+', r"\g<1>12345", detail.read_text())
    detail.write_text(text)


def empty_system_field(root: Path, experiment: Path) -> None:
    system = first(root, "closed/*/systems/*.json")
    data = json.loads(system.read_text())
    data["host_processor_model_name"] = ""
    system.write_text(json.dumps(data, indent=2))


def dotfile(root: Path, experiment: Path) -> None:
    (first(root, "closed/*/results/*/*/*/performance/run_1") / ".DS_Store").write_text("")


def accuracy_under_target(root: Path, experiment: Path) -> None:
    txt = first(root, "closed/*/results/*/*/*/accuracy/accuracy.txt")
    txt.write_text(re.sub(r"accuracy=[\d.]+%", "accuracy=50.000%", txt.read_text()))


def invalid_performance(root: Path, experiment: Path) -> None:
    run = first(root, "closed/*/results/*/*/*/performance/run_1")
    summary = run / "mlperf_log_summary.txt"
    summary.write_text(summary.read_text().replace("Result is : VALID", "Result is : INVALID"))
    detail = run / "mlperf_log_detail.txt"
    detail.write_text(
        detail.read_text().replace('"result_validity", "value": "VALID"', '"result_validity", "value": "INVALID"')
    )


def missing_compliance_test(root: Path, experiment: Path) -> None:
    v6 = sorted(root.glob("closed/*/results/*/*/*/TEST04"))  # v6: beside the scenario's results; v5: compliance/
    shutil.rmtree(v6[0] if v6 else first(root, "closed/*/compliance/*/*/*/TEST04"))


VARIANTS: dict[str, Callable[[Path, Path], None]] = {
    "intact": lambda root, experiment: None,
    "missing file": missing_file,
    "untruncated accuracy log": untruncated_accuracy_log,
    "wrong seeds": wrong_seeds,
    "empty required system field": empty_system_field,
    "dotfile": dotfile,
    "accuracy under target": accuracy_under_target,
    "INVALID performance result": invalid_performance,
    "missing compliance test": missing_compliance_test,
}


@dataclass(frozen=True)
class Verdict:
    errors: frozenset[str]  # error findings (ours) or ERROR lines (official), paths relative to the tree
    failed: bool  # the checker's own pass/fail

    @property
    def count(self) -> int:
        return len(self.errors)


def ours(root: Path, round_name: str) -> Verdict:
    result = subprocess.run([sys.executable, str(REPO / "build.py"), "submission", "check", str(root), "--round",
                             round_name], capture_output=True, text=True, check=False)  # fmt: skip
    errors = frozenset(line for line in result.stdout.splitlines() if ": error: " in line)
    return Verdict(errors, result.returncode != 0)


# Variants only our checker flags in a round, by design: the v6 checker dropped the tree-hygiene checks.
OURS_ONLY = {"v6.0": {"dotfile"}, "v6.1": {"dotfile"}}


def official(root: Path, round_name: str, checkout: Path) -> Verdict:
    tools = checkout / "tools" / "submission"
    if round_name.startswith("v6"):
        command = [sys.executable, "-m", "submission_checker.main", "--input", str(root), "--version", round_name]
        env = {**os.environ, "PYTHONPATH": str(tools)}
    else:
        command = [sys.executable, str(tools / "submission_checker.py"), "--input", str(root), "--version", round_name]
        env = dict(os.environ)
    # It writes summary.csv into its working folder, which must not be the tree it checks.
    with tempfile.TemporaryDirectory(prefix="msb-official-") as cwd:
        result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, check=False)
    lines = (result.stdout + result.stderr).splitlines()
    errors = frozenset(line.split("] ", 1)[-1] for line in lines if re.search(r"\bERROR\]", line))
    return Verdict(errors, bool(errors) or result.returncode != 0)


def new_errors(verdict: Verdict, baseline: Verdict) -> list[str]:
    """What the checker reports on a broken copy and not on the intact tree: the variant is flagged when non-empty."""
    # The official checker's "NoResults ..." lines follow from another error; show the cause first.
    return sorted(verdict.errors - baseline.errors, key=lambda line: (line.startswith(("NoResults", "SUMMARY")), line))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", type=Path)
    parser.add_argument("--official", type=Path, required=True, help="mlcommons/inference checkout at the round's tag")
    parser.add_argument("--round", required=True)
    args = parser.parse_args()
    disagreements = 0
    baselines: tuple[Verdict, Verdict] | None = None
    for name, breaks in VARIANTS.items():
        with tempfile.TemporaryDirectory(prefix="msb-compare-") as tmp:
            root = Path(tmp) / "submission"
            shutil.copytree(args.experiment / "closed", root / "closed", symlinks=True)
            breaks(root, args.experiment)
            mine, theirs = ours(root, args.round), official(root, args.round, args.official)
        if baselines is None:  # the intact tree comes first
            baselines = (mine, theirs)
            agree = not mine.failed and not theirs.failed
            print(f"{'ok  ' if agree else 'DIFF'} {name}: ours {'fails' if mine.failed else 'passes'} "
                  f"({mine.count} errors) | official {'fails' if theirs.failed else 'passes'} "
                  f"({theirs.count} ERROR lines)")  # fmt: skip
        else:
            our_new, their_new = new_errors(mine, baselines[0]), new_errors(theirs, baselines[1])
            ours_only = name in OURS_ONLY.get(args.round, set())
            agree = bool(our_new) and (not their_new if ours_only else bool(their_new))
            print(f"{'ok  ' if agree else 'DIFF'} {name}: ours {'flags' if our_new else 'passes'}"
                  f" ({our_new[0][:110] if our_new else '-'}) | official {'flags' if their_new else 'passes'}"
                  f" ({their_new[0][:110] if their_new else '-'})")  # fmt: skip
        disagreements += not agree
    return 1 if disagreements else 0


if __name__ == "__main__":
    raise SystemExit(main())
