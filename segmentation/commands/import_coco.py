"""`protolabel import FOLDER PATH`, `--from FORMAT PATH` or `--coco FILE`: merge annotations into the folder's project
and print what happened.

The same merge as the app's File ▸ Import… (segmentation.project.importing): images matched by file name
inside FOLDER, images a person worked on left alone, categories merged by name. A bare PATH's format is
recognised from its content (as `--from auto PATH`); `--from FORMAT PATH` names it. YouTube-VIS (and OVIS)
brings videos' frames and tracks (segmentation.project.youtube_vis), under the same rules.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from protolabel.segmentation.cli import CommandError
from protolabel.segmentation.coco.reader import CocoFormatError
from protolabel.segmentation.formats.base import FormatError
from protolabel.segmentation.formats.registry import by_name, detect, format_names
from protolabel.segmentation.formats.youtube_vis import FORMAT_NAME as VIS_FORMAT_NAME
from protolabel.segmentation.project.importing import import_coco, read_dataset
from protolabel.segmentation.project.lock import FolderLock, FolderLockedError
from protolabel.segmentation.project.store import ProjectStore, ProjectStoreError
from protolabel.segmentation.project.video_store import VideoStore
from protolabel.segmentation.project.youtube_vis import apply_vis_import, plan_vis_import
from protolabel.segmentation.project_files import ProjectFileError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import",
        help="merge annotations (COCO, labelme, YOLO, ...) into a folder's project",
        description="Merge annotations (e.g. from `protolabel label` on another machine, or another tool's "
        "export) into FOLDER's project. Images are matched by file name relative to FOLDER; images already "
        "edited or verified in the project are never overwritten.",
    )
    parser.add_argument("folder", metavar="FOLDER", help="folder of images whose project receives the objects")
    parser.add_argument("path", nargs="?", metavar="PATH", help="annotation file or folder, its format recognised")
    parser.add_argument(
        "--from",
        dest="source",
        nargs=2,
        metavar=("FORMAT", "PATH"),
        help=f"annotation file or folder PATH in FORMAT: {', '.join(format_names())} or auto",
    )
    parser.add_argument("--coco", metavar="FILE", help="a COCO file to merge (as --from coco FILE)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    given = [(name, path) for name, path in (("auto", args.path), ("coco", args.coco)) if path is not None]
    if args.source is not None:
        given.append((args.source[0], args.source[1]))
    if len(given) != 1:
        raise CommandError("give the annotations to merge once: PATH, --from FORMAT PATH or --coco FILE")
    format_name, source = given[0][0], Path(given[0][1])
    if not folder.is_dir():
        raise CommandError(f"{folder}: not a folder")
    if not source.exists():
        raise CommandError(f"{source}: no such file or folder")
    try:
        fmt = detect(source) if format_name == "auto" else by_name(format_name)
        if fmt.name == VIS_FORMAT_NAME:
            return _import_youtube_vis(folder, source, fmt.title)
        dataset = read_dataset(source, fmt, folder)  # before the project is opened: a bad file changes nothing
    except (CocoFormatError, FormatError) as exc:  # one line: the file, then its first problems
        raise CommandError(" ".join(line.strip() for line in str(exc).splitlines())) from None
    except OSError as exc:
        raise CommandError(f"{source}: cannot read ({exc.strerror or exc})") from None
    try:
        with ProjectStore.open(folder) as store, FolderLock.acquire(store.folder, program="protolabel import"):
            summary = import_coco(store, dataset)  # the folder's writer lock: never under an open window
    except (ProjectStoreError, FolderLockedError, ProjectFileError) as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"{folder}: cannot take the folder's lock ({exc.strerror or exc})") from None
    if fmt.name != "coco":
        print(f"Read {source} as {fmt.title}.")
    for line in summary.lines():
        print(line)
    return 0


def _import_youtube_vis(folder: Path, source: Path, title: str) -> int:
    """Merge a YouTube-VIS or OVIS file: videos' frames and tracks (project.youtube_vis); its plan reads the
    file and the store before anything is written, so a bad file changes nothing."""
    if not source.is_file():
        raise CommandError(f"{source}: not a regular file (a YouTube-VIS file is one .json file)")
    try:
        with VideoStore.open(folder) as store, FolderLock.acquire(store.folder, program="protolabel import"):
            plan = plan_vis_import(store, source)
            summary = apply_vis_import(store, plan)
    except FormatError as exc:
        raise CommandError(" ".join(line.strip() for line in str(exc).splitlines())) from None
    except (ProjectStoreError, FolderLockedError, ProjectFileError) as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"{source}: cannot read ({exc.strerror or exc})") from None
    print(f"Read {source} as {title}.")
    for line in summary.lines():
        print(line)
    return 0
