"""The content digest of a filesystem tar (msb/image/content.py), on tars made here."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from msb.image import builder
from msb.image import command as image_command
from msb.image.content import ContentDiff, diff, diff_lines, digest_chunks, digest_tar


@dataclass
class Item:
    name: str
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    kind: bytes = tarfile.REGTYPE
    link: str = ""
    mtime: int = 1_700_000_000


def make_tar(items: list[Item]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for item in items:
            info = tarfile.TarInfo(item.name)
            info.type, info.mode, info.uid, info.gid, info.mtime = item.kind, item.mode, item.uid, item.gid, item.mtime
            info.linkname = item.link
            if item.kind == tarfile.REGTYPE:
                info.size = len(item.data)
                archive.addfile(info, io.BytesIO(item.data))
            else:
                archive.addfile(info)
    return out.getvalue()


def tree(**change: object) -> list[Item]:
    """A small filesystem; `change` replaces fields of the item named by change["name"]."""
    items = [
        Item("./", kind=tarfile.DIRTYPE, mode=0o755),
        Item("./etc/", kind=tarfile.DIRTYPE, mode=0o755),
        Item("./etc/group", b"root:x:0:\nmlperf:x:1500:\n"),
        Item("./opt/msb/harness/run.py", b"print('run')\n", uid=0, gid=1500),
        Item("./usr/bin/python3", kind=tarfile.SYMTYPE, mode=0o777, link="python3.11"),
        Item("./usr/bin/python3.11", b"\x7fELF", mode=0o755),
        Item("./usr/bin/python3.11-hard", kind=tarfile.LNKTYPE, link="usr/bin/python3.11"),
    ]
    name = change.pop("name", None)
    for item in items:
        if item.name == name:
            for key, value in change.items():
                setattr(item, key, value)
    return items


def digest(items: list[Item]) -> str:
    return digest_tar(io.BytesIO(make_tar(items))).sha256


def test_times_and_stream_order_do_not_count() -> None:
    base = digest(tree())
    assert digest([Item(i.name, i.data, i.mode, i.uid, i.gid, i.kind, i.link, mtime=1) for i in tree()]) == base
    # The same entries in another order (a hard link must follow its target in any tar).
    assert digest(list(reversed(tree()[:6])) + tree()[6:]) == base


@pytest.mark.parametrize(
    "change",
    [
        {"name": "./etc/group", "data": b"root:x:0:\n"},  # content
        {"name": "./opt/msb/harness/run.py", "mode": 0o755},  # mode
        {"name": "./opt/msb/harness/run.py", "uid": 15000},  # owner
        {"name": "./opt/msb/harness/run.py", "gid": 0},  # group
        {"name": "./usr/bin/python3", "link": "python3.12"},  # symlink target
        {"name": "./etc/", "mode": 0o2775},  # a directory's setgid bit
    ],
)
def test_content_mode_owner_and_links_count(change: dict[str, object]) -> None:
    assert digest(tree(**change)) != digest(tree())


def test_a_hard_link_carries_its_targets_content() -> None:
    content = digest_tar(io.BytesIO(make_tar(tree())))
    hard = content.entries["usr/bin/python3.11-hard"]
    assert hard.sha256 == content.entries["usr/bin/python3.11"].sha256
    assert hard.link == "usr/bin/python3.11"


def test_chunked_stream_gives_the_same_digest() -> None:
    data = make_tar([*tree(), Item("./big", bytes(range(256)) * 5000)])
    chunks = [data[i : i + 7919] for i in range(0, len(data), 7919)]  # odd sizes across member boundaries
    assert digest_chunks(chunks).sha256 == digest_tar(io.BytesIO(data)).sha256


def test_diff_names_added_removed_and_changed_paths() -> None:
    before = digest_tar(io.BytesIO(make_tar(tree())))
    changed = [i for i in tree(name="./opt/msb/harness/run.py", data=b"print(2)\n") if i.name != "./etc/group"]
    after = digest_tar(io.BytesIO(make_tar([*changed, Item("./new", b"x")])))
    assert diff(before, after) == ContentDiff(added=["new"], removed=["etc/group"], changed=["opt/msb/harness/run.py"])
    assert diff_lines(diff(before, after)) == ["- etc/group", "+ new", "~ opt/msb/harness/run.py"]


def test_diff_lines_are_bounded_with_a_count() -> None:
    found = ContentDiff(added=[f"f{i:03}" for i in range(120)], removed=[], changed=[])
    lines = diff_lines(found, limit=50)
    assert len(lines) == 51
    assert lines[-1] == "... and 70 more"


class DriftingEngine:
    """An engine stand-in whose no-cache rebuild writes one file differently (a time, say) from the first build."""

    def __init__(self) -> None:
        self.removed: list[str] = []

    def build(self, context, tags, on_line, nocache=False) -> str:
        on_line("Step 1/2 : FROM sha256:base")
        on_line(" ---> 0123456789ab")  # the base: never removed
        on_line("Step 2/2 : RUN pip install")
        on_line(" ---> ba9876543210")
        return "sha256:rebuilt" if nocache else "sha256:built"

    def export_filesystem(self, image: str):
        stamp = b"built at 12:01\n" if image.startswith("msb/cpu:verify-") else b"built at 12:00\n"
        yield make_tar([*tree(), Item("./opt/msb/site/stamp.txt", stamp)])

    def remove_image(self, ref: str) -> None:
        self.removed.append(ref)


def test_verify_exits_1_naming_the_paths_and_removes_the_rebuild(monkeypatch, project, capsys) -> None:
    from contextlib import contextmanager

    from msb import cli

    engine = DriftingEngine()

    @contextmanager
    def prepared(project, name, engine, allow_unpinned, log, repository):
        yield builder.Prepared(Path("/nonexistent"), None, ["msb/cpu:latest"])

    monkeypatch.setattr(builder, "prepared", prepared)
    monkeypatch.setattr(image_command, "DockerEngine", lambda: engine)
    assert cli.main(["image", "cpu", "--verify"], project) == 1
    err = capsys.readouterr().err
    assert "error: a no-cache rebuild of cpu has another filesystem" in err
    assert "1 path(s) differ" in err and "~ opt/msb/site/stamp.txt" in err and "fix:" in err
    assert engine.removed[0].startswith("msb/cpu:verify-") and engine.removed[1:] == ["ba9876543210"]
