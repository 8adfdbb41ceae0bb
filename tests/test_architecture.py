"""The seam between host and harness holds: `msb` reaches the harness only through its contract and the tree layout,
and both are plain data that need nothing but the standard library (so the host never imports LoadGen, numpy or a
runtime). The layout is shared so that the harness writes the tree and our checker reads it by one definition."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = ("harness.contract", "harness.layout")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_msb_imports_nothing_of_the_harness_but_its_contract() -> None:
    offenders = {
        f"{path.relative_to(REPO)}: {name}"
        for path in (REPO / "msb").rglob("*.py")
        for name in imported_modules(path)
        if (name == "harness" or name.startswith("harness.")) and name not in SHARED
    }
    assert offenders == set()


def test_the_shared_modules_need_only_the_standard_library() -> None:
    for module in SHARED:
        imported = imported_modules(REPO / (module.replace(".", "/") + ".py"))
        assert {name.split(".")[0] for name in imported} <= set(sys.stdlib_module_names) | {"__future__"}, module
