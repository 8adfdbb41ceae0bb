"""The seam between host and harness holds: `msb` reaches the harness only through its contract (the package
`harness.contract`: the run spec and record, and the tree layout both sides share), and the contract is plain data
that needs nothing but the standard library (so the host never imports LoadGen, numpy or a runtime)."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

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


# The floors are stated once, in docs/ARCHITECTURE.md's two floor tables, and read from there: the document cannot
# drift from the code, and a new folder must be given its floor (and its job) there before its tests pass.
ARCHITECTURE = REPO / "docs" / "ARCHITECTURE.md"
EDGES = ("subprocess", "shutil", "socket", "sqlite3", "urllib", "docker", "msb.engine")


@dataclass(frozen=True)
class Floor:
    number: int
    names: tuple[str, ...]  # folders and root modules of the package, as `harness.<name>` / `msb.<name>` say them
    side_effects: str


def floors(heading: str) -> list[Floor]:
    """The rows of the floor table under `heading`: | floor | where | job | side effects |."""
    text = ARCHITECTURE.read_text()
    assert heading in text, f"docs/ARCHITECTURE.md has no section {heading!r}"
    table = text.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].isdigit():
            names = tuple(name.removesuffix("/").removesuffix(".py") for name in re.findall(r"`([^`]+)`", cells[1]))
            rows.append(Floor(int(cells[0]), names, cells[3]))
    assert rows, f"no floor rows under {heading!r}"
    return rows


HOST_FLOORS = "## The host side by floor"
HARNESS_FLOORS = "## The harness by stage"


def floor_of(module: str, table: list[Floor]) -> Floor:
    """The floor of `pkg.X...` (X a folder or a root module of the package)."""
    part = module.split(".")[1]
    found = [floor for floor in table if part in floor.names]
    assert len(found) == 1, f"{module}: {part} stands on {len(found)} floors of docs/ARCHITECTURE.md; give it one"
    return found[0]


def package_modules(package: str) -> list[tuple[Path, str]]:
    return [
        (path, ".".join(path.relative_to(REPO).with_suffix("").parts))
        for path in sorted((REPO / package).rglob("*.py"))
        if not (path.parent == REPO / package and path.stem == "__init__")
    ]


@pytest.mark.parametrize(("package", "heading"), [("msb", HOST_FLOORS), ("harness", HARNESS_FLOORS)])
def test_every_folder_stands_on_one_floor_and_no_import_runs_back_up(package: str, heading: str) -> None:
    table = floors(heading)
    offenders = set()
    for path, module in package_modules(package):
        mine = floor_of(module, table)
        for name in imported_modules(path):
            if name.startswith(f"{package}.") and floor_of(name, table).number < mine.number:
                offenders.add(f"{path.relative_to(REPO)} imports {name}, on a floor above its own")
    assert offenders == set()


@pytest.mark.parametrize(("package", "heading"), [("msb", HOST_FLOORS), ("harness", HARNESS_FLOORS)])
def test_every_floor_names_what_exists(package: str, heading: str) -> None:
    for floor in floors(heading):
        for name in floor.names:
            assert (REPO / package / name).is_dir() or (REPO / package / f"{name}.py").is_file(), (
                f"docs/ARCHITECTURE.md names {package}/{name} on floor {floor.number}; it does not exist"
            )


@pytest.mark.parametrize(("package", "heading"), [("msb", HOST_FLOORS), ("harness", HARNESS_FLOORS)])
def test_rows_without_side_effects_import_no_edge(package: str, heading: str) -> None:
    table = floors(heading)
    offenders = set()
    for path, module in package_modules(package):
        if floor_of(module, table).side_effects != "none":
            continue
        for name in imported_modules(path):
            if any(name == edge or name.startswith(f"{edge}.") for edge in EDGES):
                offenders.add(f"{path.relative_to(REPO)} imports {name}, yet its row says `none`")
    assert offenders == set()


def test_tests_mirror_the_code() -> None:
    # tests/msb/<package>/test_<module>.py tests msb/<package>/<module>.py (or the package msb/<package>/<module>/), and
    # the same for tests/harness/: a module's tests are found by its name. Tests of no one module live elsewhere
    # (tests/integration, tests/gpu, tests/speed, the two at the top).
    strays = []
    for top in ("msb", "harness"):
        for path in sorted((REPO / "tests" / top).rglob("test_*.py")):
            folder = REPO / path.parent.relative_to(REPO / "tests")
            name = path.stem.removeprefix("test_")
            if not ((folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file()):
                strays.append(f"{path.relative_to(REPO)} names no module {folder.relative_to(REPO)}/{name}(.py)")
    assert not strays, "\n".join(strays)


def test_the_cluster_plan_is_pure() -> None:
    """Chains, Slurm's words and a unit's status are data: Slurm's CLI, Docker and files are the edges' job."""
    edges = {"subprocess", "shutil", "msb.cluster.slurm", "msb.cluster.submit", "msb.cluster.node", "msb.engine"}
    for name in ("chain.py", "jobs.py", "unit_status.py", "array.py"):
        assert imported_modules(REPO / "msb" / "cluster" / name) & edges == set(), name
