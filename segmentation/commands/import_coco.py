"""`protolabel import FOLDER --coco FILE`: merge a COCO file into the folder's project and print what happened.

The same merge as the app's File ▸ Import COCO… (segmentation.project.importing): images matched by
file name inside FOLDER, images a person worked on left alone, categories merged by name.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from protolabel.segmentation.cli import CommandError
from protolabel.segmentation.coco.reader import CocoFormatError
from protolabel.segmentation.project.importing import import_coco, read_import_file
from protolabel.segmentation.project.lock import FolderLock, FolderLockedError
from protolabel.segmentation.project.store import ProjectStore, ProjectStoreError
from protolabel.segmentation.project_files import ProjectFileError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import",
        help="merge a COCO file into a folder's project",
        description="Merge a COCO instance file (e.g. from `protolabel label` on another machine, or another "
        "tool's export) into FOLDER's project. Images are matched by file_name relative to FOLDER; "
        "images already edited or verified in the project are never overwritten.",
    )
    parser.add_argument("folder", metavar="FOLDER", help="folder of images whose project receives the objects")
    parser.add_argument("--coco", required=True, metavar="FILE", help="COCO annotations file to merge")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    folder, coco = Path(args.folder), Path(args.coco)
    if not folder.is_dir():
        raise CommandError(f"{folder}: not a folder")
    if not coco.exists():
        raise CommandError(f"{coco}: no such file")
    try:
        dataset = read_import_file(coco)  # before the project is opened: a bad file changes nothing
    except CocoFormatError as exc:  # one line: the file, then its first problems by JSON path
        raise CommandError(" ".join(line.strip() for line in str(exc).splitlines())) from None
    except OSError as exc:
        raise CommandError(f"{coco}: cannot read ({exc.strerror or exc})") from None
    try:
        with ProjectStore.open(folder) as store, FolderLock.acquire(store.folder, program="protolabel import"):
            summary = import_coco(store, dataset)  # the folder's writer lock: never under an open window
    except (ProjectStoreError, FolderLockedError, ProjectFileError) as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"{folder}: cannot take the folder's lock ({exc.strerror or exc})") from None
    for line in summary.lines():
        print(line)
    return 0
