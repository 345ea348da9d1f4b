"""The shape of one annotated object: one or more polygons, each with optional holes.

Coordinates are (x, y) in original image pixels, float64, with pixel centres at
integer + 0.5 as in COCO. Rings are open (the first vertex is not repeated).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _as_ring(points: np.ndarray | list) -> np.ndarray:
    ring = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    # element-wise rather than np.array_equal: this runs for every ring of a large COCO import
    if len(ring) >= 2 and ring[0, 0] == ring[-1, 0] and ring[0, 1] == ring[-1, 1]:
        ring = ring[:-1]
    ring.setflags(write=False)
    return ring


@dataclass(frozen=True, eq=False, slots=True)
class Polygon:
    """One connected part of an object: an exterior ring and the holes cut out of it."""

    exterior: np.ndarray
    holes: tuple[np.ndarray, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "exterior", _as_ring(self.exterior))
        object.__setattr__(self, "holes", tuple(_as_ring(h) for h in self.holes))

    @classmethod
    def from_open_rings(cls, exterior: np.ndarray, holes: tuple[np.ndarray, ...] = ()) -> Polygon:
        """Build without re-checking rings that are already float64 (N, 2), open and read-only
        (a large COCO import makes hundreds of thousands of polygons from one array)."""
        polygon = object.__new__(cls)
        object.__setattr__(polygon, "exterior", exterior)
        object.__setattr__(polygon, "holes", holes)
        return polygon

    @property
    def num_vertices(self) -> int:
        return len(self.exterior) + sum(len(h) for h in self.holes)

    def translated(self, dx: float, dy: float) -> Polygon:
        offset = np.array([dx, dy])
        return Polygon(self.exterior + offset, tuple(h + offset for h in self.holes))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Polygon):
            return NotImplemented
        return (
            np.array_equal(self.exterior, other.exterior)
            and len(self.holes) == len(other.holes)
            and all(np.array_equal(a, b) for a, b in zip(self.holes, other.holes))
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, eq=False, slots=True)
class Shape:
    """All parts of one object. Immutable: edits build a new Shape (cheap undo)."""

    polygons: tuple[Polygon, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "polygons", tuple(self.polygons))

    @classmethod
    def from_polygons(cls, polygons: tuple[Polygon, ...]) -> Shape:
        """Build from a tuple of polygons without copying it (a large COCO import makes hundreds of
        thousands of shapes)."""
        shape = object.__new__(cls)
        object.__setattr__(shape, "polygons", polygons)
        return shape

    @property
    def has_holes(self) -> bool:
        return any(p.holes for p in self.polygons)

    @property
    def num_vertices(self) -> int:
        return sum(p.num_vertices for p in self.polygons)

    def is_empty(self) -> bool:
        return not any(len(p.exterior) >= 3 for p in self.polygons)

    def bounds(self) -> tuple[float, float, float, float]:
        """(x1, y1, x2, y2) of all exterior vertices; raises ValueError for an empty shape."""
        if self.is_empty():
            raise ValueError("empty shape has no bounds")
        pts = np.concatenate([p.exterior for p in self.polygons])
        x1, y1 = pts.min(axis=0)
        x2, y2 = pts.max(axis=0)
        return float(x1), float(y1), float(x2), float(y2)

    def translated(self, dx: float, dy: float) -> Shape:
        return Shape(tuple(p.translated(dx, dy) for p in self.polygons))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Shape):
            return NotImplemented
        return len(self.polygons) == len(other.polygons) and all(a == b for a, b in zip(self.polygons, other.polygons))

    __hash__ = None  # type: ignore[assignment]
