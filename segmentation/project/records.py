"""The plain records a project is made of: annotated objects, their provenance, image statuses."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np

from segmentation.geometry.shapes import Polygon, Shape


class Provenance(str, Enum):
    """Who last decided an object's shape and class."""

    AUTO = "auto"  # straight from the model; a later auto-label run may replace it
    EDITED = "edited"  # a person changed or drew it; auto-labels never touch it
    VERIFIED = "verified"  # a person accepted it as correct


class ImageStatus(str, Enum):
    """Where an image stands in the labelling workflow."""

    UNLABELED = "unlabeled"
    AUTO_LABELED = "auto-labeled"
    EDITED = "edited"
    VERIFIED = "verified"


@dataclass(frozen=True, eq=False)
class AnnotatedObject:
    """One object of one image. `id` is None until the store has saved it.

    `version` is the stored row's version when this object was read or written (None before): the
    store refuses an edit whose object changed since (see ProjectStore.write_change). It is
    bookkeeping, not content, so equality ignores it.
    """

    label: str
    shape: Shape
    provenance: Provenance = Provenance.EDITED
    score: float | None = None  # model score for auto objects, kept after edits for reference
    id: int | None = None
    version: int | None = None

    def with_changes(self, **changes) -> AnnotatedObject:
        return replace(self, **changes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AnnotatedObject):
            return NotImplemented
        return (self.id, self.label, self.provenance, self.score) == (
            other.id, other.label, other.provenance, other.score
        ) and self.shape == other.shape

    __hash__ = None  # type: ignore[assignment]


def shape_to_json(shape: Shape) -> str:
    """Compact JSON: a list of polygons, each a list of rings [x0, y0, x1, y1, ...]; ring 0 is the exterior.

    Python's float repr round-trips exactly, so a reopened project has exactly the saved vertices.
    """
    return shapes_to_json([shape])[0]


_HALF_STEPS = 1 << 15  # coordinates 0, 0.5, ..., 16383.5: pixel edges and centres of any image we read
_half_texts: list[np.ndarray] = []  # filled on first use: an object array of repr(k / 2)


def shapes_to_json(shapes: Sequence[Shape]) -> list[str]:
    """`shape_to_json` of many shapes at once, the same text as json.dumps gives (float repr).

    An import writes hundreds of thousands of shapes and float repr was most of its cost: coordinates
    on the half-pixel grid (what masks and pixel outlines give) take their text from a table instead,
    every other value (negative, off the grid, huge, not finite) is written by json as before.
    """
    rings = [ring for shape in shapes for polygon in shape.polygons for ring in (polygon.exterior, *polygon.holes)]
    values = np.concatenate(rings).ravel() if rings else np.empty(0)
    texts = _number_texts(values)
    out, k, v = [], 0, 0
    for shape in shapes:
        polygons = []
        for polygon in shape.polygons:
            parts = []
            for _ in range(1 + len(polygon.holes)):
                n = rings[k].size
                parts.append("[" + ",".join(texts[v:v + n]) + "]")
                k, v = k + 1, v + n
            polygons.append("[" + ",".join(parts) + "]")
        out.append("[" + ",".join(polygons) + "]")
    return out


def _number_texts(values: np.ndarray) -> list[str]:
    """json.dumps text of each float64 value."""
    if not _half_texts:
        _half_texts.append(np.array([repr(k / 2) for k in range(_HALF_STEPS)], dtype=object))
    table = _half_texts[0]
    with np.errstate(invalid="ignore", over="ignore"):
        doubled = values * 2
        on_grid = (doubled == np.floor(doubled)) & (doubled >= 0) & (doubled < _HALF_STEPS) & ~np.signbit(values)
    if on_grid.all():
        return table.take(doubled.astype(np.intp)).tolist()
    return [table[int(d)] if ok else json.dumps(x)
            for x, d, ok in zip(values.tolist(), doubled.tolist(), on_grid.tolist())]


def shape_from_json(text: str) -> Shape:
    polygons = []
    for rings in json.loads(text):
        arrays = [np.asarray(r, dtype=np.float64).reshape(-1, 2) for r in rings]
        polygons.append(Polygon(arrays[0], tuple(arrays[1:])))
    return Shape(tuple(polygons))
