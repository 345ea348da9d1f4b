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

from collections.abc import Sequence

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.geometry.polygon import orient

from segmentation.geometry.shapes import Polygon, Shape

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
    in pixels; where that would rasterise back with an IoU below `min_iou` against the
    de-specked mask (thin or wiggly objects), the tolerance is halved until it does not.
    `tolerance=0` keeps the exact pixel outline, which rasterises back pixel for pixel.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected a 2-D mask, got shape {mask.shape}")
    box = _nonzero_box(mask)
    if box is None:
        return Shape(())
    x0, y0, x1, y1 = box
    crop = mask[y0:y1, x0:x1].astype(bool, copy=False)
    exact = _outline(crop)
    if min_area > 0:
        exact = _drop_small(exact, min_area)
    if exact.is_empty:
        return Shape(())
    result = exact
    if tolerance > 0:
        # the exact outline's area is its pixel count, so equal areas mean no speck was dropped
        reference = crop if exact.area == np.count_nonzero(crop) else shape_to_mask(geometry_to_shape(exact), *crop.shape)
        step = tolerance
        while step > 0:
            simplified = _drop_small(_valid_polygonal(shapely.simplify(exact, step, preserve_topology=True)),
                                     max(min_area, 1e-9))
            if _iou(shape_to_mask(geometry_to_shape(simplified), *crop.shape), reference) >= min_iou:
                result = simplified
                break
            step = step / 2 if step > 0.25 else 0.0
    return geometry_to_shape(result).translated(float(x0), float(y0))


def mask_to_geometry(mask: np.ndarray) -> MultiPolygon:
    """The exact pixel-edge outline of a mask as a valid shapely MultiPolygon (empty for an empty mask)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected a 2-D mask, got shape {mask.shape}")
    box = _nonzero_box(mask)
    if box is None:
        return MultiPolygon()
    x0, y0, x1, y1 = box
    return shapely.transform(_outline(mask[y0:y1, x0:x1].astype(bool, copy=False)), lambda c: c + [x0, y0])


def _nonzero_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _outline(mask: np.ndarray) -> MultiPolygon:
    """Exact pixel-edge outline of a bool mask, in the mask's own pixel coordinates."""
    # Trace the outline on the mask upsampled 2x (with a 1-pixel border): every traced
    # sub-pixel u maps to the pixel edge ceil(u / 2), which turns OpenCV's pixel-centre
    # chains into pixel-edge outlines, diagonal contacts becoming single shared corners.
    up = np.zeros((2 * mask.shape[0] + 2, 2 * mask.shape[1] + 2), np.uint8)
    up[1:-1, 1:-1] = np.repeat(np.repeat(mask, 2, axis=0), 2, axis=1)
    contours, hierarchy = cv2.findContours(up, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if hierarchy is None:
        return MultiPolygon()
    rings = [_crack_ring(c) for c in contours]
    parents = hierarchy[0][:, 3]
    polygons = []
    for i, ring in enumerate(rings):
        if parents[i] >= 0 or ring is None:
            continue
        holes = [rings[j] for j in np.flatnonzero(parents == i) if rings[j] is not None]
        polygons.append(ShapelyPolygon(ring, holes))
    polygons.sort(key=lambda p: -p.area)  # main body first
    return _valid_polygonal(MultiPolygon(polygons))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b)) / union if union else 1.0


def _crack_ring(contour: np.ndarray) -> np.ndarray | None:
    """Map a contour traced on the 2x (bordered) mask to pixel-edge vertices; None if degenerate."""
    pts = contour.reshape(-1, 2).astype(np.int64) - 1  # undo the border
    pts = (pts + 1) // 2  # ceil(u / 2)
    pts = pts[np.any(pts != np.roll(pts, 1, axis=0), axis=1)]  # consecutive duplicates
    if len(pts) < 3:
        return None
    # drop vertices in the middle of straight runs
    prev, nxt = np.roll(pts, 1, axis=0), np.roll(pts, -1, axis=0)
    cross = (pts[:, 0] - prev[:, 0]) * (nxt[:, 1] - pts[:, 1]) - (pts[:, 1] - prev[:, 1]) * (nxt[:, 0] - pts[:, 0])
    pts = pts[cross != 0]
    if len(pts) < 3:
        return None
    return pts.astype(np.float64)


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
    """A shapely (Multi)Polygon as a Shape: exteriors counter-clockwise in x/y, holes clockwise."""
    polygons = []
    for part in _valid_polygonal(geometry).geoms:
        part = orient(part, sign=1.0)
        exterior = np.asarray(part.exterior.coords)[:-1]
        holes = tuple(np.asarray(h.coords)[:-1] for h in part.interiors)
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
    if len(ring) < 3:
        return 0.0
    x, y = ring[:, 0], ring[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2.0


def shape_area(shape: Shape) -> float:
    """Polygon area in square pixels: exteriors minus holes, summed over parts (COCO's polygon area)."""
    return sum(ring_area(p.exterior) - sum(ring_area(h) for h in p.holes) for p in shape.polygons)


def shape_bbox(shape: Shape) -> tuple[float, float, float, float]:
    """COCO bbox (x, y, width, height) of the shape's outline; (0, 0, 0, 0) for an empty shape."""
    if shape.is_empty():
        return (0.0, 0.0, 0.0, 0.0)
    x1, y1, x2, y2 = shape.bounds()
    return (x1, y1, x2 - x1, y2 - y1)


# --------------------------------------------------------------------------- rasterisation


def shape_to_mask(shape: Shape, height: int, width: int) -> np.ndarray:
    """Rasterise with pycocotools (COCO's rule), holes subtracted; bool [height, width]."""
    return mask_utils.decode(shape_to_rle(shape, height, width)).astype(bool)


def shape_to_rle(shape: Shape, height: int, width: int) -> dict:
    """Compressed COCO RLE of the rasterised shape (`counts` a str, as in COCO JSON)."""
    exteriors = [_flat(p.exterior) for p in shape.polygons if len(p.exterior) >= 3]
    holes = [_flat(h) for p in shape.polygons for h in p.holes if len(h) >= 3]
    if not exteriors:
        rle = mask_utils.encode(np.zeros((height, width), np.uint8, order="F"))
    elif not holes:
        rle = mask_utils.merge(mask_utils.frPyObjects(exteriors, height, width))
    else:
        # Holes are subtracted per part, so an island inside another part's hole survives.
        mask = np.zeros((height, width), np.uint8)
        for p in shape.polygons:
            if len(p.exterior) < 3:
                continue
            part = mask_utils.decode(mask_utils.frPyObjects([_flat(p.exterior)], height, width))[:, :, 0]
            part_holes = [_flat(h) for h in p.holes if len(h) >= 3]
            if part_holes:
                cut = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(part_holes, height, width)))
                part &= 1 - cut
            mask |= part
        rle = mask_utils.encode(np.asfortranarray(mask))
    return _str_counts(rle)


def rle_area(rle: dict) -> int:
    """Pixel count of a COCO RLE (compressed or uncompressed)."""
    return int(mask_utils.area(_compressed(rle)))


def rle_to_mask(rle: dict) -> np.ndarray:
    """Decode a COCO RLE (compressed, or uncompressed with a list of counts) to bool [h, w]."""
    return mask_utils.decode(_compressed(rle)).astype(bool)


def mask_to_rle(mask: np.ndarray) -> dict:
    """Compressed COCO RLE of a binary mask (`counts` a str)."""
    return _str_counts(mask_utils.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8))))


def _flat(ring: np.ndarray) -> list[float]:
    return ring.ravel().tolist()


def _str_counts(rle: dict) -> dict:
    counts = rle["counts"]
    return {"size": [int(rle["size"][0]), int(rle["size"][1])],
            "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}


def _compressed(rle: dict) -> dict:
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, list):
        return mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    return {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


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
    """A Shape from a COCO RLE; by default the exact pixel outline (rasterises back losslessly)."""
    return mask_to_shape(rle_to_mask(rle), tolerance=tolerance, min_area=min_area)
