"""`protolabel inspect`: write what YOLACT built an image's masks from (prototypes, coefficients, boxes)."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import cv2
import numpy as np

from protolabel.segmentation.cli import add_engine_arguments, engine_from_args
from protolabel.segmentation.files import atomic_write_bytes
from protolabel.segmentation.images import ImageReadError, read_image
from protolabel.segmentation.output_paths import check_output_dir, check_output_file, write_with_fallback

OUTPUT_FILES = ("inspection.npz", "prototypes.png", "detections.png")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="write an image's prototypes, coefficients and masks",
        description="Run YOLACT on one image and write DIR/prototypes.png, DIR/detections.png and "
        "DIR/inspection.npz (prototypes, coefficients, boxes, scores, classes, masks).",
    )
    add_engine_arguments(parser)
    parser.add_argument("--out", required=True, help="output folder (created if needed)")
    parser.add_argument("image", metavar="IMAGE")
    parser.set_defaults(func=run)


def inspection_arrays(det) -> dict[str, np.ndarray]:
    """The npz contract: boxes are the exact (unclamped, unrounded) pixel boxes the crop used; masks are
    dense bool [D, H, W] at the image size (one image, written for tools that read arrays)."""
    from protolabel.segmentation.inspection.assembly import pixel_boxes_for_crop

    return {
        "prototypes": det.prototypes.astype(np.float32),
        "coefficients": det.coefficients.astype(np.float32),
        "boxes": pixel_boxes_for_crop(det),
        "scores": det.scores.astype(np.float32),
        "classes": det.classes.astype(np.int64),
        "masks": det.masks.to_dense(),
        "class_names": np.asarray(det.class_names),
        "category_ids": np.asarray(det.category_ids, dtype=np.int64),
        "image_size": np.asarray(det.image_size, dtype=np.int64),
    }


def _png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def run(args: argparse.Namespace) -> int:
    from protolabel.segmentation.inspection.render import detections_overlay, prototype_grid

    out = check_output_dir(args.out, inputs=[args.image, args.weights], what="--out folder")
    if out.is_dir():
        for name in OUTPUT_FILES:
            check_output_file(out / name, inputs=[args.image, args.weights], what=f"--out folder's {name}")
    try:
        image = read_image(args.image)
    except ImageReadError as exc:
        print(f"protolabel inspect: {exc}", file=sys.stderr)
        return 1
    engine = engine_from_args(args)
    det = engine.predict_image(image)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **inspection_arrays(det))
    contents = dict(
        zip(
            OUTPUT_FILES,
            (buffer.getvalue(), _png(prototype_grid(det.prototypes)), _png(detections_overlay(image, det))),
        )
    )

    def write_all(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in contents.items():
            atomic_write_bytes(folder / name, data)

    written = write_with_fallback(out, write_all)
    if written.fell_back:
        print(f"protolabel inspect: {written.note()}", file=sys.stderr)
    print(
        f"{len(det)} detections, {det.prototypes.shape[2]} prototypes of "
        f"{det.prototypes.shape[1]}x{det.prototypes.shape[0]} written to {written.path}",
        file=sys.stderr,
    )
    return 1 if written.fell_back else 0
