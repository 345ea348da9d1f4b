"""`protolabel inspect`: write what YOLACT built an image's masks from (prototypes, coefficients, boxes)."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import cv2
import numpy as np

from segmentation.cli import add_engine_arguments, engine_from_args
from segmentation.files import atomic_write_bytes
from segmentation.images import ImageReadError, read_image


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "inspect", help="write an image's prototypes, coefficients and masks",
        description="Run YOLACT on one image and write DIR/prototypes.png, DIR/detections.png and "
                    "DIR/inspection.npz (prototypes, coefficients, boxes, scores, classes, masks).",
    )
    add_engine_arguments(parser)
    parser.add_argument("--out", required=True, help="output folder (created if needed)")
    parser.add_argument("image", metavar="IMAGE")
    parser.set_defaults(func=run)


def inspection_arrays(det) -> dict[str, np.ndarray]:
    """The npz contract: boxes are the exact (unclamped, unrounded) pixel boxes the crop used."""
    from segmentation.inspection.assembly import pixel_boxes_for_crop

    return {
        "prototypes": det.prototypes.astype(np.float32),
        "coefficients": det.coefficients.astype(np.float32),
        "boxes": pixel_boxes_for_crop(det),
        "scores": det.scores.astype(np.float32),
        "classes": det.classes.astype(np.int64),
        "masks": det.masks.astype(bool),
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
    from segmentation.inspection.render import detections_overlay, prototype_grid

    try:
        image = read_image(args.image)
    except ImageReadError as exc:
        print(f"protolabel inspect: {exc}", file=sys.stderr)
        return 1
    engine = engine_from_args(args)
    det = engine.predict_image(image)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **inspection_arrays(det))
    atomic_write_bytes(out / "inspection.npz", buffer.getvalue())
    atomic_write_bytes(out / "prototypes.png", _png(prototype_grid(det.prototypes)))
    atomic_write_bytes(out / "detections.png", _png(detections_overlay(image, det)))
    print(f"{len(det)} detections, {det.prototypes.shape[2]} prototypes of "
          f"{det.prototypes.shape[1]}x{det.prototypes.shape[0]} written to {out}", file=sys.stderr)
    return 0
