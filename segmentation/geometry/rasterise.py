"""Shape -> binary mask, mask crop or COCO RLE, pixel for pixel as COCO (pycocotools) rasterises.

Coordinate convention (COCO's): pixel (row r, column c) is the unit square [c, c+1] x [r, r+1],
so its centre is (c + 0.5, r + 0.5); pycocotools includes a pixel when its centre lies inside
the polygon. The RLE codecs themselves are in rle.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pycocotools.mask as mask_utils

from protolabel.segmentation.geometry.rle import (
    rle_counts_batch,
    rle_crop_pieces,
    rle_from_crop,
    rle_window,
    str_counts,
)
from protolabel.segmentation.geometry.shapely_bridge import shape_to_geometry
from protolabel.segmentation.geometry.shapes import Shape


def shape_to_mask(shape: Shape, height: int, width: int) -> np.ndarray:
    """Rasterise with pycocotools (COCO's rule), holes subtracted; bool [height, width]."""
    mask = np.zeros((height, width), bool)
    box = _pixel_box(shape, height, width)
    if box is not None:
        x0, y0, x1, y1 = box
        mask[y0:y1, x0:x1] = _rasterise(shape, height, width, box)
    return mask


def shape_to_mask_crop(shape: Shape, height: int, width: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """Pixels [y0:y1, x0:x1] of `shape_to_mask(shape, height, width)`, bool [y1 - y0, x1 - x0], at the
    cost of the box (a training image with many objects never needs a full-size mask per object)."""
    x0, y0, x1, y1 = box
    if not (0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height):
        raise ValueError(f"box {box} is not inside the {width}x{height} image")
    mask = np.zeros((y1 - y0, x1 - x0), bool)
    covered = _pixel_box(shape, height, width)
    if covered is not None:
        cx0, cy0, cx1, cy1 = max(covered[0], x0), max(covered[1], y0), min(covered[2], x1), min(covered[3], y1)
        if cx1 > cx0 and cy1 > cy0:
            mask[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] = _rasterise(shape, height, width, (cx0, cy0, cx1, cy1))
    return mask


@dataclass(frozen=True)
class ColumnRuns:
    """The pixels of many shapes as runs down image columns: run r covers rows [top[r], bottom[r]) of column
    column[r] (image pixels) of shape owner[r]. Runs come shape after shape in input order, each shape's by
    column; within a shape they are disjoint. A shape without pixels has no run."""

    owner: np.ndarray  # int64 [R]: position of the shape in the input
    column: np.ndarray  # int64 [R]
    top: np.ndarray  # int64 [R]
    bottom: np.ndarray  # int64 [R], exclusive


def shapes_to_runs(shapes: Sequence[Shape], sizes: Sequence[tuple[int, int]]) -> ColumnRuns:
    """The pixels of `shape_to_mask(shapes[i], *sizes[i])` for every i ((height, width) each), as column runs.

    The same pycocotools RLE per shape as `shape_to_mask`, all decoded in one vectorised pass: one window
    decode per shape (a dozen array calls) cost a VOC export of many small objects most of its time.
    """
    rles, positions = [], []
    for i, (shape, (height, width)) in enumerate(zip(shapes, sizes)):
        rle = _shape_rle(shape, int(height), int(width))
        if rle is not None:
            rles.append(rle)
            positions.append(i)
    batch = rle_counts_batch(rles)
    if len(batch.index) != len(rles):
        raise ValueError("pycocotools gave an RLE that does not decode")  # cannot happen: a guard, not a path
    pieces = rle_crop_pieces(batch)
    owner = pieces.owner
    x0, y0 = pieces.box[owner, 0], pieces.box[owner, 1]
    return ColumnRuns(
        np.asarray(positions, np.int64)[batch.index[owner]], pieces.column + x0, pieces.top + y0, pieces.bottom + y0
    )


def _shape_rle(shape: Shape, height: int, width: int) -> dict | None:
    """The RLE of `shape_to_mask(shape, height, width)`; None when it has no pixels for certain."""
    box = _pixel_box(shape, height, width)
    if box is None:
        return None
    if not shape.has_holes:  # `_rasterise`'s own call, whole: its pixels all lie in the box
        return mask_utils.merge(mask_utils.frPyObjects(_exteriors(shape), height, width))
    return rle_from_crop(_rasterise(shape, height, width, box), box[0], box[1], height, width)


def shape_to_rle(shape: Shape, height: int, width: int) -> dict:
    """Compressed COCO RLE of the rasterised shape (`counts` a str, as in COCO JSON).

    A valid shape is rasterised in one pycocotools call (see `_bridged_ring`); any other is
    rasterised part by part inside its bounding box, so the cost follows the object's size.
    """
    if shape.is_empty():
        return rle_from_crop(np.zeros((0, 0), bool), 0, 0, height, width)
    if shape_to_geometry(shape).is_valid:
        return str_counts(mask_utils.frPyObjects([_bridged_ring(shape)], height, width)[0])
    box = _pixel_box(shape, height, width)
    if box is None:
        return rle_from_crop(np.zeros((0, 0), bool), 0, 0, height, width)
    return rle_from_crop(_rasterise(shape, height, width, box), box[0], box[1], height, width)


def _bridged_ring(shape: Shape) -> list[float]:
    """All rings of a valid shape as one COCO polygon, joined by bridges walked there and back.

    pycocotools fills a polygon by the parity of its boundary crossings in each column, and a
    bridge walked both ways crosses every column twice at the same place, so it cancels: the
    result is every part with its holes cut out, in a single call.
    """
    parts = [p for p in shape.polygons if len(p.exterior) >= 3]
    anchor = parts[0].exterior[:1]
    pieces = []
    for i, part in enumerate(parts):
        start = part.exterior[:1]
        pieces += [part.exterior, start]
        for hole in part.holes:
            if len(hole) >= 3:
                pieces += [hole, hole[:1], start]
        if i > 0:
            pieces.append(anchor)
    return np.concatenate(pieces).ravel().tolist()


def _pixel_box(shape: Shape, height: int, width: int) -> tuple[int, int, int, int] | None:
    """Integer (x0, y0, x1, y1) of the pixels the shape can cover, clipped to the image."""
    rings = [p.exterior for p in shape.polygons if len(p.exterior) >= 3]
    if not rings:
        return None
    pts = np.concatenate(rings)
    x0, y0 = np.floor(pts.min(axis=0)).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _rasterise(shape: Shape, height: int, width: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """bool [y1 - y0, x1 - x0]: the box of the pycocotools rasterisation of each part, minus that part's holes.

    pycocotools is given the image's own coordinates and size, never a shifted crop: it rounds
    each vertex as (int)(5 * x + 0.5), which is not shift-invariant in floating point
    (5 * 12.1 rounds up, 5 * (12.1 - 10) down), so only the full coordinates give COCO's pixels.
    Its RLE costs the outline, not the image; `rle_window` then decodes only the box.
    """
    if not shape.has_holes:
        return rle_window(mask_utils.merge(mask_utils.frPyObjects(_exteriors(shape), height, width)), *box)
    # Holes are subtracted per part, so an island inside another part's hole survives.
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), bool)
    for p in shape.polygons:
        if len(p.exterior) < 3:
            continue
        part = rle_window(mask_utils.frPyObjects([flat_ring(p.exterior)], height, width)[0], *box)
        part_holes = [flat_ring(h) for h in p.holes if len(h) >= 3]
        if part_holes:
            part &= ~rle_window(mask_utils.merge(mask_utils.frPyObjects(part_holes, height, width)), *box)
        mask |= part
    return mask


def _exteriors(shape: Shape) -> list[list[float]]:
    return [flat_ring(p.exterior) for p in shape.polygons if len(p.exterior) >= 3]


def flat_ring(ring: np.ndarray) -> list[float]:
    """A ring [N, 2] as the flat [x1, y1, x2, y2, ...] list that pycocotools and COCO JSON take."""
    return ring.ravel().tolist()
