"""Synthetic videos for the tracking tests: discs moving with known motion, and the detections a perfect
model would give for them, each object with its own coefficient vector (its identity)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.geometry.box_masks import BoxMasks

HEIGHT, WIDTH = 64, 128
K = 8  # prototypes


@dataclass(frozen=True)
class MovingDisc:
    """A disc of `radius` pixels whose centre is `start + velocity * t` on frame t, with class and coefficients."""

    start: tuple[float, float]  # (x, y), pixels
    velocity: tuple[float, float]  # pixels per frame
    radius: float
    coefficients: np.ndarray  # [K]
    class_index: int = 0

    def centre(self, t: int) -> tuple[float, float]:
        return self.start[0] + self.velocity[0] * t, self.start[1] + self.velocity[1] * t

    def mask(self, t: int, size: tuple[int, int] = (HEIGHT, WIDTH)) -> np.ndarray:
        rows, cols = np.mgrid[: size[0], : size[1]]
        cx, cy = self.centre(t)
        return (cols + 0.5 - cx) ** 2 + (rows + 0.5 - cy) ** 2 <= self.radius**2


def identity(seed: int, noise: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """A distinct coefficient vector per seed (mostly one prototype), with optional per-frame noise."""
    base = np.full(K, -0.2, np.float32)
    base[seed % K] = 0.9
    base[(seed + 3) % K] = 0.5
    if noise and rng is not None:
        base = base + rng.normal(0, noise, K).astype(np.float32)
    return base


def detections_of(
    masks: Sequence[np.ndarray],
    coefficients: Sequence[np.ndarray],
    classes: Sequence[int] | None = None,
    scores: Sequence[float] | None = None,
    size: tuple[int, int] = (HEIGHT, WIDTH),
    prototypes: np.ndarray | None = None,
) -> Detections:
    """Detections as a model would give them for these masks (boxes from the masks)."""
    n = len(masks)
    boxes = np.zeros((n, 4), np.float32)
    for i, mask in enumerate(masks):
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        if rows.size:
            boxes[i] = cols[0], rows[0], cols[-1] + 1, rows[-1] + 1
    h, w = size
    dense = np.stack(masks) if n else np.zeros((0, h, w), bool)
    return Detections(
        image_size=size,
        classes=np.asarray(classes if classes is not None else [0] * n, np.int64),
        scores=np.asarray(scores if scores is not None else [0.9] * n, np.float32),
        boxes=boxes,
        boxes_rel=boxes / np.array([w, h, w, h], np.float32),
        masks=BoxMasks.from_dense(dense),
        coefficients=np.asarray(coefficients, np.float32).reshape(n, K),
        prototypes=prototypes if prototypes is not None else np.ones((h // 4, w // 4, K), np.float32),
        class_names=("ball", "cube"),
        category_ids=(1, 2),
    )


def scene(objects: Sequence[MovingDisc], frames: int, hidden: dict[int, set[int]] | None = None) -> list[Detections]:
    """Each frame's detections of `objects` (object i left out on the frames in `hidden[i]`)."""
    hidden = hidden or {}
    out = []
    for t in range(frames):
        seen = [i for i in range(len(objects)) if t not in hidden.get(i, set())]
        out.append(
            detections_of(
                [objects[i].mask(t) for i in seen],
                [objects[i].coefficients for i in seen],
                [objects[i].class_index for i in seen],
            )
        )
    return out


def detector(frames: list[Detections]) -> Callable[[int], Detections]:
    """A re-detect callable over precomputed frames (what propagation asks for a frame index)."""
    return lambda index: frames[index]
