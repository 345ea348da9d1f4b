"""Vertex-level edits of a Shape (pure functions): what the canvas does when a person drags, inserts or deletes.

A vertex is addressed by (part, ring, index): `part` indexes `shape.polygons`, ring 0 is the
exterior and ring r >= 1 is hole r - 1. Every function returns a new Shape (shapes are immutable).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from protolabel.segmentation.geometry.shapes import Polygon, Shape


@dataclass(frozen=True)
class RingRef:
    part: int
    ring: int  # 0 = exterior, r = hole r - 1


@dataclass(frozen=True)
class VertexRef(RingRef):
    index: int


@dataclass(frozen=True)
class EdgeHit:
    edge: VertexRef  # the edge from vertex `index` to `index + 1` (wrapping)
    point: tuple[float, float]  # the nearest point on that edge
    distance: float


def ring_of(shape: Shape, ref: RingRef) -> np.ndarray:
    polygon = shape.polygons[ref.part]
    return polygon.exterior if ref.ring == 0 else polygon.holes[ref.ring - 1]


def rings(shape: Shape) -> Iterator[tuple[RingRef, np.ndarray]]:
    """(RingRef, ring array) for every ring of the shape."""
    for p, polygon in enumerate(shape.polygons):
        for r, ring in enumerate((polygon.exterior, *polygon.holes)):
            yield RingRef(p, r), ring


def _with_ring(shape: Shape, ref: RingRef, ring: np.ndarray | None) -> Shape:
    """The shape with one ring replaced (None removes it; removing an exterior removes the part)."""
    polygons = list(shape.polygons)
    polygon = polygons[ref.part]
    if ref.ring == 0:
        if ring is None:
            del polygons[ref.part]
        else:
            polygons[ref.part] = Polygon(ring, polygon.holes)
    else:
        holes = list(polygon.holes)
        if ring is None:
            del holes[ref.ring - 1]
        else:
            holes[ref.ring - 1] = ring
        polygons[ref.part] = Polygon(polygon.exterior, tuple(holes))
    return Shape(tuple(polygons))


def move_vertex(shape: Shape, vertex: VertexRef, xy: tuple[float, float]) -> Shape:
    ring = np.array(ring_of(shape, vertex))
    ring[vertex.index] = xy
    return _with_ring(shape, vertex, ring)


def insert_vertex(shape: Shape, edge: VertexRef, xy: tuple[float, float]) -> tuple[Shape, VertexRef]:
    """Insert a vertex on the edge after `edge.index`; returns the shape and the new vertex."""
    ring = ring_of(shape, edge)
    new_ring = np.insert(ring, edge.index + 1, xy, axis=0)
    return _with_ring(shape, edge, new_ring), VertexRef(edge.part, edge.ring, edge.index + 1)


def delete_vertex(shape: Shape, vertex: VertexRef) -> Shape:
    """Remove a vertex. A ring left with fewer than 3 vertices goes: a hole disappears, an exterior
    takes its part with it. The result may be empty (the caller decides whether that deletes the object)."""
    ring = ring_of(shape, vertex)
    if len(ring) - 1 < 3:
        return _with_ring(shape, vertex, None)
    return _with_ring(shape, vertex, np.delete(ring, vertex.index, axis=0))


def nearest_vertex(shape: Shape, xy: tuple[float, float], tolerance: float) -> VertexRef | None:
    """The vertex closest to `xy` within `tolerance` (scene pixels), if any."""
    best, best_d = None, tolerance
    point = np.asarray(xy, dtype=np.float64)
    for ref, ring in rings(shape):
        if not len(ring):
            continue
        d = np.hypot(*(ring - point).T)
        i = int(np.argmin(d))
        if d[i] <= best_d:
            best, best_d = VertexRef(ref.part, ref.ring, i), float(d[i])
    return best


def nearest_edge(shape: Shape, xy: tuple[float, float], tolerance: float) -> EdgeHit | None:
    """The edge closest to `xy` within `tolerance`, with the nearest point on it."""
    best: EdgeHit | None = None
    p = np.asarray(xy, dtype=np.float64)
    for ref, ring in rings(shape):
        if len(ring) < 2:
            continue
        a, b = ring, np.roll(ring, -1, axis=0)
        ab = b - a
        length2 = np.einsum("ij,ij->i", ab, ab)
        t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
        closest = a + t[:, None] * ab
        d = np.hypot(*(closest - p).T)
        i = int(np.argmin(d))
        if d[i] <= tolerance and (best is None or d[i] < best.distance):
            best = EdgeHit(VertexRef(ref.part, ref.ring, i), (float(closest[i, 0]), float(closest[i, 1])), float(d[i]))
    return best


def contains(shape: Shape, xy: tuple[float, float]) -> bool:
    """Whether the point is inside the object (inside a part and not in one of its holes)."""
    x, y = xy
    for polygon in shape.polygons:
        if _inside(polygon.exterior, x, y) and not any(_inside(h, x, y) for h in polygon.holes):
            return True
    return False


def _inside(ring: np.ndarray, x: float, y: float) -> bool:
    """Even-odd ray casting."""
    if len(ring) < 3:
        return False
    xs, ys = ring[:, 0], ring[:, 1]
    xj, yj = np.roll(xs, 1), np.roll(ys, 1)
    crosses = (ys > y) != (yj > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = (xj - xs) * (y - ys) / (yj - ys) + xs
    return bool(np.count_nonzero(crosses & (x < x_at)) % 2)


def add_ring(shape: Shape, ring: np.ndarray) -> Shape:
    """Add a drawn ring to an object: inside one of its parts it becomes a hole, elsewhere a new part."""
    ring = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
    polygons = list(shape.polygons)
    for i, polygon in enumerate(polygons):
        if all(_inside(polygon.exterior, float(x), float(y)) for x, y in ring):
            polygons[i] = Polygon(polygon.exterior, (*polygon.holes, ring))
            return Shape(tuple(polygons))
    return Shape((*polygons, Polygon(ring)))
