"""COCO segmentations -> Shape and back: polygon lists, and RLEs traced one by one or a batch at once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from protolabel.segmentation.geometry.outlines import (
    DEFAULT_MIN_IOU,
    crack_points,
    crop_to_shape,
    group_parts,
    rings_to_shape,
    trace_contours,
)
from protolabel.segmentation.geometry.rasterise import flat_ring
from protolabel.segmentation.geometry.rle import (
    CropPieces,
    paint_column_pieces,
    rle_counts_batch,
    rle_crop,
    rle_crop_pieces,
)
from protolabel.segmentation.geometry.shapes import Polygon, Shape


def shape_to_coco_polygons(shape: Shape) -> list[list[float]]:
    """COCO polygon lists (one flat [x1, y1, x2, y2, ...] per part); raises ValueError for holes.

    COCO polygons cannot express holes (pycocotools unions the lists), so a shape with
    holes must be written as RLE instead.
    """
    if shape.has_holes:
        raise ValueError("a shape with holes cannot be written as COCO polygons; use RLE")
    return [flat_ring(p.exterior) for p in shape.polygons if len(p.exterior) >= 3]


def shape_from_coco_polygons(polygons: Sequence[Sequence[float]]) -> Shape:
    """A Shape from COCO polygon lists, one part each, vertices kept as they are."""
    return Shape(tuple(Polygon(np.asarray(p, dtype=np.float64).reshape(-1, 2)) for p in polygons if len(p) >= 6))


def shape_from_rle(rle: dict, *, tolerance: float = 0.0, min_area: float = 0.0) -> Shape:
    """A Shape from a COCO RLE; by default the exact pixel outline (rasterises back losslessly).

    Only the columns the object spans are decoded, so the cost follows the object, not the image.
    """
    found = rle_crop(rle)
    if found is None:
        return Shape(())
    crop, x0, y0 = found
    return crop_to_shape(crop, x0, y0, tolerance, min_area, DEFAULT_MIN_IOU)


CANVAS_WIDTH = 2048  # pixels: crops are laid out in rows this wide (a wider crop gets a row of its own)
CANVAS_PIXELS = 1 << 20  # a canvas is closed once it holds this many pixels (4 MP once upsampled)


def shapes_from_rles(rles: Sequence[dict]) -> list[Shape | Exception]:
    """`shape_from_rle(rle)` for each RLE (exact outline), or the exception it raises for that one,
    at a fraction of the cost: the RLEs are decoded in one vectorised pass and their crops traced
    side by side on shared canvases, one OpenCV call per canvas instead of several per object."""
    results: list[Shape | Exception | None] = [None] * len(rles)
    batch = rle_counts_batch(rles)
    pieces = rle_crop_pieces(batch)
    index = batch.index.tolist()
    for k in np.flatnonzero(~pieces.nonempty).tolist():
        results[index[k]] = Shape(())
    for canvas, slots, offsets in _canvases(pieces):
        contours, parents = trace_contours(canvas)
        pts, counts, first = crack_points(contours)
        shift = pieces.box[slots, :2] - offsets
        parts, pinched = group_parts(pts, counts, parents, _slot_of(first, offsets), shift)
        for k, slot_parts in zip(slots.tolist(), parts):
            results[index[k]] = rings_to_shape(slot_parts, 0.0)
        for s in np.flatnonzero(pinched).tolist():  # shapely repairs these, as shape_from_rle does
            x0, y0, x1, y1 = pieces.box[slots[s]].tolist()
            cx, cy = offsets[s].tolist()
            crop = canvas[cy : cy + y1 - y0, cx : cx + x1 - x0].view(bool)
            results[index[slots[s]]] = crop_to_shape(crop, x0, y0, 0.0, 0.0, DEFAULT_MIN_IOU)
    for i, result in enumerate(results):
        if result is None:  # not read by the batch: the one-object path gives its shape or error
            try:
                results[i] = shape_from_rle(rles[i])
            except Exception as error:  # noqa: BLE001 - returned, one per RLE
                results[i] = error
    return results  # type: ignore[return-value]


def _canvases(pieces: CropPieces) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Lay the non-empty crops out on canvases, rows of crops by decreasing height with an empty
    pixel between crops and between rows, and paint them: yield (uint8 0/1 canvas, the crops'
    batch indices [S], their (x, y) on the canvas [S, 2])."""
    box = pieces.box
    width, height = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
    order = np.flatnonzero(pieces.nonempty)
    order = order[np.argsort(-height[order], kind="stable")]
    chunk_of = np.full(len(box), -1, np.int64)
    position = np.zeros((len(box), 2), np.int64)
    chunks: list[list[int]] = []
    x = y = row_height = canvas_width = 0
    for k, w, h in zip(order.tolist(), width[order].tolist(), height[order].tolist()):
        if x and x + w > CANVAS_WIDTH:  # next row
            y, x, row_height = y + row_height + 1, 0, 0
        if not x and chunks and chunks[-1] and (y + h) * max(canvas_width, w) > CANVAS_PIXELS:
            chunks.append([])
            y = canvas_width = 0
        if not chunks:
            chunks.append([])
        chunks[-1].append(k)
        chunk_of[k] = len(chunks) - 1
        position[k] = x, y
        x += w + 1
        row_height = max(row_height, h)
        canvas_width = max(canvas_width, x - 1)
    piece_order = np.argsort(chunk_of[pieces.owner], kind="stable")
    piece_split = np.cumsum(np.bincount(chunk_of[pieces.owner], minlength=len(chunks)))[:-1]
    for slots, taken in zip(chunks, np.split(piece_order, piece_split)):
        slots = np.asarray(slots, np.int64)
        offsets = position[slots]
        canvas_w = int((offsets[:, 0] + width[slots]).max())
        canvas_h = int((offsets[:, 1] + height[slots]).max())
        owner = pieces.owner[taken]
        canvas = paint_column_pieces(
            canvas_w,
            canvas_h,
            position[owner, 0] + pieces.column[taken],
            position[owner, 1] + pieces.top[taken],
            position[owner, 1] + pieces.bottom[taken],
        )
        yield canvas, slots, offsets


def _slot_of(points: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Index of the slot (crop at `offsets`, laid out row by row) holding each pixel-edge point."""
    rows = np.unique(offsets[:, 1])
    row = np.searchsorted(rows, points[:, 1], side="right") - 1
    span = int(max(offsets[:, 0].max(), points[:, 0].max() if len(points) else 0)) + 2
    slot_keys = np.searchsorted(rows, offsets[:, 1]) * span + offsets[:, 0]
    order = np.argsort(slot_keys, kind="stable")
    return order[np.searchsorted(slot_keys[order], row * span + points[:, 0], side="right") - 1]
