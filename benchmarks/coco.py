"""COCO export and import speed: 10,000 images x 20 objects (goal: under 10 s each).

Objects are simplified outlines of smooth random masks (as `mask_to_shape` makes them from
YOLACT masks), 1 in 20 with a hole (written as RLE), placed at random in 640x480 images.
Prints the median of the repeats for export (dict + JSON + atomic write) and import
(JSON + checks + shapes), plus the file size and the vertices simplification saved.

    .venv/bin/python benchmarks/coco.py [--images 10000] [--objects 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protolabel.segmentation.coco import Category, CocoDataset, CocoImage, read_coco, write_coco  # noqa: E402
from protolabel.segmentation.geometry import Instances, mask_to_shape  # noqa: E402

WIDTH, HEIGHT = 640, 480
CLASSES = ("person", "car", "dog", "bicycle", "chair")


def template_masks(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """Smooth blobs of 30-150 px, like upsampled YOLACT masks; every 20th with a hole."""
    masks = []
    for i in range(count):
        size = int(rng.integers(30, 150))
        field = cv2.resize(rng.random((5, 5)).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
        mask = fill_holes(field > 0.45)
        if i % 20 == 0:
            c = size // 2
            mask[c - size // 5 : c + size // 5, c - size // 5 : c + size // 5] = True
            mask[c - size // 8 : c + size // 8, c - size // 8 : c + size // 8] = False
        masks.append(mask)
    return masks


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """The mask with every enclosed background region filled (flood the outside from a corner)."""
    outside = np.pad(~mask, 1, constant_values=True).astype(np.uint8)
    cv2.floodFill(outside, None, (0, 0), 2)
    return mask | (outside[1:-1, 1:-1] == 1)


def build_dataset(num_images: int, num_objects: int, seed: int = 0) -> tuple[CocoDataset, float]:
    rng = np.random.default_rng(seed)
    masks = template_masks(rng, 200)
    exact = [mask_to_shape(m, tolerance=0) for m in masks]
    shapes = [mask_to_shape(m) for m in masks]
    keep = [i for i, s in enumerate(shapes) if not s.is_empty()]
    saved = 1 - sum(shapes[i].num_vertices for i in keep) / sum(exact[i].num_vertices for i in keep)
    images = []
    for n in range(num_images):
        picks = rng.choice(keep, size=num_objects)
        placed = []
        for i in picks:
            x1, y1, x2, y2 = shapes[i].bounds()
            dx = rng.uniform(-x1, WIDTH - x2)
            dy = rng.uniform(-y1, HEIGHT - y2)
            placed.append(shapes[i].translated(round(dx), round(dy)))
        inst = Instances(
            (HEIGHT, WIDTH),
            class_names=CLASSES,
            shapes=placed,
            classes=rng.integers(0, len(CLASSES), num_objects),
            scores=rng.random(num_objects),
            provenance="auto",
        )
        images.append(CocoImage(f"folder{n // 1000}/image_{n:05d}.jpg", WIDTH, HEIGHT, inst))
    categories = tuple(Category(i + 1, name) for i, name in enumerate(CLASSES))
    return CocoDataset(categories, images), saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    dataset, saved = build_dataset(args.images, args.objects)
    shapes = [s for img in dataset.images for s in img.instances.shapes]
    vertices = sum(s.num_vertices for s in shapes)
    holed = sum(s.has_holes for s in shapes)
    print(
        f"{args.images} images x {args.objects} objects, {vertices / len(shapes):.1f} vertices/object, "
        f"{holed / len(shapes):.1%} with holes (written as RLE); "
        f"simplification saved {saved:.0%} of the exact outline's vertices"
    )
    times: dict[str, list[tuple[float, float]]] = {"export": [], "import": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "annotations.json"
        for _ in range(args.repeats):
            with timed(times["export"]):
                write_coco(path, dataset)
            with timed(times["import"]):
                back = read_coco(path)
            del back
        size_mb = path.stat().st_size / 1e6
    print(f"file size: {size_mb:.1f} MB")
    for name, runs in times.items():
        wall = [w for w, _ in runs]
        cpu = [c for _, c in runs]
        print(
            f"{name}: median {statistics.median(wall):.2f} s wall, {statistics.median(cpu):.2f} s CPU "
            f"(runs: {', '.join(f'{t:.2f}' for t in wall)} s)"
        )


@contextlib.contextmanager
def timed(into: list[tuple[float, float]]):
    """Append (wall seconds, CPU seconds of this process) of the block: on a shared machine the CPU
    time shows the work, the wall time also the waiting for a core."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    into.append((time.perf_counter() - wall, time.process_time() - cpu))


if __name__ == "__main__":
    main()
