"""The "same object" rule: two masks or outlines whose IoU is above SAME_OBJECT_IOU are one object.

Auto-labeling drops a detection that duplicates a person's object, the inspector links a run's
detections to the image's objects and explains why a detection was not kept, and a region run offers
only new objects: all four ask this one question, here, with this one threshold.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from shapely.geometry.base import BaseGeometry

SAME_OBJECT_IOU = 0.5  # two objects overlapping more than this (intersection over union) are the same object


def is_same_object(iou: float, threshold: float = SAME_OBJECT_IOU) -> bool:
    """Whether an overlap of `iou` makes two objects one (strictly above the threshold)."""
    return iou > threshold


def mask_iou(a: np.ndarray, b: np.ndarray, if_empty: float = 0.0) -> float:
    """Intersection over union of two bool masks of one size; `if_empty` when both are empty."""
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b)) / union if union else if_empty


def _overlapping_bounds(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def geometry_iou(a: BaseGeometry, b: BaseGeometry) -> float:
    """Intersection over union of two (valid) shapely areas; 0 when they do not overlap."""
    if a.is_empty or b.is_empty or not _overlapping_bounds(a.bounds, b.bounds) or not a.intersects(b):
        return 0.0
    union = a.union(b).area
    return a.intersection(b).area / union if union > 0 else 0.0


def best_geometry_overlap(
    geometry: BaseGeometry, others: Iterable[tuple[int, BaseGeometry]]
) -> tuple[int, float] | None:
    """(id, IoU) of the geometry among `others` that `geometry` overlaps most, or None when it overlaps none."""
    best: tuple[int, float] | None = None
    for other_id, other in others:
        iou = geometry_iou(geometry, other)
        if iou > 0 and (best is None or iou > best[1]):
            best = (int(other_id), float(iou))
    return best
