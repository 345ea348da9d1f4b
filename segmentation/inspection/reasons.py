"""Why a detection of a model run is no object of the image, in words for the inspector's list.

Auto-labeling leaves a detection out for one of these rules, checked in the order it applies them:
its class is filtered out by the project's class mapping, its score is not above the score
threshold, its mask is empty or only specks once traced, it covers an object already there (a
person's object, or the object another detection became), or a person deleted it as wrong in an
earlier run (a rejection the store keeps). The rules' parameters come from the
caller (the project's mapping and thresholds), so this module states them once without owning them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shapely.geometry.base import BaseGeometry

from protolabel.segmentation.geometry.outlines import DEFAULT_MIN_AREA, DEFAULT_TOLERANCE
from protolabel.segmentation.geometry.overlap import SAME_OBJECT_IOU, best_geometry_overlap, is_same_object
from protolabel.segmentation.geometry.shapely_bridge import shape_to_geometry
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.inspection.cache import InferenceRecord
from protolabel.segmentation.inspection.live import LiveMask


def detection_shape(
    record: InferenceRecord, row: int, tolerance: float = DEFAULT_TOLERANCE, min_area: float = DEFAULT_MIN_AREA
) -> Shape:
    """Detection `row`'s mask (its own coefficients) as polygons in image coordinates."""
    window = LiveMask(record.prototypes, record.boxes_rel[row], record.frame_size).compute(record.coefficients[row])
    return window.to_shape(record.origin, tolerance=tolerance, min_area=min_area)


def object_geometries(objects: Sequence[tuple[int, Shape]]) -> list[tuple[int, BaseGeometry]]:
    """(id, repaired shapely geometry) of each non-empty object: build once, compare with many detections."""
    geometries = [(int(object_id), shape_to_geometry(shape).buffer(0)) for object_id, shape in objects]
    return [(object_id, g) for object_id, g in geometries if not g.is_empty]


def best_overlap(shape: Shape, objects: Sequence[tuple[int, Shape | BaseGeometry]]) -> tuple[int, float] | None:
    """(object id, IoU) of the object `shape` overlaps most by area, or None when it overlaps none.
    `objects` may hold Shapes or the geometries of `object_geometries`."""
    geometry = shape_to_geometry(shape).buffer(0)
    if geometry.is_empty:
        return None
    return best_geometry_overlap(
        geometry,
        (
            (object_id, shape_to_geometry(other).buffer(0) if isinstance(other, Shape) else other)
            for object_id, other in objects
        ),
    )


def not_kept_reason(
    record: InferenceRecord,
    row: int,
    objects: Sequence[tuple[int, Shape | BaseGeometry]],
    *,
    label_for: Callable[[str], str | None],
    score_threshold: float,
    duplicate_iou: float = SAME_OBJECT_IOU,
    tolerance: float = DEFAULT_TOLERANCE,
    rejected: Sequence[Shape | BaseGeometry] = (),
) -> str:
    """One short phrase saying why detection `row` is no object: 'class "x" is filtered out',
    'score 0.12 is not above the threshold 0.30', 'mask empty or only specks', 'duplicate of object 7
    (IoU 0.83)', 'rejected by a person earlier' (one of `rejected`, the image's rejected shapes),
    or 'matches no object' when none of the rules explains it (e.g. a run made for inspection only,
    whose detections are linked to objects by overlap)."""
    name = record.label(row)
    if label_for(name) is None:
        return f'class "{name}" is filtered out (Class Filter and Mapping)'
    score = float(record.scores[row])
    if score <= score_threshold:
        return f"score {score:.2f} is not above the threshold {score_threshold:.2f}"
    shape = detection_shape(record, row, tolerance=tolerance)
    if shape.is_empty():
        return "mask empty or only specks"
    overlap = best_overlap(shape, objects)
    if overlap is not None and is_same_object(overlap[1], duplicate_iou):
        return f"duplicate of object {overlap[0]} (IoU {overlap[1]:.2f})"
    refused = best_overlap(shape, list(enumerate(rejected)))
    if refused is not None and is_same_object(refused[1], duplicate_iou):
        return f"rejected by a person earlier (IoU {refused[1]:.2f})"
    if overlap is not None:
        return f"matches no object (best: object {overlap[0]}, IoU {overlap[1]:.2f})"
    return "matches no object"
