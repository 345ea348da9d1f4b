"""`protolabel export FOLDER [--to FORMAT] --out PATH [--verified-only]`: write the project's annotations (a COCO
file by default), as the app's Export does."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from protolabel.segmentation.cli import CommandError
from protolabel.segmentation.formats.base import FormatError
from protolabel.segmentation.formats.registry import by_name, format_names
from protolabel.segmentation.project.export import check_export_path, export_project
from protolabel.segmentation.project.labels import LABELS_KEY
from protolabel.segmentation.project.store import ProjectStore, ProjectStoreError, project_db_path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a folder's project as a COCO file (or labelme, YOLO, ...)",
        description="Write the annotations of FOLDER's project (auto-labeled, edited and verified images) as a "
        "COCO instance-segmentation file, or in another format with --to, exactly as the app's File ▸ Export does. "
        "What a format cannot carry (holes, parts) is said with counts.",
    )
    parser.add_argument("folder", metavar="FOLDER", help="folder of images with a Protolabel project")
    parser.add_argument(
        "--to",
        dest="target_format",
        default="coco",
        metavar="FORMAT",
        help=f"{', '.join(format_names())} (default coco)",
    )
    parser.add_argument("--out", required=True, metavar="PATH", help="file (COCO) or folder (labelme, YOLO) to write")
    parser.add_argument("--verified-only", action="store_true", help="only images a person verified")
    parser.add_argument(
        "--polygons",
        action="store_true",
        help="youtube-vis: write each frame's segmentation as polygons instead of RLE (holes stay RLE)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    if not folder.is_dir():
        raise CommandError(f"{folder}: not a folder")
    if not os.path.lexists(project_db_path(folder)):  # anything else there is named by the store's own check
        raise CommandError(f"{folder}: has no Protolabel project yet (open it in the app or run `protolabel import`)")
    try:
        fmt = by_name(args.target_format)
    except FormatError as exc:
        raise CommandError(str(exc)) from None
    check_export_path(folder, args.out, fmt)  # before opening anything: a bad path costs nothing
    try:
        with ProjectStore.open(folder) as store:
            summary = export_project(
                store,
                fmt,
                args.out,
                verified_only=args.verified_only,
                labels=tuple(store.setting(LABELS_KEY, [])),
                polygons=args.polygons,
            )
    except (ProjectStoreError, FormatError) as exc:  # FormatError: what the format cannot write, or where
        raise CommandError(str(exc)) from None
    except OSError as exc:  # a folder export that the disk refused part way (a file export has its fallbacks)
        raise CommandError(f"{args.out}: cannot write ({exc.strerror or exc})") from None
    if summary.nouns == ("object", "image"):  # the COCO-style line scripts read
        print(f"Wrote {summary.path}: {summary.images} images, {summary.annotations} annotations", file=_report(args))
    else:  # YouTube-VIS: tracks in video frames
        print(f"Wrote {summary.path}: {summary.counts()}", file=_report(args))
    for reason in summary.skipped:
        print(f"skipped: {reason}", file=_report(args))
    for note in summary.notes:
        print(note, file=_report(args))
    if summary.note:  # as every command: the file asked for was not written, so exit 1 (the results are kept)
        print(f"protolabel export: {summary.note}", file=sys.stderr)
        return 1
    return 0


def _report(args: argparse.Namespace) -> TextIO:
    """Where the summary goes: standard output, unless the COCO file itself went there (--out /dev/stdout)."""
    try:
        same = os.path.samestat(os.stat(args.out), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError, AttributeError):  # no such file, or a stdout without a descriptor (captured)
        same = False
    return sys.stderr if same else sys.stdout
