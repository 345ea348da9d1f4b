"""Brush and eraser strokes at image resolution (Qt-free): the painted pixels, and the shape they make.

A stroke paints pixel (row r, column c) when the pixel's centre (c + 0.5, r + 0.5) lies within
`radius` of the stroke's path (the mouse positions joined by straight segments): a disc dragged
along the path, the brush of CVAT and X-AnyLabeling. The pixels live in a box-local mask that grows
with the stroke, so a mouse move costs the segment's window, not the image.

At the end of a stroke the painted mask goes through `mask_to_shape` (exact pixel outline) and is
united with (brush) or cut out of (eraser) the object's shape: the painted pixels are exact and the
untouched outline keeps its vertices (a stroke does not re-simplify the whole object).
"""

from __future__ import annotations

import math

import numpy as np

from protolabel.segmentation.geometry.outlines import DEFAULT_MIN_AREA, mask_to_shape
from protolabel.segmentation.geometry.shapely_bridge import (
    drop_small,
    geometry_to_shape,
    shape_to_geometry,
    valid_polygonal,
)
from protolabel.segmentation.geometry.shapes import Shape

GROW_MARGIN = 64  # pixels added around the box when a stroke leaves it (fewer reallocations)


class BrushStroke:
    """The pixels one stroke painted, in a box-local mask (`mask[r, c]` is image pixel (y0 + r, x0 + c))."""

    def __init__(self, radius: float, image_wh: tuple[int, int]) -> None:
        if radius <= 0:
            raise ValueError(f"brush radius must be positive, got {radius}")
        self.radius = float(radius)
        self.image_wh = (int(image_wh[0]), int(image_wh[1]))
        self.mask = np.zeros((0, 0), bool)
        self.x0 = self.y0 = 0
        self.points: list[tuple[float, float]] = []

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the mask in image pixels."""
        return self.x0, self.y0, self.x0 + self.mask.shape[1], self.y0 + self.mask.shape[0]

    def add_point(self, x: float, y: float) -> tuple[int, int, int, int] | None:
        """Extend the stroke to (x, y) in image pixels; returns the pixel box it may have changed (None: none)."""
        ax, ay = self.points[-1] if self.points else (x, y)
        self.points.append((float(x), float(y)))
        r = self.radius
        w, h = self.image_wh
        wx0, wy0 = max(math.floor(min(ax, x) - r), 0), max(math.floor(min(ay, y) - r), 0)
        wx1, wy1 = min(math.ceil(max(ax, x) + r), w), min(math.ceil(max(ay, y) + r), h)
        if wx1 <= wx0 or wy1 <= wy0:
            return None
        px = np.arange(wx0, wx1, dtype=np.float64)[None, :] + 0.5 - ax
        py = np.arange(wy0, wy1, dtype=np.float64)[:, None] + 0.5 - ay
        dx, dy = x - ax, y - ay
        length2 = dx * dx + dy * dy
        t = np.clip((px * dx + py * dy) / length2, 0.0, 1.0) if length2 > 0 else 0.0
        disc = (px - t * dx) ** 2 + (py - t * dy) ** 2 <= r * r
        self._cover(wx0, wy0, wx1, wy1)
        self.mask[wy0 - self.y0 : wy1 - self.y0, wx0 - self.x0 : wx1 - self.x0] |= disc
        return wx0, wy0, wx1, wy1

    def _cover(self, x0: int, y0: int, x1: int, y1: int) -> None:
        """Grow the mask (with a margin, clipped to the image) so that it holds the box."""
        bx0, by0, bx1, by1 = self.box
        if self.mask.size and x0 >= bx0 and y0 >= by0 and x1 <= bx1 and y1 <= by1:
            return
        w, h = self.image_wh
        if self.mask.size:
            x0, y0, x1, y1 = min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1)
        nx0, ny0 = max(x0 - GROW_MARGIN, 0), max(y0 - GROW_MARGIN, 0)
        nx1, ny1 = min(x1 + GROW_MARGIN, w), min(y1 + GROW_MARGIN, h)
        grown = np.zeros((ny1 - ny0, nx1 - nx0), bool)
        if self.mask.size:
            grown[by0 - ny0 : by1 - ny0, bx0 - nx0 : bx1 - nx0] = self.mask
        self.mask, self.x0, self.y0 = grown, nx0, ny0

    def is_empty(self) -> bool:
        return not self.mask.any()

    def shape(self) -> Shape:
        """The painted pixels as a shape: their exact pixel outline (parts and holes), in image pixels."""
        return mask_to_shape(self.mask, tolerance=0.0, min_area=0.0).translated(self.x0, self.y0)


def apply_stroke(shape: Shape | None, stroke: BrushStroke, *, erase: bool, min_area: float = DEFAULT_MIN_AREA) -> Shape:
    """The object's shape after a brush (union) or eraser (difference) stroke; holes and parts kept.

    `shape` None (or empty) is a new object: the brush gives the painted shape, the eraser nothing.
    Parts and holes under `min_area` square pixels (slivers an eraser leaves at an edge) are dropped,
    as `mask_to_shape` drops them. The result may be empty (the eraser removed everything).
    """
    painted = shape_to_geometry(stroke.shape())
    if shape is None or shape.is_empty():
        base = None
    else:
        base = valid_polygonal(shape_to_geometry(shape))
    if base is None:
        result = painted if not erase else None
    else:
        result = base.difference(painted) if erase else base.union(painted)
    if result is None:
        return Shape(())
    return geometry_to_shape(drop_small(valid_polygonal(result), min_area))
