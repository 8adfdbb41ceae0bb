"""`build.py system detect`: a new system description with what this host and, with --image, the built image tell."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.contract import CURRENT_ROUND
from msb.commands import Subparsers, register, status_console
from msb.descriptions import detect
from msb.descriptions.image import load_image_spec
from msb.descriptions.rounds import load_round
from msb.engine import DockerEngine
from msb.errors import MsbError, SpecError
from msb.labels import image_ref
from msb.project import Project


def add_parser(sub: Subparsers, project: Project) -> None:
    system_cmd = sub.add_parser("system", help="system descriptions: detect this host's facts")
    system_sub = system_cmd.add_subparsers(dest="system_action", required=True, metavar="ACTION")
    found = system_sub.add_parser("detect", help="print a system description with what this host and image tell")
    found.add_argument("--image", help="image definition whose framework and pins fill the software fields")
    found.add_argument("--round", help=f"MLPerf round (default: the image's round, else {CURRENT_ROUND})")
    found.add_argument("--write", type=Path, metavar="FILE", help="also write it there (refused if it exists)")
    register(found, command)


def command(project: Project, options: argparse.Namespace) -> int:
    framework: str | None = None
    stack: list[str] = []
    # An image carries one round's LoadGen and a run refuses any other round, so its round is the only useful default.
    round_name: str = options.round or CURRENT_ROUND
    if options.image:
        spec = load_image_spec(project, options.image)
        round_name = options.round or spec.round
        framework, stack = detect.framework_from(built_labels(spec.name), spec.requirements)
    profile = load_round(round_name, project.rounds)
    text = detect.description(detect.host_facts(), profile, options.image, framework, stack)
    if options.write:
        if options.write.exists():
            raise MsbError(f"{options.write} exists", "choose a new file name; detect never overwrites a description")
        options.write.write_text(text)
        status_console().print(
            f"wrote {options.write}: fill in its TODO fields and benchmarks, then `build.py run --system`"
        )
    sys.stdout.write(text)
    return 0


def built_labels(name: str) -> dict[str, str]:
    """The labels of the image built from definition `name`: what it carries, not what its definition asks for."""
    try:
        return DockerEngine().image_labels(image_ref(name))
    except MsbError as error:
        raise SpecError(
            f"--image {name}: cannot read the built image {image_ref(name)} ({error.message})",
            f"build it first (`build.py image {name}`), or leave --image out and fill the software fields by hand",
        ) from None
