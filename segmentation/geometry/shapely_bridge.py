"""shapely <-> Shape: the bridge the polygon operations (repair, union, difference, simplify) cross."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from protolabel.segmentation.geometry.shapes import Polygon, Shape


def valid_polygonal(geometry: BaseGeometry) -> MultiPolygon:
    """The polygonal part of a geometry, made valid, as a MultiPolygon."""
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    parts = []
    for part in getattr(geometry, "geoms", [geometry]):
        if isinstance(part, ShapelyPolygon):
            if not part.is_empty:
                parts.append(part)
        elif isinstance(part, MultiPolygon) or hasattr(part, "geoms"):
            parts.extend(valid_polygonal(part).geoms)
    return MultiPolygon(parts)


def drop_small(geometry: MultiPolygon, min_area: float) -> MultiPolygon:
    """Remove parts and holes with an area below `min_area`."""
    kept = []
    for part in geometry.geoms:
        if part.area < min_area:
            continue
        holes = [h for h in part.interiors if ShapelyPolygon(h).area >= min_area]
        kept.append(ShapelyPolygon(part.exterior, holes) if len(holes) != len(part.interiors) else part)
    return MultiPolygon(kept)


def geometry_to_shape(geometry: BaseGeometry) -> Shape:
    """A shapely (Multi)Polygon as a valid Shape: exteriors counter-clockwise in x/y, holes clockwise."""
    return polygonal_to_shape(valid_polygonal(geometry))


def polygonal_to_shape(geometry: MultiPolygon, dx: float = 0.0, dy: float = 0.0) -> Shape:
    """A valid MultiPolygon as a Shape, shifted by (dx, dy)."""
    offset = np.array([dx, dy], dtype=np.float64)
    polygons = []
    for part in geometry.geoms:
        part = orient(part, sign=1.0)
        exterior = np.asarray(part.exterior.coords)[:-1] + offset
        holes = tuple(np.asarray(h.coords)[:-1] + offset for h in part.interiors)
        polygons.append(Polygon(exterior, holes))
    return Shape(tuple(polygons))


def shape_to_geometry(shape: Shape) -> MultiPolygon:
    """A Shape as a shapely MultiPolygon (not repaired: check `.is_valid` if it matters)."""
    parts = [
        ShapelyPolygon(p.exterior, [h for h in p.holes if len(h) >= 3]) for p in shape.polygons if len(p.exterior) >= 3
    ]
    return MultiPolygon(parts)


def make_shape_valid(shape: Shape) -> Shape:
    """Repair a hand-edited shape (self-intersections, overlapping parts) with shapely's make_valid."""
    return geometry_to_shape(shape_to_geometry(shape))
