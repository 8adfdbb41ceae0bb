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


# The harness's stages from the top down (docs/ARCHITECTURE.md draws them): a module imports only from its own
# folder or from one below it, so the folders read as the order a run's data takes and no import runs back up.
HARNESS_FLOORS = (
    ("__main__",),
    ("entry",),
    ("run",),
    ("compliance", "calibrate"),
    ("results", "loadgen"),
    ("backends",),
    ("cache",),
    ("benchmarks",),
    ("registries",),
    ("contract",),
)


def harness_floor(module: str) -> int:
    """The floor of `harness.X...` (X a folder or a root module): 0 is the top."""
    part = module.split(".")[1]
    floors = [index for index, names in enumerate(HARNESS_FLOORS) if part in names]
    assert floors, f"harness.{part} is on no floor of HARNESS_FLOORS; add it where it belongs"
    return floors[0]


def test_no_harness_import_runs_back_up() -> None:
    offenders = set()
    for path in (REPO / "harness").rglob("*.py"):
        if path.parent == REPO / "harness" and path.stem == "__init__":
            continue
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        for name in imported_modules(path):
            if name.startswith("harness.") and harness_floor(name) < harness_floor(module):
                offenders.add(f"{path.relative_to(REPO)} imports {name}")
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
