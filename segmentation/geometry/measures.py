"""Measures of a Shape in pixels: ring and shape area, COCO bbox.

Area rule: `shape_area` is the polygon area (holes subtracted, parts summed), which is what
COCO's own polygon annotations carry; for an unsimplified outline it equals the pixel count.
RLE annotations carry their pixel count (`rle.rle_area`), as COCO's crowd annotations do.
"""

from __future__ import annotations

import numpy as np

from protolabel.segmentation.geometry.shapes import Shape


def signed_ring_area(ring: np.ndarray) -> float:
    """Shoelace area of an open ring [N, 2], positive when its vertices turn counter-clockwise (y up)."""
    x, y = ring[:, 0], ring[:, 1]
    # (y[1:], y[:1]) is np.roll(y, -1) without its generic-shift overhead (a COCO import calls this per ring)
    return float(np.dot(x, np.concatenate((y[1:], y[:1]))) - np.dot(y, np.concatenate((x[1:], x[:1])))) / 2.0


def ring_area(ring: np.ndarray) -> float:
    """Unsigned shoelace area of an open ring."""
    return abs(signed_ring_area(ring)) if len(ring) >= 3 else 0.0


def shape_area(shape: Shape) -> float:
    """Polygon area in square pixels: exteriors minus holes, summed over parts (COCO's polygon area)."""
    return sum(ring_area(p.exterior) - sum(ring_area(h) for h in p.holes) for p in shape.polygons)


def shape_bbox(shape: Shape) -> tuple[float, float, float, float]:
    """COCO bbox (x, y, width, height) of the shape's outline; (0, 0, 0, 0) for an empty shape."""
    if shape.is_empty():
        return (0.0, 0.0, 0.0, 0.0)
    x1, y1, x2, y2 = shape.bounds()
    return (x1, y1, x2 - x1, y2 - y1)
