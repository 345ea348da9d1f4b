"""Detections joined across frames into tracks: mask IoU plus coefficient similarity, optimal assignment.

YOLACT gives every object a coefficient vector (how it mixes the image's prototypes), which stays
close for one object from frame to frame and differs between objects; it tells two overlapping objects
apart where mask IoU cannot (two objects crossing). Each frame's detections are assigned to the tracks
seen in the last few frames by `scipy.optimize.linear_sum_assignment`; a pair outside the gates is
never joined; a detection left over starts a track; a track missed for more than `max_missed` frames ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.geometry.box_masks import BoxMasks, pairwise_iou
from protolabel.segmentation.geometry.outlines import DEFAULT_TOLERANCE
from protolabel.segmentation.tracking.tracks import Track, TrackFrame, TrackSet

__all__ = ["AssociationConfig", "Tracker", "assign", "cosine_similarity", "match_scores", "track_video"]

_FORBIDDEN = 1e6  # cost of a pair outside the gates: the assignment takes it only when nothing else is left


@dataclass(frozen=True)
class AssociationConfig:
    """How detections join tracks.

    `coefficient_weight`: share of coefficient cosine similarity in a pair's match score (the rest is
    mask IoU), in [0, 1]. `min_iou` and `min_similarity`: gates, a pair below either is never joined.
    `max_missed`: frames a track may go without a detection and still be continued (short misses,
    an object hidden for a moment); after that it ends. `same_class`: join only detections of the
    track's class.
    """

    coefficient_weight: float = 0.5
    min_iou: float = 0.1
    min_similarity: float = 0.3
    max_missed: int = 3
    same_class: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.coefficient_weight <= 1.0:
            raise ValueError(f"coefficient_weight must be in [0, 1], got {self.coefficient_weight}")
        if self.max_missed < 0:
            raise ValueError(f"max_missed must be 0 or more, got {self.max_missed}")


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float64 [len(a), len(b)] cosine similarity of every pair of rows; 0 where either row is all zeros."""
    a = np.asarray(a, np.float64).reshape(len(a), -1)
    b = np.asarray(b, np.float64).reshape(len(b), -1)
    norm_a, norm_b = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    dots = a @ b.T
    denominator = np.outer(norm_a, norm_b)
    return np.divide(dots, denominator, out=np.zeros_like(dots), where=denominator > 0)


def match_scores(iou: np.ndarray, similarity: np.ndarray, config: AssociationConfig) -> tuple[np.ndarray, np.ndarray]:
    """(score, allowed) of every pair from its mask IoU and coefficient similarity: the weighted sum in
    [0, 1] (negative similarity counts as 0) and whether the pair passes both gates."""
    w = config.coefficient_weight
    score = (1.0 - w) * iou + w * np.clip(similarity, 0.0, 1.0)
    allowed = (iou >= config.min_iou) & (similarity >= config.min_similarity)
    return score, allowed


def assign(score: np.ndarray, allowed: np.ndarray) -> list[tuple[int, int]]:
    """The (row, column) pairs of the allowed assignment with the largest total score (each row and column once)."""
    if score.size == 0:
        return []
    cost = np.where(allowed, -score, _FORBIDDEN)
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if allowed[r, c]]


@dataclass
class _Live:
    """What the tracker remembers of a track still alive: its last mask and coefficients."""

    track_id: int
    class_index: int
    last_frame: int = -1
    masks: BoxMasks | None = None  # one mask: the last one seen
    coefficients: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    frames: list[TrackFrame] = field(default_factory=list)


class Tracker:
    """Joins the detections of consecutive frames into tracks; feed frames in order, then take `tracks()`."""

    def __init__(
        self, config: AssociationConfig | None = None, *, first_id: int = 1, tolerance: float = DEFAULT_TOLERANCE
    ) -> None:
        self.config = config or AssociationConfig()
        self.tolerance = tolerance  # of the outlines kept in the tracks (`mask_to_shape`), pixels
        self._next_id = first_id
        self._live: list[_Live] = []
        self._ended: list[_Live] = []
        self._frame = -1
        self._image_size: tuple[int, int] | None = None
        self._class_names: tuple[str, ...] = ()

    def update(self, frame: int, detections: Detections) -> list[int | None]:
        """Join frame `frame`'s detections to the tracks; the track id of each detection (None: dropped, empty mask)."""
        if frame <= self._frame:
            raise ValueError(f"frames must come in increasing order: {frame} after {self._frame}")
        if self._image_size is None:
            height, width = detections.image_size
            self._image_size, self._class_names = (int(height), int(width)), tuple(detections.class_names)
        elif tuple(detections.image_size) != self._image_size:
            raise ValueError(f"frame {frame} is {detections.image_size}, the video's frames are {self._image_size}")
        widths = {len(t.coefficients) for t in self._live if t.masks is not None}
        if widths and detections.coefficients.shape[1:] != (widths.pop(),):
            raise ValueError(
                f"frame {frame} has {detections.coefficients.shape[1:]} coefficients per detection, the "
                f"tracks {len(self._live[0].coefficients)}: every frame must come from one model"
            )
        self._frame = frame
        still = [t for t in self._live if frame - t.last_frame - 1 <= self.config.max_missed]
        self._ended += [t for t in self._live if t not in still]
        self._live = still
        shapes = [detections.masks.to_shape(i, tolerance=self.tolerance) for i in range(len(detections))]
        usable = [i for i, shape in enumerate(shapes) if not shape.is_empty()]
        ids: list[int | None] = [None] * len(detections)
        pairs = self._pairs(detections, usable)
        for row, col in pairs:
            ids[usable[col]] = self._live[row].track_id
        for i in usable:
            if ids[i] is None:
                self._live.append(_Live(self._next_id, int(detections.classes[i])))
                self._next_id += 1
                ids[i] = self._live[-1].track_id
            live = next(t for t in self._live if t.track_id == ids[i])
            live.last_frame = frame
            live.masks = detections.masks.select([i])
            live.coefficients = np.asarray(detections.coefficients[i], np.float32)
            live.frames.append(
                TrackFrame(frame, shapes[i], float(detections.scores[i]), coefficients=live.coefficients)
            )
        return ids

    def _pairs(self, detections: Detections, usable: list[int]) -> list[tuple[int, int]]:
        if not self._live or not usable:
            return []
        assert self._image_size is not None
        seen = [t.masks for t in self._live if t.masks is not None]
        previous = BoxMasks(
            self._image_size, tuple(m.crops[0] for m in seen), np.concatenate([m.offsets for m in seen])
        )
        current = detections.masks.select(np.asarray(usable, np.int64))
        iou = pairwise_iou(previous, current)
        similarity = cosine_similarity(np.stack([t.coefficients for t in self._live]), detections.coefficients[usable])
        score, allowed = match_scores(iou, similarity, self.config)
        if self.config.same_class:
            track_classes = np.array([t.class_index for t in self._live])
            allowed &= track_classes[:, None] == detections.classes[usable][None, :]
        return assign(score, allowed)

    def tracks(self) -> TrackSet:
        """Every track so far, ended or alive."""
        if self._image_size is None:
            raise ValueError("no frames were given to the tracker")
        tracks = [Track(t.track_id, t.class_index, tuple(t.frames)) for t in self._ended + self._live]
        return TrackSet(self._image_size, self._class_names, tuple(tracks))


def track_video(frames: Iterable[Detections], config: AssociationConfig | None = None) -> TrackSet:
    """Tracks of a whole video from each frame's detections, frame 0 first."""
    tracker = Tracker(config)
    for index, detections in enumerate(frames):
        tracker.update(index, detections)
    return tracker.tracks()
