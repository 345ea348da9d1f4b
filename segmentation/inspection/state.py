"""The prototype inspector's state: a Qt-free model that views observe (psygnal events) and change.

It holds the current image's cached model runs, which run and detection are selected, the
edited coefficients (unapplied edits are kept per detection, never dropped by selecting another one;
applied ones become that detection's baseline while its object keeps the applied shape), and the
display choices (prototype scaling, enlarged prototype, sort
order, leakage view). Everything a view draws is computed from it by the methods below.
"""

from __future__ import annotations

from enum import Enum

import numpy as np
from psygnal import Signal, SignalGroup

from protolabel.segmentation.geometry.outlines import DEFAULT_TOLERANCE
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.inspection.assembly import (
    MaskStages,
    PrototypeSummary,
    contribution_strength,
    summarize_prototypes,
)
from protolabel.segmentation.inspection.cache import NO_OBJECT, ImageInference, InferenceRecord
from protolabel.segmentation.inspection.live import LiveMask, MaskWindow
from protolabel.segmentation.yolact.masks import assemble_mask_stages

COEFFICIENT_LIMIT = 1.0  # coefficients come out of tanh; editing stays in the range the model can produce

DetectionKey = tuple[float, int]  # (run's `created`, detection row): a detection across refreshes and images


class Availability(str, Enum):
    """Whether there is model output to inspect for the current image."""

    NO_IMAGE = "no image"
    LOADING = "loading"  # reading the cache
    MISSING = "missing"  # no cached run: offer to run the model
    RUNNING = "running"  # the model is running on this image (or a region of it)
    READY = "ready"
    FAILED = "failed"  # the cache was damaged or the run failed: `message` says why


class ScalingMode(str, Enum):
    PER_PROTOTYPE = "per-prototype"  # each heatmap spans its own min..max
    SHARED = "shared"  # one range for all: compare magnitudes across prototypes


class SortMode(str, Enum):
    INDEX = "index"
    VALUE = "value"  # signed coefficient, largest first
    CONTRIBUTION = "contribution"  # mean |c_j * P_j| inside the box, largest first


class InspectorEvents(SignalGroup):
    availability_changed = Signal(object)  # Availability
    inference_changed = Signal(object)  # ImageInference | None
    record_changed = Signal(object)  # the selected run, InferenceRecord | None
    detection_changed = Signal(object)  # selected detection index | None
    coefficients_changed = Signal(object)  # the coefficients now shown (edited or not), [k] | None
    pending_changed = Signal()  # the set of detections holding unapplied edits changed
    scaling_changed = Signal(object)  # ScalingMode
    enlarged_changed = Signal(object)  # prototype index shown over the image | None
    sort_changed = Signal(object)  # SortMode
    leakage_changed = Signal(bool)


class InspectorState:
    """What the inspector shows and what the user changed in it. Use from one thread (the UI's)."""

    def __init__(self) -> None:
        self.events = InspectorEvents()
        self.image_name: str | None = None
        self.availability = Availability.NO_IMAGE
        self.message = ""
        self.inference: ImageInference | None = None
        self.record_index: int | None = None
        self.detection: int | None = None
        self._edited: np.ndarray | None = None
        self._pending: dict[DetectionKey, np.ndarray] = {}  # unapplied edits of detections not selected now
        self._applied: dict[DetectionKey, np.ndarray] = {}  # coefficients whose mask the detection's object has
        self.scaling = ScalingMode.PER_PROTOTYPE
        self.enlarged: int | None = None
        self.sort = SortMode.VALUE
        self.show_leakage = False
        self._summary: tuple[InferenceRecord, PrototypeSummary] | None = None
        self._live: tuple[InferenceRecord, int, LiveMask] | None = None
        self._last_mask: tuple[bytes, MaskWindow] | None = None

    # ---------------------------------------------------------------- image and runs
    def show_image(self, name: str | None) -> None:
        """A new image is current: nothing to show until its runs are loaded."""
        self.image_name = name
        self._set_inference(None)
        self.set_availability(Availability.NO_IMAGE if name is None else Availability.LOADING)

    def set_availability(self, availability: Availability, message: str = "") -> None:
        if availability != self.availability or message != self.message:
            self.availability, self.message = Availability(availability), message
            self.events.availability_changed.emit(self.availability)

    def set_inference(self, name: str, inference: ImageInference | None, message: str = "") -> None:
        """The cached runs of image `name` (None: it has none). Ignored when another image is current.

        The selection survives when its object or its run is still there.
        """
        if name != self.image_name:
            return
        keep = self._selection_key()
        self._set_inference(inference)
        if inference is None or not inference.records:
            self.set_availability(Availability.MISSING, message)
            return
        self.set_availability(Availability.READY, message)
        if keep is not None:
            self._restore(*keep)

    def _set_inference(self, inference: ImageInference | None) -> None:
        self._stash()
        self.inference = inference
        self.events.inference_changed.emit(inference)
        first = None
        if inference is not None and inference.records:
            image = inference.image_record
            first = inference.records.index(image) if image is not None else len(inference.records) - 1
        self._select_record(first)

    def _selection_key(self) -> tuple[float, int, int] | None:
        """What identifies the selection across a refresh: the run's time, the object, the row."""
        record = self.record
        if record is None:
            return None
        object_id = NO_OBJECT if self.detection is None else int(record.object_ids[self.detection])
        return record.created, object_id, -1 if self.detection is None else self.detection

    def _restore(self, created: float, object_id: int, detection: int) -> None:
        if object_id != NO_OBJECT and self.select_object(object_id):
            return
        same_run = [i for i, r in enumerate(self.inference.records) if r.created == created]
        if same_run:
            self.select_record(same_run[0])
            if 0 <= detection < len(self.record):
                self.select_detection(detection)

    @property
    def record(self) -> InferenceRecord | None:
        if self.inference is None or self.record_index is None:
            return None
        return self.inference.records[self.record_index]

    def select_record(self, index: int | None) -> None:
        if index != self.record_index:
            self._select_record(index)

    def _select_record(self, index: int | None) -> None:
        self._stash()
        self.record_index = index
        self.enlarged = None
        self.events.record_changed.emit(self.record)
        self.events.enlarged_changed.emit(None)
        self._select_detection(None)

    # ---------------------------------------------------------------- detection
    def select_detection(self, index: int | None) -> None:
        record = self.record
        if index is not None and (record is None or not 0 <= index < len(record)):
            raise IndexError(f"no detection {index} in the selected run")
        if index != self.detection:
            self._select_detection(index)

    def _select_detection(self, index: int | None) -> None:
        self._stash()
        self.detection = index
        key = self.detection_key
        self._edited = None if key is None else self._pending.pop(key, None)
        if key is not None and self._edited is not None:
            self.events.pending_changed.emit()
        self.events.detection_changed.emit(index)
        self.events.coefficients_changed.emit(self.coefficients)

    def select_object(self, object_id: int) -> bool:
        """Select the detection an object came from; False (selection unchanged) when none did."""
        found = None if self.inference is None else self.inference.find_object(object_id)
        if found is None:
            return False
        self.select_record(found[0])
        self.select_detection(found[1])
        return True

    @property
    def selected_object_id(self) -> int | None:
        record, i = self.record, self.detection
        if record is None or i is None or record.object_ids[i] == NO_OBJECT:
            return None
        return int(record.object_ids[i])

    @property
    def detection_key(self) -> DetectionKey | None:
        record, i = self.record, self.detection
        return None if record is None or i is None else (record.created, i)

    def _stash(self) -> None:
        """The selected detection is about to change: keep its unapplied edit for when it is selected again."""
        key = self.detection_key
        if key is not None and self.edited:
            self._pending[key] = self._edited
            self._edited = None
            self.events.pending_changed.emit()

    def has_pending_edit(self, record: InferenceRecord, row: int) -> bool:
        """Whether detection `row` of `record` holds an unapplied edit (selected or not)."""
        key = (record.created, int(row))
        return key in self._pending or (key == self.detection_key and self.edited)

    @property
    def pending_count(self) -> int:
        """Detections with unapplied edits, the selected one included."""
        return len(self._pending) + int(self.edited)

    # ---------------------------------------------------------------- coefficients
    @property
    def original_coefficients(self) -> np.ndarray | None:
        """The model's own coefficients of the selected detection."""
        record, i = self.record, self.detection
        return None if record is None or i is None else record.coefficients[i]

    @property
    def baseline_coefficients(self) -> np.ndarray | None:
        """What the selected detection's object has: the applied coefficients, else the model's."""
        key = self.detection_key
        if key is not None and key in self._applied:
            return self._applied[key]
        return self.original_coefficients

    @property
    def coefficients(self) -> np.ndarray | None:
        """The coefficients now in effect: the edited ones, else the baseline (applied, else the model's)."""
        return self._edited if self._edited is not None else self.baseline_coefficients

    @property
    def edited(self) -> bool:
        """An unapplied edit: the coefficients in effect differ from what the object has."""
        return self._edited is not None and not np.array_equal(self._edited, self.baseline_coefficients)

    @property
    def applied(self) -> bool:
        """The selected detection's object has the mask of edited coefficients (Apply was used)."""
        key = self.detection_key
        return key is not None and key in self._applied

    @property
    def differs_from_model(self) -> bool:
        """The coefficients in effect are not the model's (what Reset undoes)."""
        coeffs = self.coefficients
        return coeffs is not None and not np.array_equal(coeffs, self.original_coefficients)

    def mark_applied(self) -> DetectionKey | None:
        """The coefficients in effect are now the selected detection's object's mask: they become its baseline."""
        key, coeffs = self.detection_key, self.coefficients
        if key is None or coeffs is None:
            return None
        self.set_applied(key, np.array(coeffs, np.float32, copy=True))
        return key

    def set_applied(self, key: DetectionKey, coefficients: np.ndarray | None) -> None:
        """Record (or forget, None) the coefficients a detection's object was applied with; undo and redo of
        the apply call this so the inspector shows what the object really has."""
        if coefficients is None:
            changed = self._applied.pop(key, None) is not None
        else:
            previous = self._applied.get(key)
            changed = previous is None or not np.array_equal(previous, coefficients)
            self._applied[key] = coefficients
        if key == self.detection_key:
            if self._edited is not None and not self.edited:
                self._edited = None
            if changed:
                self.events.coefficients_changed.emit(self.coefficients)
                self.events.pending_changed.emit()

    def set_coefficient(self, j: int, value: float) -> None:
        current = self.coefficients
        if current is None:
            raise ValueError("select a detection before editing its coefficients")
        value = float(np.clip(value, -COEFFICIENT_LIMIT, COEFFICIENT_LIMIT))
        if current[j] == np.float32(value):
            return
        was_edited = self.edited
        edited = current.copy()
        edited[j] = value
        self._edited = edited
        self.events.coefficients_changed.emit(edited)
        if self.edited != was_edited:
            self.events.pending_changed.emit()

    def zero_prototype(self, j: int) -> None:
        """Take prototype j out of this mask."""
        self.set_coefficient(j, 0.0)

    def reset(self) -> None:
        """Back to the model's own coefficients (after an Apply this is an edit: Apply puts the model's mask back)."""
        original = self.original_coefficients
        target = None if original is None or np.array_equal(original, self.baseline_coefficients) else original.copy()
        if (self._edited is None) != (target is None) or (
            target is not None and not np.array_equal(self._edited, target)
        ):
            self._edited = target
            self.events.coefficients_changed.emit(self.coefficients)
            self.events.pending_changed.emit()

    def discard(self) -> None:
        """Drop the selected detection's unapplied edit: back to what its object has."""
        if self._edited is not None:
            self._edited = None
            self.events.coefficients_changed.emit(self.coefficients)
            self.events.pending_changed.emit()

    # ---------------------------------------------------------------- display choices
    def set_scaling(self, mode: ScalingMode) -> None:
        mode = ScalingMode(mode)
        if mode != self.scaling:
            self.scaling = mode
            self.events.scaling_changed.emit(mode)

    def set_enlarged(self, j: int | None) -> None:
        record = self.record
        if j is not None and (record is None or not 0 <= j < record.num_prototypes):
            raise IndexError(f"no prototype {j}")
        if j != self.enlarged:
            self.enlarged = j
            self.events.enlarged_changed.emit(j)

    def toggle_enlarged(self, j: int) -> None:
        self.set_enlarged(None if self.enlarged == j else j)

    def set_sort(self, mode: SortMode) -> None:
        mode = SortMode(mode)
        if mode != self.sort:
            self.sort = mode
            self.events.sort_changed.emit(mode)

    def set_show_leakage(self, show: bool) -> None:
        if bool(show) != self.show_leakage:
            self.show_leakage = bool(show)
            self.events.leakage_changed.emit(self.show_leakage)

    # ---------------------------------------------------------------- what views draw
    def prototype_ranges(self) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) per prototype for the heatmaps, by the scaling mode; ([], []) without a run."""
        record = self.record
        if record is None:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        protos = record.prototypes
        if self.scaling is ScalingMode.SHARED:
            k = protos.shape[2]
            return np.full(k, min(0.0, float(protos.min())), np.float32), np.full(k, float(protos.max()), np.float32)
        return protos.min(axis=(0, 1)), protos.max(axis=(0, 1))

    def summary(self) -> PrototypeSummary | None:
        """Which prototypes the selected run's detections rely on, and which are dead (cached per run)."""
        record = self.record
        if record is None:
            return None
        if self._summary is None or self._summary[0] is not record:
            self._summary = (record, summarize_prototypes(record))
        return self._summary[1]

    def strengths(self) -> np.ndarray | None:
        """Mean |c_j * P_j| inside the box per prototype, for the coefficients now in effect."""
        record, coeffs = self.record, self.coefficients
        if coeffs is None:
            return None
        return contribution_strength(record.prototypes, coeffs, record.boxes_rel[self.detection])

    def coefficient_order(self) -> np.ndarray:
        """Prototype indices in the order of the sort mode (for the bar chart and the sliders)."""
        coeffs = self.coefficients
        if coeffs is None:
            return np.zeros(0, dtype=np.int64)
        if self.sort is SortMode.VALUE:
            return np.argsort(-coeffs, kind="stable")
        if self.sort is SortMode.CONTRIBUTION:
            return np.argsort(-self.strengths(), kind="stable")
        return np.arange(len(coeffs))

    def stages(self) -> MaskStages | None:
        """The selected detection's mask at each assembly stage, for the coefficients now in effect.

        Equal to `mask_stages`; the final mask comes from the live mask (computed in the box window
        only, and usually already there for the canvas).
        """
        record, coeffs = self.record, self.coefficients
        if coeffs is None:
            return None
        stages = assemble_mask_stages(
            record.prototypes, np.asarray(coeffs, np.float32), record.boxes_rel[self.detection][None]
        )
        final = self.live_mask().full(record.frame_size)
        return MaskStages(stages.linear[0].numpy(), stages.soft[0].numpy(), stages.cropped[0].numpy(), final)

    def live_mask(self) -> MaskWindow | None:
        """The final mask for the coefficients now in effect, in the frame, computed in the box window only."""
        record, i, coeffs = self.record, self.detection, self.coefficients
        if coeffs is None:
            return None
        if self._live is None or self._live[0] is not record or self._live[1] != i:
            self._live = (record, i, LiveMask(record.prototypes, record.boxes_rel[i], record.frame_size))
            self._last_mask = None
        key = np.asarray(coeffs, np.float32).tobytes()
        if self._last_mask is None or self._last_mask[0] != key:  # the canvas and the dock ask for the same mask
            self._last_mask = (key, self._live[2].compute(coeffs))
        return self._last_mask[1]

    def edited_shape(self, tolerance: float = DEFAULT_TOLERANCE) -> Shape:
        """The mask now in effect as polygons in image coordinates (empty when the mask is empty)."""
        window = self.live_mask()
        if window is None:
            return Shape(())
        return window.to_shape(self.record.origin, tolerance=tolerance)
