"""`protolabel export FOLDER --out FILE [--verified-only]`: write the project's COCO file, as the app's Export does."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from protolabel.segmentation.cli import CommandError
from protolabel.segmentation.project.export import check_export_path, export_coco
from protolabel.segmentation.project.labels import LABELS_KEY
from protolabel.segmentation.project.store import ProjectStore, ProjectStoreError, project_db_path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a folder's project as a COCO file",
        description="Write the annotations of FOLDER's project (auto-labeled, edited and verified images) as a "
        "COCO instance-segmentation file, exactly as the app's File ▸ Export does.",
    )
    parser.add_argument("folder", metavar="FOLDER", help="folder of images with a Protolabel project")
    parser.add_argument("--out", required=True, metavar="FILE", help="COCO file to write")
    parser.add_argument("--verified-only", action="store_true", help="only images a person verified")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    if not folder.is_dir():
        raise CommandError(f"{folder}: not a folder")
    if not os.path.lexists(project_db_path(folder)):  # anything else there is named by the store's own check
        raise CommandError(f"{folder}: has no Protolabel project yet (open it in the app or run `protolabel import`)")
    check_export_path(folder, args.out)  # before opening anything: a bad path costs nothing
    try:
        with ProjectStore.open(folder) as store:
            summary = export_coco(
                store, args.out, verified_only=args.verified_only, labels=tuple(store.setting(LABELS_KEY, []))
            )
    except ProjectStoreError as exc:
        raise CommandError(str(exc)) from None
    print(f"Wrote {summary.path}: {summary.images} images, {summary.annotations} annotations", file=_report(args))
    for reason in summary.skipped:
        print(f"skipped: {reason}", file=_report(args))
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
