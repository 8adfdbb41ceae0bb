"""The documentation says what the code does: every `build.py` command in the README and docs/ parses with the real
parser, every `python -m` module exists, every `make` target is in the Makefile, every link points at a file, each
command page has a worked example, and the README stays a front page."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from msb.cli import parser
from msb.project import Project

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 150
PAGES = sorted((ROOT / "docs").glob("*.md"))
DOCUMENTS = [ROOT / "README.md", *PAGES]
# Pages that describe the code's structure or a file format rather than commands.
NO_EXAMPLE = {"ARCHITECTURE.md"}


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


def commands(text: str) -> list[list[str]]:
    """Each command line of the page's sh blocks as words: continuations joined, comments and `VAR=x` prefixes
    dropped, `a && b` split."""
    found: list[list[str]] = []
    for block in shell_blocks(text):
        pending = ""
        for line in block.replace("\\\n", " ").splitlines():
            try:
                words = shlex.split(pending + line, comments=True)
            except ValueError:  # a quoted string that goes on over the next line
                pending += line + "\n"
                continue
            pending = ""
            while words:
                cut = words.index("&&") if "&&" in words else len(words)
                command, words = words[:cut], words[cut + 1 :]
                while command and re.fullmatch(r"[A-Z_]+=.*", command[0]):
                    command = command[1:]
                if command:
                    found.append(command)
    return found


def all_commands() -> list[tuple[str, list[str]]]:
    return [(doc.name, words) for doc in DOCUMENTS for words in commands(doc.read_text())]


def build_py_commands() -> list[tuple[str, list[str]]]:
    return [(name, words[words.index("build.py") + 1 :]) for name, words in all_commands() if "build.py" in words]


def test_the_documents_show_build_py_commands() -> None:
    # Guards the extraction itself: a regex that found nothing would make the parse test pass vacuously.
    assert len(build_py_commands()) >= 30


@pytest.mark.parametrize(("page", "argv"), build_py_commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_every_documented_build_py_command_parses(page: str, argv: list[str]) -> None:
    try:
        parser(Project(ROOT)).parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"{page}: `build.py {' '.join(argv)}` does not parse (exit {exc.code})")


def test_every_documented_python_module_and_make_target_exists() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for page, words in all_commands():
        if "-m" in words and Path(words[0]).name.startswith("python"):
            module = words[words.index("-m") + 1]
            assert importlib.util.find_spec(module) is not None, f"{page}: no module {module}"
        if words[0] == "make" and len(words) > 1:
            assert re.search(rf"^{re.escape(words[1])}:", makefile, re.M), f"{page}: no make target {words[1]}"


@pytest.mark.parametrize("page", [p for p in PAGES if p.name not in NO_EXAMPLE], ids=lambda p: p.name)
def test_every_command_page_has_a_worked_example(page: Path) -> None:
    assert commands(page.read_text()), f"docs/{page.name} has no ```sh example"


def test_every_relative_link_points_at_a_file() -> None:
    for doc in DOCUMENTS:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", doc.read_text()):
            if "://" in target:
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to {target}, which does not exist"


def test_readme_is_a_front_page() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < README_MAX_LINES, f"README.md has {len(lines)} lines; move reference text into docs/"
    text = "\n".join(lines)
    assert "make demo" in text and "make test" in text
