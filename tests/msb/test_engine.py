"""Engine helpers that need no daemon: following a build stream, detecting the NVIDIA runtime, Debian mirrors."""

from __future__ import annotations

from pathlib import Path

import pytest

from msb.engine import EngineInfo, follow_build, has_nvidia_runtime
from msb.errors import BuildFailed
from msb.image.bootstrap import debian_mirror


def test_build_stream_is_followed_to_the_image_id() -> None:
    seen: list[str] = []
    stream = [{"stream": "Step 1/2 : FROM x\n"}, {"stream": " ---> abc\n"}, {"aux": {"ID": "sha256:123"}}]
    assert follow_build(stream, seen.append) == "sha256:123"
    assert seen == ["Step 1/2 : FROM x", " ---> abc"]


def test_failed_build_raises_with_the_last_log_lines() -> None:
    stream = [{"stream": f"line {i}\n"} for i in range(40)] + [{"error": "RUN pip: exit 1"}]
    with pytest.raises(BuildFailed) as err:
        follow_build(stream, lambda _: None)
    assert err.value.log_tail[-1] == "RUN pip: exit 1"
    assert "line 39" in err.value.log_tail and "line 0" not in err.value.log_tail
    assert "RUN pip: exit 1" in str(err.value)


def test_nvidia_runtime_detection() -> None:
    assert has_nvidia_runtime(EngineInfo("x", ("nvidia", "runc")), which=lambda _: None)
    assert has_nvidia_runtime(EngineInfo("x", ("runc",)), which=lambda _: "/usr/bin/nvidia-container-runtime-hook")
    assert not has_nvidia_runtime(EngineInfo("x", ("runc",)), which=lambda _: None)


def test_debian_mirror_comes_from_the_hosts_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MSB_DEBIAN_MIRROR", raising=False)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n"
    )
    assert debian_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list.d" / "debian.sources").unlink()
    (tmp_path / "sources.list").write_text("deb [arch=amd64] http://old.example/debian bookworm main\n")
    assert debian_mirror(tmp_path) == "http://old.example/debian"
    monkeypatch.setenv("MSB_DEBIAN_MIRROR", "http://override/debian")
    assert debian_mirror(tmp_path) == "http://override/debian"
