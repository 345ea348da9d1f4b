"""A person's correction on one frame carried along its track, forward and backward, by re-detecting.

From the corrected frame, each next frame (then each previous one) is re-detected and the detection
that best matches the shape carried from the frame before (mask IoU) and the track's coefficient
vector (cosine similarity) becomes the track's shape there. Propagation stops at the track's next
person-made frame, at the video's end, or after `max_missed` frames in a row without a match; a
person-made frame is never replaced. Frames where nothing matches lose their model-made shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.geometry.box_masks import BoxMasks, pairwise_iou
from protolabel.segmentation.geometry.outlines import DEFAULT_TOLERANCE
from protolabel.segmentation.geometry.overlap import is_same_object
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.tracking.association import AssociationConfig, cosine_similarity, match_scores
from protolabel.segmentation.tracking.edits import TrackEdit
from protolabel.segmentation.tracking.tracks import Track, TrackFrame, TrackSet

__all__ = ["Propagation", "propagate", "propagation_range"]

Detect = Callable[[int], Detections]  # frame index -> that frame's detections


@dataclass(frozen=True)
class Propagation:
    """What a propagation did: the edit (apply it, invert it to undo) and the frames it set or cleared."""

    edit: TrackEdit
    updated: tuple[int, ...]  # frames that got a matched detection's shape
    cleared: tuple[int, ...]  # frames where nothing matched: the model's shape there was removed
    stopped: tuple[int, ...]  # frames where propagation gave up (max_missed misses in a row), if any


def propagation_range(track: Track, frame: int, frame_count: int) -> tuple[range, range]:
    """(forward, backward) frames a correction on `frame` reaches: up to, not onto, the nearest person-made
    frames on either side, else to the video's ends. Backward runs from frame - 1 down."""
    person = [f for f in track.person_frames if f != frame]
    after = min((f for f in person if f > frame), default=frame_count)
    before = max((f for f in person if f < frame), default=-1)
    return range(frame + 1, after), range(frame - 1, before, -1)


def propagate(
    tracks: TrackSet,
    track_id: int,
    frame: int,
    detect: Detect,
    frame_count: int,
    config: AssociationConfig | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Propagation:
    """Carry track `track_id`'s shape on `frame` (usually a person's correction) along the track."""
    config = config or AssociationConfig()
    track = tracks.get(track_id)
    start = track.at(frame)
    if start is None:
        raise ValueError(f"track {track_id} has no shape on frame {frame} to propagate")
    if not 0 <= frame < frame_count:
        raise ValueError(f"frame {frame} is outside the video's {frame_count} frames")
    coefficients = start.coefficients
    if coefficients is None:  # a shape a person drew: its identity is the detection under it, if any
        coefficients = _coefficients_under(start.shape, detect(frame), config)
    frames = {f.frame: f for f in track.frames}
    updated: list[int] = []
    cleared: list[int] = []
    stopped: list[int] = []
    for direction in propagation_range(track, frame, frame_count):
        reference, identity, missed = start.shape, coefficients, 0
        for index in direction:
            detections = detect(index)
            if tuple(detections.image_size) != tracks.image_size:
                raise ValueError(
                    f"frame {index}'s detections are of a {detections.image_size} image, "
                    f"the video's frames are {tracks.image_size}"
                )
            others = [item.shape for t, item in tracks.on_frame(index) if t.track_id != track_id and item.person_made]
            found = _best_match(reference, identity, detections, track.class_index, others, config, tolerance)
            if found is None:
                missed += 1
                if frames.pop(index, None) is not None:
                    cleared.append(index)
                if missed > config.max_missed:
                    stopped.append(index)
                    break
                continue
            missed = 0
            frames[index] = TrackFrame(index, found[0], found[1], coefficients=found[2])
            reference, identity = found[0], found[2]
            updated.append(index)
    new = track.with_frames(frames.values())
    edit = TrackEdit(f"Propagate track {track_id} from frame {frame}", (track,), (new,) if new.frames else ())
    return Propagation(edit, tuple(sorted(updated)), tuple(sorted(cleared)), tuple(stopped))


def _coefficients_under(shape: Shape, detections: Detections, config: AssociationConfig) -> np.ndarray | None:
    """Coefficients of the detection that overlaps `shape` most (at least `min_iou`), or None."""
    if not len(detections):
        return None
    iou = pairwise_iou(BoxMasks.from_shapes([shape], detections.image_size), detections.masks)[0]
    best = int(np.argmax(iou))
    return detections.coefficients[best] if iou[best] >= config.min_iou else None


def _best_match(
    reference: Shape,
    identity: np.ndarray | None,
    detections: Detections,
    class_index: int,
    taken: list[Shape],
    config: AssociationConfig,
    tolerance: float,
) -> tuple[Shape, float, np.ndarray] | None:
    """(shape, score, coefficients) of the detection that best matches the reference, or None."""
    if not len(detections):
        return None
    iou = pairwise_iou(BoxMasks.from_shapes([reference], detections.image_size), detections.masks)[0]
    if identity is None:  # nothing to compare coefficients with: mask IoU alone decides
        score, allowed = iou, iou >= config.min_iou
    else:
        similarity = cosine_similarity(identity[None], detections.coefficients)[0]
        score, allowed = match_scores(iou, similarity, config)
    if config.same_class:
        allowed = allowed & (detections.classes == class_index)
    if taken:  # a detection that is another track's person-made object on this frame is not ours
        claimed = pairwise_iou(BoxMasks.from_shapes(taken, detections.image_size), detections.masks)
        allowed = allowed & ~np.array([any(is_same_object(v) for v in column) for column in claimed.T])
    for i in np.argsort(-score, kind="stable"):
        if not allowed[i]:
            continue
        shape = detections.masks.to_shape(int(i), tolerance=tolerance)
        if not shape.is_empty():
            return shape, float(detections.scores[i]), np.asarray(detections.coefficients[i], np.float32)
    return None
