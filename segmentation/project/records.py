"""The plain records a project is made of: annotated objects, their provenance, image statuses."""

from __future__ import annotations

import json
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
    polygons = [[ring.ravel().tolist() for ring in (p.exterior, *p.holes)] for p in shape.polygons]
    return json.dumps(polygons, separators=(",", ":"))


def shape_from_json(text: str) -> Shape:
    polygons = []
    for rings in json.loads(text):
        arrays = [np.asarray(r, dtype=np.float64).reshape(-1, 2) for r in rings]
        polygons.append(Polygon(arrays[0], tuple(arrays[1:])))
    return Shape(tuple(polygons))
