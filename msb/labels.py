"""Every label key the tool writes on images and containers, defined once (images: msb.image.render; containers:
msb.container; readers: the runner, system detect)."""

from __future__ import annotations

NAMESPACE = "io.mlperf-builder"

# Images (written by msb.image.render from the definition and provenance).
LABEL_IMAGE = f"{NAMESPACE}.image"  # the image definition's name (images/NAME.yaml)
LABEL_ROUND = f"{NAMESPACE}.round"
LABEL_BACKENDS = f"{NAMESPACE}.backends"
LABEL_VERSIONS = f"{NAMESPACE}.versions"  # prefix: LABEL_VERSIONS.<package>
LABEL_BOOTSTRAP = f"{NAMESPACE}.bootstrap-sha256"  # on a bootstrapped base: the hash of its settings
# Added by a second, layer-less build step once the filesystem is built (msb.image.builder): labels change no file.
LABEL_CONTENT = f"{NAMESPACE}.content-sha256"  # the content digest of the filesystem (msb.image.content)

# Containers (written by msb.container).
LABEL_RUN = f"{NAMESPACE}.run"  # the run's id
LABEL_EXPERIMENT = f"{NAMESPACE}.experiment"  # the experiment folder on the host (absolute)
LABEL_HOST_PID = f"{NAMESPACE}.host-pid"  # the build.py process that owns the container
# The host (its name) whose build.py owns the container: an engine shared by several hosts (Slurm nodes as containers
# on one machine) runs containers whose owner's pid means nothing here.
LABEL_HOST = f"{NAMESPACE}.host"


# Images' local references: REPOSITORY/NAME:latest, and REPOSITORY/NAME:<git revision> for the exact build.
IMAGE_REPOSITORY = "msb"


def image_ref(name: str, tag: str = "latest", repository: str = IMAGE_REPOSITORY) -> str:
    return f"{repository}/{name}:{tag}"


def version_label(package: str) -> str:
    return f"{LABEL_VERSIONS}.{package}"
