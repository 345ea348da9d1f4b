"""A person's correction of a stored track carried along it (tracking.propagation) or filled in between two of
their frames (tracking.interpolation), and the result written to the project as one undoable store edit.

A run reads the track from the store into the tracking types, re-detects frames with the engine on the video's
pixels (each frame at most once a run), and returns a `TrackRun`: the track's new shape per frame it reached and
the rows it read. Nothing is written until `TrackRun.write` (the app calls it on its UI thread through
`Project.edit_tracks`), and that write is compare-and-set on every row the run read, so a person's edit made
while the run was going is never overwritten. A cancelled run writes nothing.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.errors import first_line
from protolabel.segmentation.geometry.outlines import DEFAULT_TOLERANCE
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.media.errors import FrameDecodeError
from protolabel.segmentation.project.autolabel import AutoLabelSettings, EngineCache
from protolabel.segmentation.project.labels import ClassMapping
from protolabel.segmentation.project.records import TrackEdit as StoreTrackEdit
from protolabel.segmentation.project.store import ProjectStoreError
from protolabel.segmentation.project.video_autolabel import check_frame_places, open_recorded_sequence
from protolabel.segmentation.project.video_store import VideoStore
from protolabel.segmentation.tracking.association import AssociationConfig
from protolabel.segmentation.tracking.interpolation import interpolate_track
from protolabel.segmentation.tracking.propagation import propagate, propagation_range
from protolabel.segmentation.tracking.tracks import Track, TrackFrame, TrackSet

__all__ = [
    "FrameDetector",
    "PropagationCancelled",
    "PropagationJob",
    "StoredTrack",
    "TrackRun",
    "interpolation_span",
    "interpolate_stored",
    "propagate_stored",
    "read_stored_track",
    "summary",
]

logger = logging.getLogger(__name__)

Detect = Callable[[int], Detections]
Progress = Callable[[int, int], None]  # (frames done, frames in all)
DETECTION_CACHE_FRAMES = 8  # a run asks for each frame once; a few kept cover the start frame asked twice


class PropagationCancelled(Exception):
    """The run was cancelled: nothing is written."""


@dataclass(frozen=True)
class StoredTrack:
    """A stored track read for a run: the video's tracks as a TrackSet (other tracks with their person-made
    frames only, which is all a run looks at), and the (object id, version) rows of the track per frame."""

    video: str
    video_id: int
    frame_count: int
    track_id: int
    tracks: TrackSet
    rows: dict[int, tuple[tuple[int, int], ...]]  # frame index -> the track's rows there, as read


@dataclass(frozen=True)
class TrackRun:
    """What a run found for one track, to be written: `shapes` maps each frame it reached to the track's new
    (shape, score) there, or None where nothing matched (the model's shape there goes)."""

    text: str
    track_id: int
    start: int  # the frame the run started from (its rows are checked, never written)
    shapes: dict[int, tuple[Shape, float | None] | None]
    read: dict[int, tuple[tuple[int, int], ...]]
    stopped: int | None = None  # the frame where re-detection gave up (too many misses in a row)

    def write(self, store: VideoStore) -> StoreTrackEdit:
        """The run's result as one store edit (StaleEditError, nothing written, over a person's edit since)."""
        return store.apply_propagation(self.track_id, self.shapes, self.read, self.text)


def read_stored_track(store: VideoStore, video: str, track_id: int) -> StoredTrack:
    """The track `track_id` of `video` and the person-made frames of the video's other tracks, from the store."""
    record = store.video(video)
    if record is None:
        raise ProjectStoreError(f"{video} is not indexed in this project yet: open the folder again")
    stored = {t.id: t for t in store.tracks(record.id)}
    if track_id not in stored:
        raise ProjectStoreError(f"track {track_id} is not a track of {video} (deleted since?)")
    labels = tuple(dict.fromkeys(sorted(t.label for t in stored.values())))
    tracks, rows = [], {}
    for other in stored.values():
        mine = other.id == track_id
        by_frame: dict[int, list[Any]] = {}
        for item in store.track_objects(other.id):
            by_frame.setdefault(item.frame_index, []).append(item.object)
        frames = []
        for index, objects in by_frame.items():
            if mine:
                rows[index] = tuple((int(o.id), int(o.version)) for o in objects)
            # a person's object first, then the model's best: one shape per frame in the tracking types
            chosen = max(objects, key=lambda o: (o.provenance is not Provenance.AUTO, o.score or 0.0))
            person = chosen.provenance is not Provenance.AUTO
            if mine or person:
                score = float("nan") if chosen.score is None else float(chosen.score)
                frames.append(TrackFrame(index, chosen.shape, score, chosen.provenance.value))
        tracks.append(Track(other.id, labels.index(other.label), tuple(frames)))
    track_set = TrackSet((record.height, record.width), labels, tuple(t for t in tracks if t.frames))
    if track_id not in track_set.ids:
        raise ProjectStoreError(f"track {track_id} has no object on any frame of {video}")
    return StoredTrack(video, record.id, record.frame_count, track_id, track_set, rows)


def propagate_stored(
    stored: StoredTrack,
    frame: int,
    detect: Detect,
    config: AssociationConfig | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> TrackRun:
    """The stored track's shape on `frame` carried forward and backward by re-detecting, up to (never onto) the
    track's next person-made frames (tracking.propagation.propagate)."""
    track = stored.tracks.get(stored.track_id)
    if track.at(frame) is None:
        raise ValueError(f"track {stored.track_id} has no object on frame {frame} to carry along")
    result = propagate(stored.tracks, stored.track_id, frame, detect, stored.frame_count, config, tolerance=tolerance)
    after = {f.frame: f for t in result.edit.after for f in t.frames}
    shapes: dict[int, tuple[Shape, float | None] | None] = {}
    for index in result.updated:
        found = after[index]
        shapes[index] = (found.shape, None if math.isnan(found.score) else found.score)
    for index in result.cleared:
        shapes[index] = None
    return TrackRun(
        f"Propagate track {stored.track_id} from frame {frame}",
        stored.track_id,
        frame,
        shapes,
        _rows_read(stored, (frame, *shapes)),
        result.stopped[0] if result.stopped else None,
    )


def interpolation_span(track: Track, frame: int) -> tuple[int, int]:
    """The two person-made frames of the track around `frame` (on one of them: it and the next, or the one
    before at the track's last); ValueError saying what is missing."""
    keys = track.person_frames
    before = [f for f in keys if f <= frame]
    after = [f for f in keys if f > frame]
    if before and after:
        return before[-1], after[0]
    if len(before) >= 2 and before[-1] == frame:
        return before[-2], before[-1]
    raise ValueError(
        f"track {track.track_id} needs a person's shape on a frame before and one after frame {frame} to "
        f"interpolate (its person-made frames: {list(keys) or 'none'}); correct the object on another frame first"
    )


def interpolate_stored(stored: StoredTrack, frame: int) -> TrackRun:
    """The frames between the two person-made frames around `frame` filled by arc-length interpolation."""
    start, end = interpolation_span(stored.tracks.get(stored.track_id), frame)
    edit = interpolate_track(stored.tracks, stored.track_id, start, end)
    (after,) = edit.after
    shapes: dict[int, tuple[Shape, float | None] | None] = {
        f.frame: (f.shape, None) for f in after.frames if start < f.frame < end
    }
    return TrackRun(edit.text, stored.track_id, start, shapes, _rows_read(stored, (start, end, *shapes)))


def _rows_read(stored: StoredTrack, frames: Any) -> dict[int, tuple[tuple[int, int], ...]]:
    return {index: stored.rows.get(index, ()) for index in frames}


def summary(run: TrackRun, edit: StoreTrackEdit) -> str:
    """What a written run did, for the status bar: "Track 3: 14 frames updated, 2 cleared, stopped at frame 40",
    and what it did to other tracks that held the same object ("swapped back with track 4 on 3 frames")."""
    had = {o.image_path for o in edit.objects_before if o.track_id == run.track_id}
    has = {o.image_path for o in edit.objects_after if o.track_id == run.track_id}
    parts = [f"{_frames(len(has))} updated"]
    if had - has:
        parts.append(f"{len(had - has)} cleared")
    kept = {o.id for o in edit.objects_after}
    for other in sorted({o.track_id for o in edit.objects_before if o.track_id not in (None, run.track_id)}):
        swapped = sum(1 for o in edit.objects_after if o.track_id == other)
        removed = sum(1 for o in edit.objects_before if o.track_id == other and o.id not in kept)
        if swapped:
            parts.append(f"swapped back with track {other} on {_frames(swapped)}")
        if removed:
            parts.append(f"track {other}'s copy removed on {_frames(removed)}")
    if run.stopped is not None:
        parts.append(f"stopped at frame {run.stopped} (the model lost the object)")
    reached = sorted(run.shapes)
    if not reached:
        parts = ["nothing to do: its next person-made frames are right beside this one"]
    return f"Track {run.track_id}: " + ", ".join(parts)


def _frames(count: int) -> str:
    return f"{count} frame{'s' if count != 1 else ''}"


class FrameDetector:
    """detect(frame index) for a run: the engine on the video frame's pixels, detections of classes the project
    keeps renamed by the class mapping and numbered as `class_names` (the run's tracks' classes); a few frames'
    results kept, and a cancel checked before each frame."""

    def __init__(
        self,
        read: Callable[[int], np.ndarray],
        predict: Callable[[np.ndarray], Detections],
        mapping: ClassMapping,
        class_names: tuple[str, ...],
        *,
        cancelled: Callable[[], bool] = lambda: False,
        progress: Progress | None = None,
        total: int = 0,
    ) -> None:
        self._read, self._predict, self.mapping, self.class_names = read, predict, mapping, class_names
        self._cancelled, self._progress, self.total = cancelled, progress, total
        self._cache: OrderedDict[int, Detections] = OrderedDict()
        self.done = 0

    def __call__(self, index: int) -> Detections:
        if index in self._cache:
            return self._cache[index]
        if self._cancelled():
            raise PropagationCancelled
        try:
            image = self._read(index)
        except FrameDecodeError as exc:
            raise ProjectStoreError(f"frame {index} cannot be decoded: {exc}") from None
        detections = self._in_track_classes(self._predict(image))
        self._cache[index] = detections
        while len(self._cache) > DETECTION_CACHE_FRAMES:
            self._cache.popitem(last=False)
        self.done += 1
        if self._progress is not None:
            self._progress(self.done, max(self.total, self.done))
        return detections

    def _in_track_classes(self, detections: Detections) -> Detections:
        labels = [self.mapping.label_for(name) for name in detections.class_names]
        position = {name: i for i, name in enumerate(self.class_names)}
        classes = [position.get(labels[c]) if labels[c] is not None else None for c in detections.classes.tolist()]
        rows = np.array([i for i, c in enumerate(classes) if c is not None], np.int64)
        kept = detections.select(rows)
        return replace(
            kept,
            classes=np.array([c for c in classes if c is not None], np.int64),
            class_names=self.class_names,
            category_ids=tuple(range(1, len(self.class_names) + 1)),
        )


class PropagationJob:
    """One propagation or interpolation of a stored track, meant for a worker thread: `run()` reads the track
    through its own store connection, re-detects with the engine, and returns the TrackRun to write (on the UI
    thread). `cancel()` from any thread: `run()` then raises PropagationCancelled before the next frame."""

    def __init__(
        self,
        folder: str | Path,
        video: str,
        track_id: int,
        frame: int,
        settings: AutoLabelSettings | None,
        engines: EngineCache | None = None,
        *,
        interpolate: bool = False,
        config: AssociationConfig | None = None,
    ) -> None:
        if settings is None and not interpolate:
            raise ValueError("propagation re-detects frames: choose a model first")
        self.folder, self.video, self.track_id, self.frame = Path(folder), video, track_id, frame
        self.settings, self.engines, self.interpolate, self.config = (
            settings,
            engines or EngineCache(),
            interpolate,
            config,
        )
        self._cancel = threading.Event()
        self.on_progress: Progress | None = None
        self.on_loading_model: Callable[[], object] | None = None

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> TrackRun:
        """The run's result, unwritten. ProjectStoreError / ValueError with the reason when it cannot run."""
        with VideoStore.open(self.folder) as store:
            stored = read_stored_track(store, self.video, self.track_id)
            record = store.video(self.video)
            frame_keys = [] if record is None else [f.key for f in store.frames(record.id)]
        if self.interpolate:
            return interpolate_stored(stored, self.frame)
        assert self.settings is not None and record is not None
        settings = self.settings
        track = stored.tracks.get(self.track_id)
        forward, backward = propagation_range(track, self.frame, stored.frame_count)
        reader = open_recorded_sequence(self.folder, self.video, record)
        with reader:
            check_frame_places(reader, self.video, enumerate(frame_keys))
            try:
                engine = self.engines.get(settings, self.on_loading_model)
            except Exception as exc:  # CheckpointError, a bad device, a damaged file: the message is what one needs
                logger.exception("loading the model for propagation failed")
                message = first_line(exc)
                if settings.weights.name not in message:
                    message = f"{settings.weights}: cannot load the model ({message})"
                raise ValueError(message) from None
            inference = settings.inference_settings()
            detect = FrameDetector(
                reader.read,
                lambda image: engine.predict([image], inference)[0],
                settings.mapping,
                stored.tracks.class_names,
                cancelled=self._cancel.is_set,
                progress=self.on_progress,
                total=len(forward) + len(backward) + 1,
            )
            return propagate_stored(stored, self.frame, detect, self.config, tolerance=settings.polygon_tolerance)
