"""`protolabel gui [FOLDER] [--weights W] [--device D] [--coco FILE]`: registered like a headless command,
imports Qt only when run."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "gui",
        help="the desktop app (default when no command is given)",
        description="Open the Protolabel desktop app, optionally on a folder of images and with a model.",
    )
    parser.add_argument("folder", nargs="?", default=None, help="folder of images to open")
    parser.add_argument(
        "--weights",
        default=None,
        help="YOLACT checkpoint (.pth) to auto-label with, or an official model's name "
        "(yolact_resnet50: downloaded and verified on first use)",
    )
    parser.add_argument("--config", default=None, help="config name (default: from the file name or its keys)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    parser.add_argument(
        "--coco",
        default=None,
        metavar="FILE",
        help="COCO file to merge into FOLDER's project (asks first; as File ▸ Import…)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from protolabel.app.system_check import check_platform
    from protolabel.segmentation.cli import CommandError

    if args.coco is not None:  # checked before the window opens: a typo costs no start-up
        if args.folder is None:
            raise CommandError("--coco needs a FOLDER to merge into: protolabel FOLDER --coco FILE")
        if not Path(args.folder).is_dir():
            raise CommandError(f"{args.folder}: not a folder")
        if not Path(args.coco).is_file():
            raise CommandError(f"{args.coco}: no such file")

    platform = check_platform()
    if not platform.ok:  # before Qt is imported: Qt itself would abort with a core dump and a wrong hint
        print(platform.message(), file=sys.stderr)
        return 1
    from protolabel.app.launch import run_app  # Qt is imported here, never by the headless commands

    return run_app(folder=args.folder, weights=args.weights, config=args.config, device=args.device, coco=args.coco)
