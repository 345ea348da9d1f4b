"""Edits of an in-memory track set as values: each knows the tracks it touches before and after, and its inverse.

Correction, propagation and interpolation compute their results here as `TrackEdit`s (`apply` gives the new
track set, `inverted()` its undo). A person's merge, split, delete and re-class of stored tracks are the
store's (segmentation/project/video_store.py), the one place those rules live.
"""

from __future__ import annotations

from dataclasses import dataclass

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.tracking.tracks import Track, TrackFrame, TrackSet

__all__ = ["TrackEdit", "correct"]


@dataclass(frozen=True)
class TrackEdit:
    """A reversible edit: the tracks it touches before and after (matched by id).

    A track only in `before` is removed, one only in `after` is added, one in both is replaced.
    """

    text: str
    before: tuple[Track, ...]
    after: tuple[Track, ...]

    def apply(self, tracks: TrackSet) -> TrackSet:
        """`tracks` with this edit made; ValueError when they are not the tracks the edit was made on."""
        for old in self.before:
            if old.track_id not in tracks.ids or tracks.get(old.track_id) is not old:
                raise ValueError(f"track {old.track_id} changed since this edit was made ({self.text})")
        touched = {t.track_id for t in self.before} | {t.track_id for t in self.after}
        for new in self.after:
            if new.track_id in tracks.ids and new.track_id not in {t.track_id for t in self.before}:
                raise ValueError(f"track {new.track_id} already exists ({self.text})")
        return tracks.with_tracks([t for t in tracks.tracks if t.track_id not in touched] + list(self.after))

    def inverted(self) -> TrackEdit:
        return TrackEdit(self.text, self.after, self.before)


def correct(
    tracks: TrackSet, track_id: int, frame: int, shape: Shape, provenance: str = Provenance.EDITED.value
) -> TrackEdit:
    """A person's shape for a track on one frame: that frame becomes one of the track's keyframes."""
    if provenance == Provenance.AUTO.value:
        raise ValueError("a correction is a person's: its provenance cannot be 'auto'")
    if shape.is_empty():
        raise ValueError(f"the corrected shape of track {track_id} on frame {frame} is empty")
    track = tracks.get(track_id)
    # No coefficients: the model's detection there may be the wrong object (the reason for the correction);
    # propagation takes the identity from the detection under the person's shape.
    new = track.with_frame(TrackFrame(frame, shape, provenance=provenance))
    return TrackEdit(f"Correct track {track_id} on frame {frame}", (track,), (new,))
