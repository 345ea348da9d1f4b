"""Qt-free geometry: object shapes, mask <-> polygon conversion, per-image instance containers."""

from protolabel.segmentation.geometry.instances import PROVENANCES, Instances
from protolabel.segmentation.geometry.polygons import (
    make_shape_valid,
    mask_to_shape,
    shape_area,
    shape_bbox,
    shape_from_coco_polygons,
    shape_from_rle,
    shapes_from_rles,
    shape_to_coco_polygons,
    shape_to_mask,
    shape_to_mask_crop,
    shape_to_rle,
)
from protolabel.segmentation.geometry.shapes import Polygon, Shape

__all__ = [
    "PROVENANCES",
    "Instances",
    "Polygon",
    "Shape",
    "make_shape_valid",
    "mask_to_shape",
    "shape_area",
    "shape_bbox",
    "shape_from_coco_polygons",
    "shape_from_rle",
    "shapes_from_rles",
    "shape_to_coco_polygons",
    "shape_to_mask",
    "shape_to_mask_crop",
    "shape_to_rle",
]
