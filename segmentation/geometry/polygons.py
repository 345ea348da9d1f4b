"""Binary masks <-> polygon shapes, rasterised exactly as COCO (pycocotools) does.

Coordinate convention (COCO's): pixel (row r, column c) is the unit square
[c, c+1] x [r, r+1], so its centre is (c + 0.5, r + 0.5). pycocotools includes a pixel
when its centre lies inside the polygon, hence the polygon that follows the pixel edges
of a mask (its "crack" outline) rasterises back to exactly that mask.

Area rule: `shape_area` is the polygon area (holes subtracted, parts summed), which is
what COCO's own polygon annotations carry; for an unsimplified outline it equals the
pixel count. RLE annotations carry their pixel count (`rle_area`), as COCO's crowd
annotations do.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.geometry.polygon import orient

from protolabel.segmentation.geometry.overlap import mask_iou
from protolabel.segmentation.geometry.rle import (
    CropPieces,
    mask_to_rle,
    paint_column_pieces,
    rle_area,
    rle_counts,
    rle_counts_batch,
    rle_crop,
    rle_crop_pieces,
    rle_from_crop,
    rle_to_mask,
    rle_window,
    str_counts,
)
from protolabel.segmentation.geometry.shapes import Polygon, Shape

__all__ = [
    "DEFAULT_MIN_AREA", "DEFAULT_MIN_IOU", "DEFAULT_TOLERANCE", "geometry_to_shape", "make_shape_valid",
    "mask_to_rle", "mask_to_shape", "ring_area", "rle_area", "rle_counts", "rle_to_mask",
    "shape_area", "shape_bbox", "shape_from_coco_polygons", "shape_from_rle", "shape_to_coco_polygons",
    "shapes_from_rles",
    "shape_to_geometry", "shape_to_mask", "shape_to_mask_crop", "shape_to_rle",
]

DEFAULT_TOLERANCE = 1.0  # pixels of Douglas-Peucker simplification
DEFAULT_MIN_AREA = 4.0  # square pixels: smaller parts and holes are specks
DEFAULT_MIN_IOU = 0.95  # simplification never costs more than this against the mask


# --------------------------------------------------------------------------- mask -> shape


def mask_to_shape(
    mask: np.ndarray,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    min_area: float = DEFAULT_MIN_AREA,
    min_iou: float = DEFAULT_MIN_IOU,
) -> Shape:
    """All parts and holes of a binary mask as a valid, simplified Shape in original pixels.

    Parts and holes smaller than `min_area` square pixels are dropped (a speck is noise, a
    pinhole too). The rest is simplified (Douglas-Peucker, topology kept) with `tolerance`
    in pixels; where the result would rasterise back with an IoU below `min_iou` against
    the mask (thin or wiggly objects, many specks), the tolerance is halved until it does
    not, down to the exact outline. `tolerance=0` keeps the exact pixel outline, which
    rasterises back pixel for pixel.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected a 2-D mask, got shape {mask.shape}")
    box = _nonzero_box(mask)
    if box is None:
        return Shape(())
    x0, y0, x1, y1 = box
    return _crop_to_shape(mask[y0:y1, x0:x1].astype(bool, copy=False), x0, y0, tolerance, min_area, min_iou)


def _crop_to_shape(crop: np.ndarray, x0: int, y0: int, tolerance: float, min_area: float, min_iou: float) -> Shape:
    """mask_to_shape for the part of a mask at (x0, y0) that holds all of its pixels."""
    if tolerance <= 0:
        parts, pinched = _outline_rings(crop, x0, y0)
        if not pinched:  # already valid: skip shapely (the path of every RLE a COCO import reads)
            return _rings_to_shape(parts, min_area)
    exact = _outline(crop)
    if min_area > 0:
        exact = _drop_small(exact, min_area)
    if exact.is_empty:
        return Shape(())
    result = exact
    if tolerance > 0:
        step = tolerance
        while step > 0:
            simplified = _drop_small(_valid_polygonal(shapely.simplify(exact, step, preserve_topology=True)),
                                     max(min_area, 1e-9))
            if mask_iou(shape_to_mask(_to_shape(simplified), *crop.shape), crop, if_empty=1.0) >= min_iou:
                result = simplified
                break
            step = step / 2 if step > 0.25 else 0.0
    return _to_shape(result, x0, y0)


def _rings_to_shape(parts: list[Part], min_area: float) -> Shape:
    """Exact outline rings as a Shape, as `_drop_small` + `_to_shape` would make them, without shapely."""
    kept = []
    for exterior, exterior_area, holes, hole_areas in parts:
        area = abs(exterior_area) - sum(abs(a) for a in hole_areas)
        if area < min_area:
            continue
        oriented_holes = tuple(
            _read_only(_oriented(h, a, positive=False)) for h, a in zip(holes, hole_areas) if abs(a) >= min_area
        )
        exterior = _read_only(_oriented(exterior, exterior_area, positive=True))
        kept.append((area, Polygon.from_open_rings(exterior, oriented_holes)))
    kept.sort(key=lambda item: -item[0])
    return Shape(tuple(p for _, p in kept))


def signed_ring_area(ring: np.ndarray) -> float:
    """Shoelace area of an open ring [N, 2], positive when its vertices turn counter-clockwise (y up)."""
    x, y = ring[:, 0], ring[:, 1]
    # (y[1:], y[:1]) is np.roll(y, -1) without its generic-shift overhead (a COCO import calls this per ring)
    return float(np.dot(x, np.concatenate((y[1:], y[:1]))) - np.dot(y, np.concatenate((x[1:], x[:1])))) / 2.0


def _read_only(ring: np.ndarray) -> np.ndarray:
    ring.setflags(write=False)
    return ring


def _oriented(ring: np.ndarray, signed_area: float, *, positive: bool) -> np.ndarray:
    """The ring, reversed (keeping its first vertex, as shapely's orient does) if its turn is wrong."""
    if (signed_area > 0) == positive:
        return ring
    return np.concatenate([ring[:1], ring[:0:-1]])


def _nonzero_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _outline(mask: np.ndarray) -> MultiPolygon:
    """Exact pixel-edge outline of a bool mask as a valid MultiPolygon, in the mask's own pixels."""
    parts, _ = _outline_rings(mask)
    polygons = [ShapelyPolygon(exterior, holes) for exterior, _, holes, _ in parts]
    polygons.sort(key=lambda p: -p.area)  # main body first
    return _valid_polygonal(MultiPolygon(polygons))


class Part(NamedTuple):
    """One part of an exact outline: float64 rings [N, 2] as traced, and their signed areas."""

    exterior: np.ndarray
    exterior_area: float
    holes: list[np.ndarray]
    hole_areas: list[float]


def _outline_rings(mask: np.ndarray, x0: int = 0, y0: int = 0) -> tuple[list[Part], bool]:
    """Exact pixel-edge rings of a bool mask, shifted by (x0, y0), as parts, and whether any part
    touches itself at a corner (diagonal contact), which shapely may have to repair."""
    contours, parents = _trace(np.ascontiguousarray(mask).view(np.uint8))
    pts, counts, _ = _crack_points(contours)
    owner = np.zeros(len(counts), np.int64)
    parts, pinched = _group_parts(pts, counts, parents, owner, np.array([[x0, y0]], np.int64))
    return parts[0], bool(pinched[0])


def _trace(pixels: np.ndarray) -> tuple[Sequence[np.ndarray], np.ndarray]:
    """OpenCV's contours (RETR_CCOMP) of a uint8 0/1 image upsampled 2x with a 1-pixel border,
    and each contour's parent index (-1 for an outer one)."""
    # On the 2x mask every traced sub-pixel u maps to the pixel edge ceil(u / 2) (see
    # _crack_points), which turns OpenCV's pixel-centre chains into pixel-edge outlines,
    # diagonal contacts becoming single shared corners.
    height, width = pixels.shape
    up = np.zeros((2 * height + 2, 2 * width + 2), np.uint8)
    cv2.resize(pixels, (2 * width, 2 * height), dst=up[1:-1, 1:-1], interpolation=cv2.INTER_NEAREST)
    contours, hierarchy = cv2.findContours(up, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return (), np.zeros(0, np.int64)
    return contours, hierarchy[0][:, 3].astype(np.int64)


def _crack_points(contours: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contours traced by `_trace` as pixel-edge vertices: (all rings' int64 vertices [N, 2], vertices
    per contour, the pixel-edge point of each contour's first traced point [C, 2]).

    All contours are processed as one array (ring by ring, the numpy call overhead dominates)."""
    if not len(contours):
        return np.zeros((0, 2), np.int64), np.zeros(0, np.int64), np.zeros((0, 2), np.int64)
    lengths = np.fromiter((len(c) for c in contours), np.int64, len(contours))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    pts = np.concatenate(contours).reshape(-1, 2).astype(np.int64) // 2  # ceil((u - 1) / 2) with the border
    first = pts[starts]
    ring_id = np.repeat(np.arange(len(contours)), lengths)
    prev = np.arange(len(pts)) - 1
    prev[starts] = ends - 1
    step = pts - pts[prev]
    keep = (step != 0).any(axis=1)  # consecutive duplicates go
    pts, step, ring_id = pts[keep], step[keep], ring_id[keep]
    # drop vertices in the middle of straight runs (same direction in as out)
    counts = np.bincount(ring_id, minlength=len(contours))
    ends = np.cumsum(counts)
    starts = ends - counts
    following = np.arange(1, len(pts) + 1)
    nonempty = counts > 0
    following[ends[nonempty] - 1] = starts[nonempty]
    after = step[following] if len(pts) else step
    corner = step[:, 0] * after[:, 1] != step[:, 1] * after[:, 0]
    return pts[corner], np.bincount(ring_id[corner], minlength=len(contours)), first


def _group_parts(
    pts: np.ndarray, counts: np.ndarray, parents: np.ndarray, owner: np.ndarray, shift: np.ndarray
) -> tuple[list[list[Part]], np.ndarray]:
    """Crack rings (`_crack_points`) of several owners as parts per owner, in contour order, each
    owner's rings shifted by its `shift` [n_owners, 2], and per owner whether a part touches itself
    (rings of a part sharing a vertex: a ring pinched at a diagonal contact, or a hole meeting the
    outline or another hole), the only ways an exact pixel outline can be invalid. Rings under 3
    vertices, and the holes of such an outer ring, go. Areas are summed exactly, in integers."""
    n = len(counts)
    outer = parents < 0
    part = np.where(outer, np.arange(n), parents)
    valid = (counts >= 3) & (counts[part] >= 3) if n else np.zeros(0, bool)
    ring_of = np.repeat(np.arange(n), counts)
    kept = valid[ring_of]
    xy, part_of = pts[kept], part[ring_of[kept]]
    pinched = np.zeros(len(shift), bool)
    if len(xy):
        width, height = xy.max(axis=0) + 1
        keys = np.sort((part_of * width + xy[:, 0]) * height + xy[:, 1])
        shared = keys[1:][keys[1:] == keys[:-1]]
        pinched[owner[shared // (width * height)]] = True
    # shoelace per ring, x * y_next - y * x_next summed (exact: integers), then shifted
    following = np.arange(1, len(pts) + 1)
    ends = np.cumsum(counts)
    following[ends[counts > 0] - 1] = (ends - counts)[counts > 0]
    following = following[: len(pts)]
    cross = pts[:, 0] * pts[following, 1] - pts[:, 1] * pts[following, 0]
    areas = (np.bincount(ring_of, weights=cross, minlength=n) / 2.0).tolist()
    shifted = (pts + shift[owner[ring_of]]).astype(np.float64)
    rings = np.split(shifted, ends[:-1]) if n else []
    holes: dict[int, tuple[list[np.ndarray], list[float]]] = {}
    for j in np.flatnonzero(valid & ~outer).tolist():
        rings_areas = holes.setdefault(int(parents[j]), ([], []))
        rings_areas[0].append(rings[j])
        rings_areas[1].append(areas[j])
    parts: list[list[Part]] = [[] for _ in range(len(shift))]
    owners = owner.tolist()
    no_holes: tuple[list[np.ndarray], list[float]] = ([], [])
    for i in np.flatnonzero(valid & outer).tolist():
        hole_rings, hole_areas = holes.get(i, no_holes)
        parts[owners[i]].append(Part(rings[i], areas[i], hole_rings, hole_areas))
    return parts, pinched


def _valid_polygonal(geometry) -> MultiPolygon:
    """The polygonal part of a geometry, made valid, as a MultiPolygon."""
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    parts = []
    for part in getattr(geometry, "geoms", [geometry]):
        if isinstance(part, ShapelyPolygon):
            if not part.is_empty:
                parts.append(part)
        elif isinstance(part, MultiPolygon) or hasattr(part, "geoms"):
            parts.extend(_valid_polygonal(part).geoms)
    return MultiPolygon(parts)


def _drop_small(geometry: MultiPolygon, min_area: float) -> MultiPolygon:
    """Remove parts and holes with an area below `min_area`."""
    kept = []
    for part in geometry.geoms:
        if part.area < min_area:
            continue
        holes = [h for h in part.interiors if ShapelyPolygon(h).area >= min_area]
        kept.append(ShapelyPolygon(part.exterior, holes) if len(holes) != len(part.interiors) else part)
    return MultiPolygon(kept)


# --------------------------------------------------------------------------- shapely <-> Shape


def geometry_to_shape(geometry) -> Shape:
    """A shapely (Multi)Polygon as a valid Shape: exteriors counter-clockwise in x/y, holes clockwise."""
    return _to_shape(_valid_polygonal(geometry))


def _to_shape(geometry: MultiPolygon, dx: float = 0.0, dy: float = 0.0) -> Shape:
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
        ShapelyPolygon(p.exterior, [h for h in p.holes if len(h) >= 3])
        for p in shape.polygons
        if len(p.exterior) >= 3
    ]
    return MultiPolygon(parts)


def make_shape_valid(shape: Shape) -> Shape:
    """Repair a hand-edited shape (self-intersections, overlapping parts) with shapely's make_valid."""
    return geometry_to_shape(shape_to_geometry(shape))


# --------------------------------------------------------------------------- measures


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


# --------------------------------------------------------------------------- rasterisation (RLE codecs: rle.py)


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
    exteriors = [_flat(p.exterior) for p in shape.polygons if len(p.exterior) >= 3]
    if not shape.has_holes:
        return rle_window(mask_utils.merge(mask_utils.frPyObjects(exteriors, height, width)), *box)
    # Holes are subtracted per part, so an island inside another part's hole survives.
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), bool)
    for p in shape.polygons:
        if len(p.exterior) < 3:
            continue
        part = rle_window(mask_utils.frPyObjects([_flat(p.exterior)], height, width)[0], *box)
        part_holes = [_flat(h) for h in p.holes if len(h) >= 3]
        if part_holes:
            part &= ~rle_window(mask_utils.merge(mask_utils.frPyObjects(part_holes, height, width)), *box)
        mask |= part
    return mask


def _flat(ring: np.ndarray) -> list[float]:
    return ring.ravel().tolist()


# --------------------------------------------------------------------------- COCO polygon lists


def shape_to_coco_polygons(shape: Shape) -> list[list[float]]:
    """COCO polygon lists (one flat [x1, y1, x2, y2, ...] per part); raises ValueError for holes.

    COCO polygons cannot express holes (pycocotools unions the lists), so a shape with
    holes must be written as RLE instead.
    """
    if shape.has_holes:
        raise ValueError("a shape with holes cannot be written as COCO polygons; use RLE")
    return [_flat(p.exterior) for p in shape.polygons if len(p.exterior) >= 3]


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
    return _crop_to_shape(crop, x0, y0, tolerance, min_area, DEFAULT_MIN_IOU)


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
        contours, parents = _trace(canvas)
        pts, counts, first = _crack_points(contours)
        shift = pieces.box[slots, :2] - offsets
        parts, pinched = _group_parts(pts, counts, parents, _slot_of(first, offsets), shift)
        for k, slot_parts in zip(slots.tolist(), parts):
            results[index[k]] = _rings_to_shape(slot_parts, 0.0)
        for s in np.flatnonzero(pinched).tolist():  # shapely repairs these, as shape_from_rle does
            x0, y0, x1, y1 = pieces.box[slots[s]].tolist()
            cx, cy = offsets[s].tolist()
            crop = canvas[cy : cy + y1 - y0, cx : cx + x1 - x0].view(bool)
            results[index[slots[s]]] = _crop_to_shape(crop, x0, y0, 0.0, 0.0, DEFAULT_MIN_IOU)
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
        canvas = paint_column_pieces(canvas_w, canvas_h, position[owner, 0] + pieces.column[taken],
                                     position[owner, 1] + pieces.top[taken], position[owner, 1] + pieces.bottom[taken])
        yield canvas, slots, offsets


def _slot_of(points: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Index of the slot (crop at `offsets`, laid out row by row) holding each pixel-edge point."""
    rows = np.unique(offsets[:, 1])
    row = np.searchsorted(rows, points[:, 1], side="right") - 1
    span = int(max(offsets[:, 0].max(), points[:, 0].max() if len(points) else 0)) + 2
    slot_keys = np.searchsorted(rows, offsets[:, 1]) * span + offsets[:, 0]
    order = np.argsort(slot_keys, kind="stable")
    return order[np.searchsorted(slot_keys[order], row * span + points[:, 0], side="right") - 1]
