"""Which existing object each detection of a fresh model run is (by mask IoU), for images labelled elsewhere.

When the inspector runs the model on an image whose objects were imported or drawn by hand, the
detections are linked to those objects so that selecting an object shows the detection behind it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segmentation.geometry.overlap import SAME_OBJECT_IOU, is_same_object, mask_iou
from segmentation.geometry.polygons import shape_to_mask
from segmentation.geometry.shapes import Shape


def match_detections_to_objects(masks: np.ndarray, objects: Sequence[tuple[int, Shape]],
                                iou_threshold: float = SAME_OBJECT_IOU) -> dict[int, int]:
    """{detection row: object id}: in row (score) order, each detection takes the unclaimed object it
    overlaps most, if they are the same object (`is_same_object`). `masks` is bool [D, H, W]."""
    if len(masks) == 0 or not objects:
        return {}
    height, width = masks.shape[1:]
    flat = masks.reshape(len(masks), -1)
    areas = flat.sum(axis=1).astype(np.float64)
    links: dict[int, int] = {}
    claimed: set[int] = set()
    object_masks = [(object_id, shape_to_mask(shape, height, width).reshape(-1)) for object_id, shape in objects]
    for row in range(len(masks)):
        if areas[row] == 0:
            continue
        best, best_iou = None, 0.0
        for object_id, other in object_masks:
            if object_id in claimed:
                continue
            iou = mask_iou(flat[row], other)
            if is_same_object(iou, iou_threshold) and iou > best_iou:
                best, best_iou = object_id, iou
        if best is not None:
            links[row] = best
            claimed.add(best)
    return links
