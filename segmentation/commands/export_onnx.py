"""`protolabel export-onnx WEIGHTS --out MODEL.onnx [--config NAME]`: the network as an ONNX file.

The file holds the network (backbone + FPN + protonet + head, dynamic batch) and, as metadata, all that
post-processing needs, so `--weights MODEL.onnx --backend onnxruntime|openvino` runs it without the .pth.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from protolabel.segmentation.cli import CommandError
from protolabel.segmentation.output_paths import OutputWriteError, check_output_file, describe_error


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export-onnx",
        help="export a checkpoint's network to ONNX",
        description="Export a YOLACT checkpoint's network (backbone, FPN, prototypes, head; dynamic batch) to an "
        "ONNX file carrying its config and class names, for --weights MODEL.onnx with "
        "--backend onnxruntime or openvino (and other ONNX tools). Needs the onnx extra.",
    )
    parser.add_argument(
        "weights",
        metavar="WEIGHTS",
        help="YOLACT checkpoint (.pth), official or fine-tuned, or an official model's name "
        "(yolact_resnet50: downloaded and verified on first use)",
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="ONNX file to write")
    parser.add_argument("--config", default=None, help="config name (default: from the file name or its keys)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from protolabel.segmentation.backends import BackendError
    from protolabel.segmentation.backends.base import import_extra
    from protolabel.segmentation.yolact.checkpoint import CheckpointError

    if not Path(args.weights).is_file():
        raise CommandError(f"{args.weights}: no such weights file")
    out = check_output_file(args.out, inputs=[args.weights], what="--out file")  # before the minute of export
    try:
        import_extra("onnx")
        from protolabel.segmentation.backends.onnx_export import export_checkpoint

        print(f"protolabel export-onnx: exporting {Path(args.weights).name} (a minute or so on a CPU)", file=sys.stderr)
        exported = export_checkpoint(args.weights, out, args.config)
    except (CheckpointError, BackendError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:  # full disk, read-only file system: nothing half-written is left (atomic write)
        raise OutputWriteError(f"could not write {out}: {describe_error(exc)}") from None
    info = exported.info
    print(
        f"Wrote {out}: {info.config.name}, {len(info.class_names)} classes, input "
        f"{info.config.max_size}x{info.config.max_size}, dynamic batch"
    )
    return 0
