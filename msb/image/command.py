"""`build.py image NAME` (render, build, --verify) and `build.py lock NAME` (the hash lock, the base's digest)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from msb.commands import Subparsers, log_line, register, status_console
from msb.descriptions.image import image_names, load_image_spec
from msb.engine import DockerEngine, Engine
from msb.errors import EngineUnavailable
from msb.image import archive, bootstrap, builder, lock
from msb.labels import IMAGE_REPOSITORY
from msb.project import Project


def add_parsers(sub: Subparsers, project: Project) -> None:
    image = sub.add_parser("image", help="render the Dockerfile of an image definition and build it")
    image.add_argument("name", help=f"image definition in images/: {', '.join(image_names(project))}")
    image.add_argument("--dry-run", action="store_true", help="print the rendered Dockerfile; build nothing")
    image.add_argument("--allow-unpinned", action="store_true", help="build from a base that has no digest")
    image.add_argument(
        "--repository", default=IMAGE_REPOSITORY, help="tag as REPOSITORY/NAME:latest and :<git revision>"
    )
    image.add_argument(
        "--verify",
        action="store_true",
        help="then rebuild with no cache and compare the content digests; exit 1 listing the paths that differ",
    )
    image.add_argument(
        "--export",
        type=Path,
        metavar="DIR",
        help="then `docker save` it to DIR/sha256-<content>.docker.tar with its record (for nodes that cannot build)",
    )
    register(image, build_command)

    lock_cmd = sub.add_parser("lock", help="regenerate an image's hash lock (and its base digest where reachable)")
    lock_cmd.add_argument("name", help=f"image definition in images/: {', '.join(image_names(project))}")
    which = lock_cmd.add_mutually_exclusive_group()
    which.add_argument("--no-base", action="store_true", help="lock the Python wheels only, not the base")
    which.add_argument(
        "--base",
        action="store_true",
        help="lock the base only: a registry base's digest, or bootstrap the base again and accept the Debian"
        " package versions it installs into images/NAME.base.lock",
    )
    register(lock_cmd, lock_command)


def build_command(project: Project, options: argparse.Namespace) -> int:
    console = status_console()
    if options.dry_run:
        try:
            engine: Engine | None = DockerEngine()
        except EngineUnavailable:
            engine = None  # the render needs no engine; it only resolves a bootstrapped base's ID when one answers
        sys.stdout.write(builder.dry_run(project, options.name, engine, options.allow_unpinned))
        return 0
    make = builder.verify if options.verify else builder.build
    engine = DockerEngine()
    built = make(project, options.name, engine, options.allow_unpinned, log_line, options.repository)
    console.print(f"[bold green]built[/] {built.image_id} as {', '.join(built.tags)} (base {built.base.from_ref})")
    console.print(f"content sha256:{built.content.sha256} ({len(built.content.entries)} paths)")
    if options.verify:
        console.print("[bold green]verified[/]: a no-cache rebuild has the same content")
    if options.export is not None:
        console.print(f"exported {built.tags[0]} to {archive.export_image(engine, built.tags[0], options.export)}")
    return 0


def lock_command(project: Project, options: argparse.Namespace) -> int:
    console = status_console()
    spec = load_image_spec(project, options.name)
    if options.base and spec.base.bootstrap is not None:
        image_id = bootstrap.bootstrap(spec, DockerEngine(), log_line, accept=True)
        console.print(f"base {spec.base.ref}: bootstrapped again as {image_id}, its packages locked")
        return 0
    if not options.base:
        wheels = lock.write_lock(spec)
        console.print(f"wrote {spec.lock_path} ({len(wheels)} wheels)")
    if not options.no_base:
        digest = lock.resolve_base_digest(spec, DockerEngine())
        console.print(f"base {spec.base.ref}: {digest or 'bootstrapped here; its image ID is recorded at build'}")
    return 0
