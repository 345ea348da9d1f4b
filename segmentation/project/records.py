"""The plain records a project is made of: annotated objects, their provenance, image statuses, and the
typed rows the project store reads and writes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

import numpy as np

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Polygon, Shape

AttributeValue = bool | int | float | str  # the value of one object attribute, as JSON holds it


class ImageStatus(str, Enum):
    """Where an image stands in the labelling workflow."""

    UNLABELED = "unlabeled"
    AUTO_LABELED = "auto-labeled"
    EDITED = "edited"
    VERIFIED = "verified"


@dataclass(frozen=True, eq=False, slots=True)
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
    track_id: int | None = None  # a video frame's object: the track it belongs to (None: not tracked)
    # Per-object attributes (name -> bool, number or text; see attributes.py); None or empty: none.
    attributes: Mapping[str, AttributeValue] | None = None

    def with_changes(self, **changes: Any) -> AnnotatedObject:
        return replace(self, **changes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AnnotatedObject):
            return NotImplemented
        return (self.id, self.label, self.provenance, self.score, self.track_id, dict(self.attributes or {})) == (
            other.id,
            other.label,
            other.provenance,
            other.score,
            other.track_id,
            dict(other.attributes or {}),
        ) and self.shape == other.shape

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object exactly as the store holds it (the shape as its stored JSON text), so an undo re-creates a
    deleted one byte for byte: same provenance, score, vertices and id."""

    id: int
    image_path: str  # the image's path relative to the folder, '/'-separated
    label: str
    provenance: str  # a Provenance value as stored
    score: float | None
    shape_json: str  # shape_to_json text
    version: int  # the stored version when read
    track_id: int | None = None  # a video frame's object: its track
    attributes_json: str | None = None  # attributes_to_json text; None: no attributes


@dataclass(frozen=True, slots=True)
class ImportedImage:
    """One image of an import: its objects replace the image's auto objects unless a person worked on it."""

    path: str  # relative to the folder, '/'-separated
    size: tuple[int, int]  # (height, width) in pixels
    objects: tuple[AnnotatedObject, ...]
    tags: tuple[str, ...] = ()  # image-level tags, added to the image's own


def attributes_to_json(attributes: Mapping[str, AttributeValue] | None) -> str | None:
    """Compact, key-sorted JSON of an object's attributes; None when it has none (a NULL column)."""
    if not attributes:
        return None
    for name, value in attributes.items():
        if not isinstance(name, str) or not isinstance(value, (bool, int, float, str)):
            raise ValueError(f"attribute {name!r} has a value that is not a checkbox, number or text: {value!r}")
    return json.dumps(dict(attributes), sort_keys=True, separators=(",", ":"), allow_nan=False)


def attributes_from_json(text: str | None) -> dict[str, AttributeValue] | None:
    """The attributes `attributes_to_json` wrote; ValueError when the text is not an object of plain values."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError("the attributes are not JSON text")
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("the attributes are not a JSON object")
    for name, item in value.items():
        if not isinstance(item, (bool, int, float, str)):
            raise ValueError(f"attribute {name!r} has a value that is not a checkbox, number or text")
    return value or None


def shape_to_json(shape: Shape) -> str:
    """Compact JSON: a list of polygons, each a list of rings [x0, y0, x1, y1, ...]; ring 0 is the exterior.

    Python's float repr round-trips exactly, so a reopened project has exactly the saved vertices.
    """
    return shapes_to_json([shape])[0]


_HALF_STEPS = 1 << 15  # coordinates 0, 0.5, ..., 16383.5: pixel edges and centres of any image we read
# What follows a number in shape text: the next number of its ring, the next ring of its polygon, the next
# polygon of its shape, or the end of the shape.
_SEPARATORS = (",", "],[", "]],[[", "]]]")
_token_tables: list[np.ndarray] = []  # filled on first use: repr(k / 2) + separator s at s * _HALF_STEPS + k


def shapes_to_json(shapes: Sequence[Shape]) -> list[str]:
    """`shape_to_json` of many shapes at once, the same text as json.dumps gives (float repr).

    An import writes hundreds of thousands of shapes, and formatting numbers and joining rings one by
    one was most of its cost. Here every number becomes one token, its text and what follows it (a
    comma or the brackets that close its ring, polygon or shape), and each shape is one join of its
    tokens. Coordinates on the half-pixel grid (what masks and pixel outlines give) take their token
    from a table; every other value (negative, off the grid, huge, not finite) is written by json.
    """
    rings: list[np.ndarray] = []
    separators: list[int] = []  # per ring, the index in _SEPARATORS of what follows its last number
    shape_ends: list[int] = []  # per shape, how many rings up to its end
    for shape in shapes:
        for polygon in shape.polygons:
            rings.append(polygon.exterior)
            if polygon.holes:
                rings.extend(polygon.holes)
                separators.extend([1] * len(polygon.holes))
            separators.append(2)
        if shape.polygons:
            separators[-1] = 3
        shape_ends.append(len(rings))
    sizes = np.fromiter(map(len, rings), np.int64, len(rings)) * 2
    if not sizes.all():  # an empty ring has no number to carry its brackets
        return [json.dumps(_nested_lists(shape), separators=(",", ":")) for shape in shapes]
    values = np.concatenate(rings).ravel() if rings else np.empty(0)
    follows = np.zeros(values.size, np.intp)
    ends = np.cumsum(sizes)
    follows[ends - 1] = separators
    tokens = _number_tokens(values, follows)
    number_ends = np.concatenate(([0], ends))[shape_ends].tolist()
    out, start = [], 0
    for end in number_ends:
        out.append("[[[" + "".join(tokens[start:end]) if end > start else "[]")
        start = end
    return out


def _nested_lists(shape: Shape) -> list:
    return [[ring.ravel().tolist() for ring in (p.exterior, *p.holes)] for p in shape.polygons]


def _number_tokens(values: np.ndarray, follows: np.ndarray) -> list[str]:
    """json.dumps text of each float64 value followed by _SEPARATORS[follows]."""
    if not _token_tables:
        texts = [repr(k / 2) for k in range(_HALF_STEPS)]
        _token_tables.append(np.array([t + s for s in _SEPARATORS for t in texts], dtype=object))
    table = _token_tables[0]
    with np.errstate(invalid="ignore", over="ignore"):
        doubled = values * 2
        on_grid = (doubled == np.floor(doubled)) & (doubled >= 0) & (doubled < _HALF_STEPS) & ~np.signbit(values)
    index = follows * _HALF_STEPS
    if on_grid.all():
        return table.take(index + doubled.astype(np.intp)).tolist()
    return [
        table[i + int(d)] if ok else json.dumps(x) + _SEPARATORS[i // _HALF_STEPS]
        for x, d, ok, i in zip(values.tolist(), doubled.tolist(), on_grid.tolist(), index.tolist())
    ]


def shape_from_json(text: str) -> Shape:
    polygons = []
    for rings in json.loads(text):
        arrays = [np.asarray(r, dtype=np.float64).reshape(-1, 2) for r in rings]
        polygons.append(Polygon(arrays[0], tuple(arrays[1:])))
    return Shape(tuple(polygons))


@dataclass(frozen=True, slots=True)
class VideoRecord:
    """A video of the project as the store records it: a frame's identity names its SHA-256."""

    id: int
    path: str  # relative to the folder, '/'-separated
    sha256: str  # hex digest of the file's bytes
    frame_count: int
    width: int  # pixels, after rotation metadata
    height: int
    size_bytes: int
    time_base: str  # unit of pts in seconds, a fraction such as "1/15360"
    average_fps: str | None  # frames per second as a fraction ("30000/1001"); None when the file does not say
    variable_frame_rate: bool


@dataclass(frozen=True, slots=True)
class FrameRecord:
    """One frame of a video: its key (its `images` path in the store), its identity in the video, its status."""

    key: str
    video_id: int
    index: int  # 0-based, in presentation order
    pts: int  # presentation time in the video's time_base
    status: ImageStatus  # unlabeled when `damaged`
    damaged: str | None = None  # why the stored status cannot be read (the frame's document is then read-only)


@dataclass(frozen=True, slots=True)
class TrackRecord:
    """One track of a video: objects of its frames that are the same thing."""

    id: int
    video_id: int
    label: str  # the class of every object of the track
    version: int  # compare-and-set, as an object's


@dataclass(frozen=True, slots=True)
class TrackObject:
    """An object of a track on one frame."""

    frame_key: str
    frame_index: int
    object: AnnotatedObject


@dataclass(frozen=True)
class TrackEdit:
    """A reversible edit of tracks: the touched track and object rows before and after (matched by id), and the
    statuses of the frames it changes. A row only in `before` is deleted, one only in `after` (re-)created, one
    in both updated; each must still be stored at its `before` version. `inverted()` is the undo."""

    text: str
    objects_before: tuple[StoredObject, ...]
    objects_after: tuple[StoredObject, ...]
    tracks_before: tuple[TrackRecord, ...]
    tracks_after: tuple[TrackRecord, ...]
    statuses_before: Mapping[str, ImageStatus]
    statuses_after: Mapping[str, ImageStatus]
    rejects: bool = False  # a person deletes the removed auto objects as wrong: a model run must not bring them back

    def inverted(self) -> TrackEdit:
        """The undo. It keeps `rejects`: it only removes what the edit re-created, so the undo of an undone
        delete (its redo) rejects the same objects again."""
        return TrackEdit(
            self.text,
            self.objects_after,
            self.objects_before,
            self.tracks_after,
            self.tracks_before,
            self.statuses_after,
            self.statuses_before,
            self.rejects,
        )
