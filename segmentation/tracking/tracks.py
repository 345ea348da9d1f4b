"""Tracks: one object across the frames of a video, as frozen records that edits replace, never change.

A track holds, for each frame where the object is seen, its shape (the project's `Shape`, in the
frame's pixels), the model's score and coefficient vector when a model found it, and who made it
(`Provenance`: AUTO for the model, EDITED or VERIFIED for a person). Frames where the object is not
seen are simply absent. A `TrackSet` is every track of one video.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from protolabel.segmentation.geometry.provenance import PROVENANCES, Provenance
from protolabel.segmentation.geometry.shapes import Shape

__all__ = ["Track", "TrackFrame", "TrackSet", "is_person_made"]


def is_person_made(provenance: str) -> bool:
    """Whether a person decided this frame's shape (edited or verified): no model run may replace it."""
    return provenance != Provenance.AUTO.value


@dataclass(frozen=True, eq=False)
class TrackFrame:
    """The object on one frame of its track.

    `frame` is the 0-based frame index in the video; `shape` is in that frame's pixels; `score` is
    the model's confidence in [0, 1], NaN where a person made the shape; `coefficients` is the
    model's float32 [k] mask coefficient vector (after tanh), None where no detection backs the
    shape; `provenance` is one of PROVENANCES.
    """

    frame: int
    shape: Shape
    score: float = float("nan")
    provenance: str = Provenance.AUTO.value
    coefficients: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.frame < 0:
            raise ValueError(f"frame index {self.frame} is negative")
        if self.provenance not in PROVENANCES:
            raise ValueError(f"unknown provenance {self.provenance!r}; expected one of {PROVENANCES}")
        if self.coefficients is not None:
            coefficients = np.array(self.coefficients, dtype=np.float32).reshape(-1)
            coefficients.setflags(write=False)
            object.__setattr__(self, "coefficients", coefficients)

    @property
    def person_made(self) -> bool:
        return is_person_made(self.provenance)


@dataclass(frozen=True, eq=False)
class Track:
    """One object over time: its id (unique in its `TrackSet`), class index and frames by ascending index."""

    track_id: int
    class_index: int  # index into the TrackSet's class_names
    frames: tuple[TrackFrame, ...] = field(default=())

    def __post_init__(self) -> None:
        frames = tuple(sorted(self.frames, key=lambda f: f.frame))
        indices = [f.frame for f in frames]
        if len(set(indices)) != len(indices):
            raise ValueError(f"track {self.track_id} has two shapes on one frame: frames {indices}")
        object.__setattr__(self, "frames", frames)

    @property
    def frame_indices(self) -> tuple[int, ...]:
        return tuple(f.frame for f in self.frames)

    @property
    def first(self) -> int:
        """First frame index; raises ValueError for a track with no frames."""
        if not self.frames:
            raise ValueError(f"track {self.track_id} has no frames")
        return self.frames[0].frame

    @property
    def last(self) -> int:
        """Last frame index; raises ValueError for a track with no frames."""
        if not self.frames:
            raise ValueError(f"track {self.track_id} has no frames")
        return self.frames[-1].frame

    @property
    def person_frames(self) -> tuple[int, ...]:
        """Indices of the frames a person made (the track's keyframes)."""
        return tuple(f.frame for f in self.frames if f.person_made)

    @property
    def length(self) -> int:
        """Number of frames the object is seen on (gaps not counted)."""
        return len(self.frames)

    @property
    def reviewed_share(self) -> float:
        """Share of the track's frames a person made or accepted, in [0, 1] (0 for a track with no frames)."""
        return len(self.person_frames) / len(self.frames) if self.frames else 0.0

    @property
    def score(self) -> float:
        """Mean model score over the model-made frames; NaN when a person made every frame."""
        scores = [f.score for f in self.frames if not f.person_made and not np.isnan(f.score)]
        return float(np.mean(scores)) if scores else float("nan")

    def at(self, frame: int) -> TrackFrame | None:
        """The track's shape on `frame`, or None where the object is not seen."""
        for item in self.frames:
            if item.frame == frame:
                return item
        return None

    def with_frames(self, frames: Iterable[TrackFrame]) -> Track:
        return replace(self, frames=tuple(frames))

    def with_frame(self, item: TrackFrame) -> Track:
        """This track with `item` added, or replacing the one on its frame."""
        return self.with_frames([f for f in self.frames if f.frame != item.frame] + [item])


@dataclass(frozen=True, eq=False)
class TrackSet:
    """All tracks of one video: frames of `image_size` (height, width), classes named by `class_names`."""

    image_size: tuple[int, int]
    class_names: tuple[str, ...]
    tracks: tuple[Track, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_size", (int(self.image_size[0]), int(self.image_size[1])))
        object.__setattr__(self, "class_names", tuple(self.class_names))
        tracks = tuple(sorted(self.tracks, key=lambda t: t.track_id))
        ids = [t.track_id for t in tracks]
        if len(set(ids)) != len(ids):
            raise ValueError(f"track ids are not unique: {ids}")
        for track in tracks:
            if not 0 <= track.class_index < len(self.class_names):
                raise ValueError(
                    f"track {track.track_id} has class index {track.class_index}, "
                    f"outside 0..{len(self.class_names) - 1}"
                )
        object.__setattr__(self, "tracks", tracks)

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(t.track_id for t in self.tracks)

    @property
    def next_id(self) -> int:
        """The id a new track gets: one above the largest (ids are never reused within a set)."""
        return max(self.ids, default=0) + 1

    def get(self, track_id: int) -> Track:
        """The track with this id; KeyError naming the known ids otherwise."""
        for track in self.tracks:
            if track.track_id == track_id:
                return track
        raise KeyError(f"no track {track_id}; the tracks are {list(self.ids)}")

    def with_tracks(self, tracks: Sequence[Track]) -> TrackSet:
        """The same video with these tracks (tracks left without frames are dropped)."""
        return replace(self, tracks=tuple(t for t in tracks if t.frames))

    def replacing(self, track: Track) -> TrackSet:
        """This set with `track` in place of the one with its id (or added); dropped when it has no frames."""
        return self.with_tracks([t for t in self.tracks if t.track_id != track.track_id] + [track])

    def on_frame(self, frame: int) -> list[tuple[Track, TrackFrame]]:
        """Every track seen on `frame`, with its shape there."""
        found = []
        for track in self.tracks:
            item = track.at(frame)
            if item is not None:
                found.append((track, item))
        return found
