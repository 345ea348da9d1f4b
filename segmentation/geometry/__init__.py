"""Qt-free geometry: object shapes, mask <-> polygon conversion, per-image instance containers."""

from protolabel.segmentation.geometry.coco_shapes import (
    shape_from_coco_polygons,
    shape_from_rle,
    shape_to_coco_polygons,
    shapes_from_rles,
)
from protolabel.segmentation.geometry.instances import Instances
from protolabel.segmentation.geometry.measures import shape_area, shape_bbox
from protolabel.segmentation.geometry.outlines import mask_to_shape
from protolabel.segmentation.geometry.provenance import PROVENANCES, Provenance
from protolabel.segmentation.geometry.rasterise import shape_to_mask, shape_to_mask_crop, shape_to_rle
from protolabel.segmentation.geometry.shapely_bridge import make_shape_valid
from protolabel.segmentation.geometry.shapes import Polygon, Shape

__all__ = [
    "PROVENANCES",
    "Instances",
    "Polygon",
    "Provenance",
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
