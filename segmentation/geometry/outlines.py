"""Binary mask -> Shape: the exact pixel-edge ("crack") outline of a mask, simplified within an IoU bound.

pycocotools includes a pixel when its centre lies inside the polygon (see rasterise.py), hence
the polygon that follows the pixel edges of a mask rasterises back to exactly that mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry import Polygon as ShapelyPolygon

from protolabel.segmentation.geometry.overlap import mask_iou
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.geometry.shapely_bridge import drop_small, polygonal_to_shape, valid_polygonal
from protolabel.segmentation.geometry.shapes import Polygon, Shape

DEFAULT_TOLERANCE = 1.0  # pixels of Douglas-Peucker simplification
DEFAULT_MIN_AREA = 4.0  # square pixels: smaller parts and holes are specks
DEFAULT_MIN_IOU = 0.95  # simplification never costs more than this against the mask


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
    return crop_to_shape(mask[y0:y1, x0:x1].astype(bool, copy=False), x0, y0, tolerance, min_area, min_iou)


def crop_to_shape(crop: np.ndarray, x0: int, y0: int, tolerance: float, min_area: float, min_iou: float) -> Shape:
    """mask_to_shape for the part of a mask at (x0, y0) that holds all of its pixels."""
    if tolerance <= 0:
        parts, pinched = _outline_rings(crop, x0, y0)
        if not pinched:  # already valid: skip shapely (the path of every RLE a COCO import reads)
            return rings_to_shape(parts, min_area)
    exact = _outline(crop)
    if min_area > 0:
        exact = drop_small(exact, min_area)
    if exact.is_empty:
        return Shape(())
    result = exact
    if tolerance > 0:
        step = tolerance
        while step > 0:
            simplified = drop_small(
                valid_polygonal(shapely.simplify(exact, step, preserve_topology=True)), max(min_area, 1e-9)
            )
            if mask_iou(shape_to_mask(polygonal_to_shape(simplified), *crop.shape), crop, if_empty=1.0) >= min_iou:
                result = simplified
                break
            step = step / 2 if step > 0.25 else 0.0
    return polygonal_to_shape(result, x0, y0)


def rings_to_shape(parts: list[Part], min_area: float) -> Shape:
    """Exact outline rings as a Shape, as `drop_small` + `polygonal_to_shape` would make them, without shapely."""
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
    return valid_polygonal(MultiPolygon(polygons))


class Part(NamedTuple):
    """One part of an exact outline: float64 rings [N, 2] as traced, and their signed areas."""

    exterior: np.ndarray
    exterior_area: float
    holes: list[np.ndarray]
    hole_areas: list[float]


def _outline_rings(mask: np.ndarray, x0: int = 0, y0: int = 0) -> tuple[list[Part], bool]:
    """Exact pixel-edge rings of a bool mask, shifted by (x0, y0), as parts, and whether any part
    touches itself at a corner (diagonal contact), which shapely may have to repair."""
    contours, parents = trace_contours(np.ascontiguousarray(mask).view(np.uint8))
    pts, counts, _ = crack_points(contours)
    owner = np.zeros(len(counts), np.int64)
    parts, pinched = group_parts(pts, counts, parents, owner, np.array([[x0, y0]], np.int64))
    return parts[0], bool(pinched[0])


def trace_contours(pixels: np.ndarray) -> tuple[Sequence[np.ndarray], np.ndarray]:
    """OpenCV's contours (RETR_CCOMP) of a uint8 0/1 image upsampled 2x with a 1-pixel border,
    and each contour's parent index (-1 for an outer one)."""
    # On the 2x mask every traced sub-pixel u maps to the pixel edge ceil(u / 2) (see
    # crack_points), which turns OpenCV's pixel-centre chains into pixel-edge outlines,
    # diagonal contacts becoming single shared corners.
    height, width = pixels.shape
    up = np.zeros((2 * height + 2, 2 * width + 2), np.uint8)
    cv2.resize(pixels, (2 * width, 2 * height), dst=up[1:-1, 1:-1], interpolation=cv2.INTER_NEAREST)
    contours, hierarchy = cv2.findContours(up, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return (), np.zeros(0, np.int64)
    return contours, hierarchy[0][:, 3].astype(np.int64)


def crack_points(contours: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contours traced by `trace_contours` as pixel-edge vertices: (all rings' int64 vertices [N, 2], vertices
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


def group_parts(
    pts: np.ndarray, counts: np.ndarray, parents: np.ndarray, owner: np.ndarray, shift: np.ndarray
) -> tuple[list[list[Part]], np.ndarray]:
    """Crack rings (`crack_points`) of several owners as parts per owner, in contour order, each
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
