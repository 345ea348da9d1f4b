"""A stored track's model output frame by frame, read from the inference cache: the data of its heat strip.

For each frame where the track has an object, the cached model run of that frame (the run whose detection
became the object, `ImageInference.find_object`) gives the object's coefficient vector; with the run's
prototypes it also gives each prototype's contribution to the object's mask (`tracking.over_time`). A
frame without such a run (not run since the cache existed, a person's own shape, an evicted or damaged
cache file) is a NaN row, and is listed in `missing` so the strip can say so.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass

import numpy as np

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.geometry.box_masks import BoxMasks
from protolabel.segmentation.inspection.cache import InferenceCache, InferenceCacheError, InferenceRecord
from protolabel.segmentation.project.records import TrackObject
from protolabel.segmentation.tracking.over_time import coefficient_strip, contribution_strip
from protolabel.segmentation.tracking.tracks import Track, TrackFrame

__all__ = ["FrameOutput", "TrackStrip", "frame_output", "track_strip"]


@dataclass(frozen=True, eq=False)
class TrackStrip:
    """One track's coefficients and prototype contributions over its frames.

    `frames`: int64 [F], every frame index from the track's first object to its last; `coefficients`:
    float32 [F, k] (after tanh, in [-1, 1]); `contributions`: float32 [F, k], mean |c_j * P_j| over the
    prototype pixels inside the object's mask (>= 0, the prototypes' units); both NaN on a row without a
    cached run (k is 0 when no frame has one). `missing`: frames where the track has an object but no cached
    run backs it; `objects`: frames where it has an object at all.
    """

    track_id: int
    frames: np.ndarray
    coefficients: np.ndarray
    contributions: np.ndarray
    missing: tuple[int, ...]
    objects: int

    @property
    def first_frame(self) -> int:
        return int(self.frames[0]) if len(self.frames) else 0

    @property
    def covered(self) -> int:
        """Frames with an object and its cached run."""
        return self.objects - len(self.missing)


def _prototypes_of(record: InferenceRecord) -> Detections:
    """A whole-image run as Detections without detections: all `contribution_strip` reads is its prototypes."""
    height, width = record.frame_size
    return Detections(
        image_size=(height, width),
        classes=np.zeros(0, np.int64),
        scores=np.zeros(0, np.float32),
        boxes=np.zeros((0, 4), np.float32),
        boxes_rel=np.zeros((0, 4), np.float32),
        masks=BoxMasks.empty((height, width)),
        coefficients=np.zeros((0, record.num_prototypes), np.float32),
        prototypes=record.prototypes,
        class_names=record.class_names,
        category_ids=tuple(range(len(record.class_names))),
    )


# One frame's output for one object version: (coefficients [k], contributions [k] or None for a region run),
# or None when no cached run backs the object. Keyed (frame key, object id, object version).
FrameOutput = tuple[np.ndarray, np.ndarray | None] | None
FrameKey = tuple[str, int, int | None]


def frame_output(cache: InferenceCache, item: TrackObject) -> FrameOutput:
    """The object's coefficients on its frame and each prototype's contribution to its mask, from the frame's
    cached run whose detection became it (None without one; a damaged cache file counts as none)."""
    obj = item.object
    if obj.id is None:
        return None
    try:
        inference = cache.get(item.frame_key)
    except InferenceCacheError:
        return None
    hit = None if inference is None else inference.find_object(obj.id)
    if inference is None or hit is None:
        return None
    record, row = inference.records[hit[0]], hit[1]
    coefficients = np.array(record.coefficients[row], np.float32)
    if record.region:  # a region run's prototypes cover only its region
        return coefficients, None
    one = Track(0, 0, (TrackFrame(item.frame_index, obj.shape, coefficients=coefficients),))
    _frames, values = contribution_strip(one, lambda _frame: _prototypes_of(record))
    return coefficients, values[0]


def track_strip(
    objects: Sequence[TrackObject],
    cache: InferenceCache,
    track_id: int,
    stop: Callable[[], bool] = lambda: False,
    memo: MutableMapping[FrameKey, FrameOutput] | None = None,
) -> TrackStrip:
    """The strip of a track from its objects in frame order (`VideoStore.track_objects`) and each frame's
    cached run: one cache file read per frame, so call it off the UI thread (it touches no store); `stop`
    ends the reading early, the frames not read yet then count as missing. `memo` keeps each frame's output
    between calls (the caller drops a frame's entries when its cached run changes)."""
    if not objects:
        raise ValueError(f"track {track_id} has no object on any frame")
    memo = {} if memo is None else memo
    seen: list[TrackFrame] = []  # frames with coefficients
    contribution_rows: dict[int, np.ndarray] = {}
    missing: list[int] = []
    for item in objects:
        key = (item.frame_key, item.object.id or 0, item.object.version)
        if key in memo:
            output = memo[key]
        elif stop():
            missing.append(item.frame_index)
            continue
        else:
            output = memo[key] = frame_output(cache, item)
        if output is None:
            missing.append(item.frame_index)
            continue
        coefficients, contributions = output
        seen.append(TrackFrame(item.frame_index, item.object.shape, coefficients=coefficients))
        if contributions is not None:
            contribution_rows[item.frame_index] = contributions
    first, last = objects[0].frame_index, objects[-1].frame_index
    frames = np.arange(first, last + 1, dtype=np.int64)
    k = len(seen[0].coefficients) if seen and seen[0].coefficients is not None else 0
    coefficients = np.full((len(frames), k), np.nan, np.float32)
    contributions = np.full((len(frames), k), np.nan, np.float32)
    if seen:
        at, values = coefficient_strip(Track(track_id, 0, tuple(seen)))  # ValueError for mixed k
        coefficients[at - first] = values
        for frame, row in contribution_rows.items():
            contributions[frame - first] = row
    return TrackStrip(track_id, frames, coefficients, contributions, tuple(missing), len(objects))
