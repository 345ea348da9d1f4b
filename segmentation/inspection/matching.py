"""Which existing object each detection of a fresh model run is (by mask IoU), for images labelled elsewhere.

When the inspector runs the model on an image whose objects were imported or drawn by hand, the
detections are linked to those objects so that selecting an object shows the detection behind it.
"""

from __future__ import annotations

from collections.abc import Sequence

from protolabel.segmentation.geometry.box_masks import BoxMasks, pairwise_iou
from protolabel.segmentation.geometry.overlap import SAME_OBJECT_IOU, is_same_object
from protolabel.segmentation.geometry.shapes import Shape


def match_detections_to_objects(
    masks: BoxMasks, objects: Sequence[tuple[int, Shape]], iou_threshold: float = SAME_OBJECT_IOU
) -> dict[int, int]:
    """{detection row: object id}: in row (score) order, each detection takes the unclaimed object it
    overlaps most, if they are the same object (`is_same_object`). `masks` are the detections' box-local
    masks; objects are rasterised (COCO's rule) inside their own boxes only."""
    if len(masks) == 0 or not objects:
        return {}
    ious = pairwise_iou(masks, BoxMasks.from_shapes([shape for _, shape in objects], masks.image_size))
    areas = masks.areas
    links: dict[int, int] = {}
    claimed: set[int] = set()
    for row in range(len(masks)):
        if areas[row] == 0:
            continue
        best, best_iou = None, 0.0
        for column, (object_id, _) in enumerate(objects):
            if object_id in claimed:
                continue
            iou = float(ious[row, column])
            if is_same_object(iou, iou_threshold) and iou > best_iou:
                best, best_iou = object_id, iou
        if best is not None:
            links[row] = best
            claimed.add(best)
    return links
