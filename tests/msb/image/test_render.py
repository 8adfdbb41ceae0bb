"""The pure render: base pinning rules, layer order for the cache, labels."""

from __future__ import annotations

import dataclasses

import pytest

from msb.descriptions.image import image_names, load_image_spec
from msb.errors import UnpinnedBase
from msb.image.builder import load_templates
from msb.image.provenance import Provenance, collect
from msb.image.render import base_ref, render_dockerfile
from msb.project import Project
from tests.support import REPO

PROVENANCE = Provenance("f" * 40, "2026-01-01T00:00:00+00:00", "0.1.0", "t" * 64, "d" * 64, "l" * 64)


DIGEST = "sha256:" + "a" * 64


def render(project: Project, name: str, digest: str | None = DIGEST, allow_unpinned: bool = False) -> str:
    spec = load_image_spec(project, name)
    if spec.base.bootstrap is None:
        spec = dataclasses.replace(spec, base=dataclasses.replace(spec.base, digest=digest))
    local_id = "sha256:" + "c" * 64 if spec.base.bootstrap else None
    return render_dockerfile(spec, load_templates(project), base_ref(spec, local_id, allow_unpinned), PROVENANCE)


def test_registry_base_is_pulled_by_tag_and_digest(project: Project) -> None:
    text = render(project, "tensorrt-8.6.1")
    assert f"FROM nvcr.io/nvidia/tensorrt:23.08-py3@{DIGEST} AS deps" in text
    assert f"\nFROM nvcr.io/nvidia/tensorrt:23.08-py3@{DIGEST}\n" in text


def test_unpinned_base_is_refused_with_the_fix(project: Project) -> None:
    with pytest.raises(UnpinnedBase) as err:
        render(project, "tensorrt-8.6.1", digest=None)
    assert "build.py lock tensorrt-8.6.1" in err.value.fix
    assert "--allow-unpinned" in err.value.fix


def test_unpinned_base_builds_only_when_allowed_and_says_so(project: Project) -> None:
    text = render(project, "tensorrt-8.6.1", digest=None, allow_unpinned=True)
    assert "UNPINNED" in text
    assert 'io.mlperf-builder.base-digest="unpinned"' in text


def test_bootstrapped_base_is_named_by_its_image_id(project: Project) -> None:
    text = render(project, "cpu")
    assert f"\nFROM sha256:{'c' * 64}\n" in text


def test_layers_ordered_for_the_cache(project: Project) -> None:
    """Base, group, locked dependencies, harness, user, labels: editing harness/ must rebuild only the last layers."""
    for name in ("cpu", "tensorrt-8.6.1"):
        text = render(project, name)
        final = text[text.index("# ---- The image.") :]
        markers = ("\nFROM ", "groupadd", "COPY --from=deps", "COPY harness/", "\nUSER ", "LABEL")
        order = [final.index(m) for m in markers]
        assert order == sorted(order), name


def test_dependencies_installed_hermetically(project: Project) -> None:
    text = render(project, "cpu")
    assert "--no-index" in text and "--require-hashes" in text
    assert "ca-certificates" not in text.split("LABEL")[0].replace("# an image)", "")


def test_group_creation_tolerates_an_existing_gid(project: Project) -> None:
    text = render(project, "cpu")
    assert "getent group 1500 >/dev/null || groupadd --gid 1500 mlperf" in text
    assert "useradd" not in text  # the user is a bare uid: no passwd entry, like any `docker run --user`


def test_default_user_is_unprivileged_in_the_fixed_group(project: Project) -> None:
    text = render(project, "cpu")
    assert "\nUSER 15000:1500\n" in text
    assert 'io.mlperf-builder.uid="15000"' in text
    assert text.index("\nUSER ") > text.index("COPY harness/")  # after the layers: changing it rebuilds none


def test_labels_carry_provenance(project: Project) -> None:
    text = render(project, "cpu")
    for label in (
        f'org.opencontainers.image.revision="{"f" * 40}"',
        'org.opencontainers.image.created="2026-01-01T00:00:00+00:00"',
        f'io.mlperf-builder.template-sha256="{"t" * 64}"',
        f'io.mlperf-builder.definition-sha256="{"d" * 64}"',
        f'io.mlperf-builder.lock-sha256="{"l" * 64}"',
        f'io.mlperf-builder.base-digest="sha256:{"c" * 64}"',
        'io.mlperf-builder.round="v6.1"',  # cpu follows the current round
        'io.mlperf-builder.backends="onnxruntime"',
    ):
        assert label in text


def test_entrypoint_is_the_harness_cli(project: Project) -> None:
    assert 'ENTRYPOINT ["/usr/bin/python3", "-m", "harness"]' in render(project, "cpu")


GOLDEN = REPO / "tests" / "golden"


# The bootstrapped base's image ID differs per machine; the golden render uses a fixed one.
FIXED_BOOTSTRAP_ID = "sha256:" + "b" * 64


def render_fixed(project: Project, name: str) -> str:
    spec = load_image_spec(project, name)
    provenance = dataclasses.replace(collect(project, spec), revision="0" * 40, created="2026-01-01T00:00:00+00:00")
    local_id = FIXED_BOOTSTRAP_ID if spec.base.bootstrap else None
    base = base_ref(spec, local_id, allow_unpinned=True)
    return render_dockerfile(spec, load_templates(project), base, provenance)


def test_every_image_has_a_golden_file(project: Project) -> None:
    assert sorted(image_names(project)) == sorted(p.name.removeprefix("Dockerfile.") for p in GOLDEN.iterdir())


@pytest.mark.parametrize("name", image_names(Project(REPO)))
def test_rendered_dockerfile_equals_golden(project: Project, name: str, update_golden: bool) -> None:
    rendered = render_fixed(project, name)
    golden = GOLDEN / f"Dockerfile.{name}"
    if update_golden:
        golden.write_text(rendered)
    assert rendered == golden.read_text(), f"render of {name} changed: run `make golden` if intended"


def test_render_is_deterministic(project: Project) -> None:
    assert render_fixed(project, "cpu") == render_fixed(project, "cpu")
