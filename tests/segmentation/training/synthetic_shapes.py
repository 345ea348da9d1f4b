"""A tiny synthetic COCO set for training tests and the training benchmark: discs and squares.

Each image is a smooth noisy background with one to three non-overlapping objects of two
classes, a warm-coloured disc and a cool-coloured square, written with our own COCO export
(so training reads exactly what the product writes).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from protolabel.segmentation.coco import Category, CocoDataset, CocoImage, write_coco
from protolabel.segmentation.geometry.instances import Instances
from protolabel.segmentation.geometry.outlines import mask_to_shape

CLASS_NAMES = ("disc", "square")


def draw_image(rng: np.random.Generator, size: tuple[int, int], max_objects: int = 3, quadrants: bool = False):
    """(BGR image, list of (class index, bool mask)).

    `quadrants=True` puts each object, about a third of the image wide, near the centre of
    its own quadrant: where the 2 x 2 anchors of the second-coarsest level sit, so that a
    network with a tiny input size still has well-matching anchors for every object.
    """
    height, width = size
    base = rng.uniform(90, 170, 3)
    noise = cv2.GaussianBlur(rng.normal(0, 25, (height, width, 3)).astype(np.float32), (0, 0), 3)
    image = np.clip(base + noise, 0, 255).astype(np.uint8)
    objects: list[tuple[int, np.ndarray]] = []
    taken = np.zeros((height, width), bool)
    free_quadrants = list(rng.permutation(4))
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _attempt in range(20):
            cls = int(rng.integers(2))
            if quadrants:
                if not free_quadrants:
                    break
                q = free_quadrants.pop()
                r = int(round(min(height, width) * rng.uniform(0.16, 0.19)))
                cx = int((0.25 + 0.5 * (q % 2)) * width + rng.integers(-2, 3))
                cy = int((0.25 + 0.5 * (q // 2)) * height + rng.integers(-2, 3))
            else:
                r = int(rng.integers(min(height, width) // 7, min(height, width) // 4))
                cx, cy = int(rng.integers(r + 2, width - r - 2)), int(rng.integers(r + 2, height - r - 2))
            mask = np.zeros((height, width), np.uint8)
            if cls == 0:
                cv2.circle(mask, (cx, cy), r, 1, -1)
                color = (rng.uniform(0, 60), rng.uniform(40, 110), rng.uniform(200, 255))  # red/orange (BGR)
            else:
                cv2.rectangle(mask, (cx - r, cy - r), (cx + r, cy + r), 1, -1)
                color = (rng.uniform(200, 255), rng.uniform(90, 170), rng.uniform(0, 60))  # blue
            mask = mask.astype(bool)
            if (mask & cv2.dilate(taken.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)).any():
                continue
            image[mask] = np.asarray(color, np.uint8)
            taken |= mask
            objects.append((cls, mask))
            break
    return image, objects


def write_dataset(
    folder: Path,
    count: int,
    seed: int = 0,
    size: tuple[int, int] = (128, 128),
    name: str = "train.json",
    prefix: str = "img",
    quadrants: bool = False,
) -> Path:
    """Write `count` images under folder/images and their COCO file folder/<name>; returns the COCO path."""
    rng = np.random.default_rng(seed)
    image_dir = folder / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    images = []
    for i in range(count):
        image, objects = draw_image(rng, size, quadrants=quadrants)
        file_name = f"{prefix}{i:03d}.png"
        cv2.imwrite(str(image_dir / file_name), image)
        instances = Instances(
            size,
            class_names=CLASS_NAMES,
            shapes=[mask_to_shape(m) for _, m in objects],
            classes=[c for c, _ in objects],
            provenance="verified",
        )
        images.append(CocoImage(file_name, size[1], size[0], instances, i + 1))
    path = folder / name
    write_coco(path, CocoDataset((Category(1, "disc"), Category(2, "square")), images))
    return path
