"""`protolabel models list | download NAME | verify FILE`: the official checkpoints without the app.

For headless machines and clusters: the same cache, mirror ($PROTOLABEL_MODEL_MIRROR) and verification as
the app's Official Models dialog; `--weights NAME` on the other commands downloads through the same path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from protolabel.segmentation.cli import CommandError, download_with_progress
from protolabel.segmentation.files import file_sha256
from protolabel.segmentation.model_manager import (
    MIRROR_ENV,
    ModelManager,
    OfficialModel,
    check_file,
    expected_size_range,
    find_official,
    leftover_layer_bytes,
    tensor_bytes,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list, download or verify the official YOLACT checkpoints",
        description="The official YOLACT checkpoints: list them with their cache state, download one (resumable; "
        f"from ${MIRROR_ENV}/<file> when set), or check a file against one. The cache is "
        "$PROTOLABEL_CACHE_DIR, else the user cache folder.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="each official model: cached, verified, size").set_defaults(func=run_list)
    download = actions.add_parser("download", help="download and verify one official model into the cache")
    download.add_argument("name", metavar="NAME", help="config name (yolact_resnet50) or official file name")
    download.set_defaults(func=run_download)
    verify = actions.add_parser("verify", help="check a file against an official model (reads it only)")
    verify.add_argument("file", metavar="FILE", help="the .pth to check (an official NAME checks the cached copy)")
    verify.add_argument(
        "--model", default=None, metavar="NAME", help="the official model FILE should be (default: from its file name)"
    )
    verify.set_defaults(func=run_verify)


def _named(name: str, manager: ModelManager) -> OfficialModel:
    model = find_official(name, manager.models)
    if model is None:
        raise CommandError(
            f"{name!r} is not an official model; known: "
            f"{', '.join(m.config for m in manager.models)} (or their file names)"
        )
    return model


def _size_text(model: OfficialModel) -> str:
    if model.size is not None:
        return f"{model.size / 1e6:.1f} MB"
    return f"~{(tensor_bytes(model.config) + leftover_layer_bytes(model.config)) / 1e6:.0f} MB"


def _status(manager: ModelManager, model: OfficialModel) -> str:
    if manager.is_downloaded(model):
        return "verified" if manager.is_verified(model) else "downloaded, checked before use"
    if part := manager.partial_bytes(model):
        return f"partial ({part / 1e6:.1f} MB), resumes"
    return "not downloaded"


def run_list(args: argparse.Namespace) -> int:
    manager = ModelManager()
    rows = [("MODEL", "FILE", "SIZE", "SHA-256", "STATUS")]
    for model in manager.models:
        rows.append(
            (
                model.config,
                model.file_name,
                _size_text(model),
                "published" if model.sha256 else "none known",
                _status(manager, model),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    print(f"cache: {manager.cache_dir}")
    print(
        f"mirror: {manager.mirror}"
        if manager.mirror
        else f"mirror: none (set {MIRROR_ENV}=URL to fetch URL/<file> instead of the authors' addresses)"
    )
    print(
        "SHA-256 'none known': a download is checked by its size and by loading it, not proven to be the authors' file"
    )
    return 0


def run_download(args: argparse.Namespace) -> int:
    manager = ModelManager()
    model = _named(args.name, manager)
    path = download_with_progress(manager, model, "protolabel models")
    print(path)
    print(f"protolabel models: {model.file_name} verified: {model.checks}", file=sys.stderr)
    return 0


def run_verify(args: argparse.Namespace) -> int:
    manager = ModelManager()
    path = Path(args.file)
    if not path.exists() and (cached := find_official(args.file, manager.models)) is not None:
        path = manager.path_for(cached)  # a name: the cached copy (a path that exists always wins)
    if not path.is_file():
        raise CommandError(f"{path}: no such file (or not a regular file)")
    found = _named(args.model, manager) if args.model is not None else find_official(path.name, manager.models)
    if found is None:
        raise CommandError(
            f"{path.name} is not an official file name; say which model it should be: "
            f"--model NAME ({', '.join(m.config for m in manager.models)})"
        )
    model = found
    digest = file_sha256(path)
    problem = check_file(model, path)
    print(f"{path}: SHA-256 {digest}, {path.stat().st_size:,} bytes")
    if problem is not None:
        if model.sha256 is not None and "SHA-256" in problem:
            problem += f" ({model.sha256})"
        print(f"NOT the official {model.file_name}: {problem}")
        return 1
    if model.sha256 is not None:
        print(f"OK: this is the published {model.file_name}: {model.checks}")
    else:
        smallest, largest = expected_size_range(model)
        print(f"OK as far as can be checked: {model.checks} (expected {smallest:,} to {largest:,} bytes)")
    return 0
