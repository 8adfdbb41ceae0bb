"""The seam between host and harness holds: `msb` reaches the harness only through its contract (the package
`harness.contract`: the run spec and record, and the tree layout both sides share), and the contract is plain data
that needs nothing but the standard library (so the host never imports LoadGen, numpy or a runtime)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONTRACT = REPO / "harness" / "contract"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def in_contract(name: str) -> bool:
    return name == "harness.contract" or name.startswith("harness.contract.")


def test_msb_imports_nothing_of_the_harness_but_its_contract() -> None:
    offenders = {
        f"{path.relative_to(REPO)}: {name}"
        for path in (REPO / "msb").rglob("*.py")
        for name in imported_modules(path)
        if (name == "harness" or name.startswith("harness.")) and not in_contract(name)
    }
    assert offenders == set()


def test_the_contract_needs_only_the_standard_library_and_itself() -> None:
    for path in CONTRACT.rglob("*.py"):
        outside = {
            name
            for name in imported_modules(path)
            if name.split(".")[0] not in sys.stdlib_module_names and name != "__future__" and not in_contract(name)
        }
        assert outside == set(), path


def test_only_the_command_line_reaches_up_into_the_cluster_package() -> None:
    """msb/cluster drives the run machinery; nothing of it (run, descriptions, image, submission) imports back."""
    offenders = {
        str(path.relative_to(REPO))
        for path in (REPO / "msb").rglob("*.py")
        if path.parent.name != "cluster" and path.name != "cli.py"
        for name in imported_modules(path)
        if name == "msb.cluster" or name.startswith("msb.cluster.")
    }
    assert offenders == set()


def test_the_cluster_plan_is_pure() -> None:
    """Chains, Slurm's words and a unit's status are data: Slurm's CLI, Docker and files are the edges' job."""
    edges = {"subprocess", "shutil", "msb.cluster.slurm", "msb.cluster.submit", "msb.cluster.node", "msb.engine"}
    for name in ("chain.py", "jobs.py", "unit_status.py"):
        assert imported_modules(REPO / "msb" / "cluster" / name) & edges == set(), name
