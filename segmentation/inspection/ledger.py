"""What the inspector remembers beside its InspectorState: region detections offered for adding, mask edits
applied to objects, and the reasons it gave why a detection is no object.

Qt-free so these rules have plain tests; the app's inspector controller keeps only threads and wiring.
Region offers are kept per run (`created`) for the session; applied edits remember the object and the
shape the edit gave it, so an undo that takes the shape away (and a redo that brings it back) shows the
right coefficients; reasons are computed once per detection and rule inputs, and forgotten when the
image's objects change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from shapely.geometry.base import BaseGeometry

from protolabel.segmentation.geometry.outlines import DEFAULT_TOLERANCE
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.inspection.cache import NO_OBJECT, InferenceRecord
from protolabel.segmentation.inspection.reasons import not_kept_reason, object_geometries
from protolabel.segmentation.inspection.state import DetectionKey

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in image pixels


@dataclass(frozen=True)
class AppliedEdit:
    """A mask edit applied to an object: the image, the object, the shape the edit gave it, and the
    coefficients that made that shape."""

    image: str
    object_id: int
    shape: Shape
    coefficients: np.ndarray


class InspectorLedger:
    """Region offers, applied edits and the reasons cache of one window's inspector."""

    def __init__(self) -> None:
        self.offers: dict[float, dict[int, Shape]] = {}  # region run -> {row: shape in the image} offered
        self.regions: dict[float, Rect] = {}  # region run -> the rectangle it ran on
        self._applied: dict[DetectionKey, AppliedEdit] = {}
        self._reasons: dict[tuple[float, int, float, str], str] = {}
        self._geometries: list[tuple[int, BaseGeometry]] | None = None  # the image's objects, for the reasons
        self._rejected: list[BaseGeometry] = []  # and the auto objects a person deleted as wrong there

    # ---------------------------------------------------------------- region offers
    def offer(self, created: float, rect: Rect, offered: Mapping[int, Shape]) -> None:
        """A region run on `rect` offers these detections (row -> shape in the image) for adding."""
        self.offers[created] = dict(offered)
        self.regions[created] = rect

    def offered_shape(self, created: float, row: int) -> Shape | None:
        return self.offers.get(created, {}).get(row)

    def is_offered(self, created: float, row: int) -> bool:
        return row in self.offers.get(created, {})

    def new_offers(self, record: InferenceRecord | None, addable: Callable[[InferenceRecord, int], bool]) -> list[int]:
        """Rows of the run offered for adding that are not objects yet, in row order."""
        if record is None:
            return []
        return [row for row in sorted(self.offers.get(record.created, {})) if addable(record, row)]

    def region_rect(self, record: InferenceRecord) -> Rect:
        """The rectangle a region run covered (from its record when it ran in an earlier session)."""
        rect = self.regions.get(record.created)
        if rect is not None:
            return rect
        h, w = record.frame_size
        x, y = record.origin
        return (x, y, x + w, y + h)

    # ---------------------------------------------------------------- applied edits
    def remember_applied(self, key: DetectionKey, edit: AppliedEdit) -> None:
        self._applied[key] = edit

    def forget_applied(self) -> None:
        """Another project: its objects are not these."""
        self._applied.clear()

    def applied_now(
        self, image: str | None, shape_of: Callable[[int], Shape | None]
    ) -> list[tuple[DetectionKey, np.ndarray | None]]:
        """For each edit applied in `image`: its coefficients while the object still has the shape the edit
        gave it (`shape_of`: the object's shape now, None when it is gone), else None."""
        answer: list[tuple[DetectionKey, np.ndarray | None]] = []
        for key, edit in self._applied.items():
            if image is None or edit.image != image:
                continue
            holds = shape_of(edit.object_id) == edit.shape
            answer.append((key, edit.coefficients if holds else None))
        return answer

    # ---------------------------------------------------------------- why a detection is no object
    def forget_objects(self) -> None:
        """The image's objects changed (or another image is shown): reasons are computed again."""
        self._reasons.clear()
        self._geometries = None

    def reason(
        self,
        record: InferenceRecord,
        row: int,
        *,
        objects: Callable[[], Sequence[tuple[int, Shape]]],
        rejected: Callable[[], Sequence[Shape]],
        label_for: Callable[[str], str | None],
        score_threshold: float,
        mapping_key: str,
    ) -> str:
        """Why detection `row` is no object, computed once per detection, threshold and class mapping
        (`mapping_key` names it); `objects` and `rejected` are read once until `forget_objects`."""
        key = (record.created, int(row), float(score_threshold), mapping_key)
        if key not in self._reasons:
            if self._geometries is None:
                self._geometries = object_geometries(objects())
                self._rejected = [g for _, g in object_geometries(list(enumerate(rejected())))]
            self._reasons[key] = not_kept_reason(
                record,
                int(row),
                self._geometries,
                rejected=self._rejected,
                label_for=label_for,
                score_threshold=float(score_threshold),
                tolerance=DEFAULT_TOLERANCE,
            )
        return self._reasons[key]


def addable_row(record: InferenceRecord, row: int, living: Callable[[int], bool]) -> bool:
    """A detection that is no living object of the image (`living`: the id is an object now) can be added."""
    object_id = int(record.object_ids[row])
    return object_id == NO_OBJECT or not living(object_id)
