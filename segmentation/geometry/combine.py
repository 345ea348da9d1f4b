"""Whole-shape operations behind merge, split, paste and the rectangle/ellipse tools (Qt-free)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import box as shapely_box

from protolabel.segmentation.geometry.boxes import ordered_box
from protolabel.segmentation.geometry.polygons import _valid_polygonal, geometry_to_shape, shape_to_geometry
from protolabel.segmentation.geometry.shapes import Polygon, Shape

ELLIPSE_VERTICES = 48  # enough that the polygon stays within a pixel of the ellipse up to ~500 px radii


def merge_shapes(shapes: Sequence[Shape]) -> Shape:
    """One shape covering all of them: overlapping parts are united, separate ones stay parts."""
    geometries = [_valid_polygonal(shape_to_geometry(s)) for s in shapes if not s.is_empty()]
    if not geometries:
        return Shape(())
    return geometry_to_shape(shapely.unary_union(geometries))


def split_shape(shape: Shape) -> list[Shape]:
    """One shape per part (each part keeps its holes), largest first as the parts are stored."""
    return [Shape((polygon,)) for polygon in shape.polygons if len(polygon.exterior) >= 3]


def clip_shape(shape: Shape, width: int, height: int) -> Shape:
    """The part of a shape inside the image [0, width] x [0, height] (empty when none is)."""
    if shape.is_empty():
        return shape
    x1, y1, x2, y2 = shape.bounds()
    if x1 >= 0 and y1 >= 0 and x2 <= width and y2 <= height:
        return shape  # already inside: keep the vertices as they are
    clipped = _valid_polygonal(shape_to_geometry(shape)).intersection(shapely_box(0, 0, width, height))
    return geometry_to_shape(clipped)


def rectangle_shape(x0: float, y0: float, x1: float, y1: float) -> Shape:
    """An axis-aligned box as a four-vertex polygon (corners in any order)."""
    left, top, right, bottom = ordered_box((x0, y0, x1, y1))
    return Shape((Polygon(np.array([[left, top], [right, top], [right, bottom], [left, bottom]])),))


def ellipse_shape(x0: float, y0: float, x1: float, y1: float, vertices: int = ELLIPSE_VERTICES) -> Shape:
    """The ellipse inscribed in a box, as a polygon with `vertices` vertices on the ellipse."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    rx, ry = abs(x1 - x0) / 2, abs(y1 - y0) / 2
    angles = np.linspace(0.0, 2 * np.pi, vertices, endpoint=False)
    return Shape((Polygon(np.column_stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)])),))
