"""The image a node runs, held to the content digest recorded when the work was planned.

PLACEHOLDER: a minimal version for the slurm branch (it checks the digest only; it loads no archive); the
cluster-images branch's module of the same name and signature replaces it at merge."""

from __future__ import annotations

from pathlib import Path

from msb.engine import Engine
from msb.errors import SpecError
from msb.labels import LABEL_CONTENT


def ensure_image(engine: Engine, image_ref: str, content_sha256: str | None, archive_dir: Path | None) -> str:
    """The id of `image_ref` on this node's engine; refused when its content digest is not `content_sha256`."""
    image_id = engine.image_id(image_ref)
    if image_id is None:
        raise SpecError(
            f"image {image_ref} is not on this node"
            + (f" (archives in {archive_dir} are not loaded by this version)" if archive_dir else ""),
            "build or load the same image on every node (build.py image NAME), then submit again",
        )
    if content_sha256 is not None:
        found = engine.image_labels(image_ref).get(LABEL_CONTENT)
        if found != content_sha256:
            raise SpecError(
                f"image {image_ref} on this node has content sha256 {found or '(none)'}, but the submission was "
                f"planned with {content_sha256}",
                "give every node the image the submission was planned with (the same build or its archive)",
            )
    return image_id
