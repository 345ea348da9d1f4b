"""Region re-inference: run YOLACT again on a crop, scaled up to the input size, for small objects.

YOLACT's 138x138 prototypes blur small objects; on a crop the same object covers many more
prototype pixels. Results stay in the crop's own frame (so the inspector works on them as on any
image) and carry the crop's origin to map them into the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.engine import InferenceSettings, YolactEngine
from protolabel.segmentation.geometry.box_masks import BoxMasks, pairwise_iou
from protolabel.segmentation.geometry.boxes import ordered_box
from protolabel.segmentation.geometry.outlines import DEFAULT_TOLERANCE
from protolabel.segmentation.geometry.overlap import SAME_OBJECT_IOU, is_same_object
from protolabel.segmentation.geometry.shapes import Shape

MIN_REGION_SIDE = 8


@dataclass(frozen=True)
class RegionDetections:
    detections: Detections  # in the region's frame: image_size is the region's (height, width)
    origin: tuple[int, int]  # (x0, y0) of the region in the image

    @property
    def rect(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the region in the image."""
        h, w = self.detections.image_size
        return self.origin[0], self.origin[1], self.origin[0] + w, self.origin[1] + h

    def boxes_in_image(self) -> np.ndarray:
        x0, y0 = self.origin
        return self.detections.boxes + np.array([x0, y0, x0, y0], dtype=np.float32)

    def shape_in_image(self, index: int, tolerance: float = DEFAULT_TOLERANCE) -> Shape:
        """Detection `index` as polygons in image coordinates."""
        return self.detections.masks.to_shape(index, tolerance=tolerance).translated(*self.origin)


def clamp_region(rect: Sequence[float], image_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Integer (x0, y0, x1, y1) inside the image; raises ValueError for a region too small to use."""
    height, width = image_size
    x0, y0, x1, y1 = ordered_box(rect)
    x0, y0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    x1, y1 = min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1)))
    if x1 - x0 < MIN_REGION_SIDE or y1 - y0 < MIN_REGION_SIDE:
        raise ValueError(f"region must be at least {MIN_REGION_SIDE}x{MIN_REGION_SIDE} pixels inside the image")
    return x0, y0, x1, y1


def predict_region(
    engine: YolactEngine, image: np.ndarray, rect: Sequence[float], settings: InferenceSettings | None = None
) -> RegionDetections:
    """Detections in a rectangle (x0, y0, x1, y1) of a BGR image; the engine stretches it to its input size."""
    x0, y0, x1, y1 = clamp_region(rect, image.shape[:2])
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    return RegionDetections(engine.predict_image(crop, settings), (x0, y0))


def novel_detections(
    region: RegionDetections, existing: Sequence[Shape], iou_threshold: float = SAME_OBJECT_IOU
) -> np.ndarray:
    """Indices of region detections that do not duplicate an existing object (mask IoU inside the region)."""
    det = region.detections
    if not len(det):
        return np.zeros(0, dtype=np.int64)
    x0, y0 = region.origin
    others = BoxMasks.from_shapes([s.translated(-x0, -y0) for s in existing if not s.is_empty()], det.image_size)
    ious = pairwise_iou(det.masks, others)
    areas = det.masks.areas
    keep = [
        i
        for i in range(len(det))
        if areas[i] > 0 and not any(is_same_object(float(iou), iou_threshold) for iou in ious[i])
    ]
    return np.asarray(keep, dtype=np.int64)
