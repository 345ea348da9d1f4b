"""Edits of a video's tracks as values: each knows the tracks it touches before and after, and its inverse.

A `TrackEdit` is what a `Change` is for one image's objects: `apply` gives the new track set, `inverted()`
is the undo, and the store persists only the touched tracks. The edit functions are pure: they read a
`TrackSet` and return an edit, never change anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.tracking.tracks import Track, TrackFrame, TrackSet

__all__ = ["TrackEdit", "correct", "delete", "merge", "reclass", "split"]


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


def merge(tracks: TrackSet, keep_id: int, other_id: int) -> TrackEdit:
    """Track `other_id` joined into `keep_id` (whose class stays). Where both have a frame, a person's shape
    wins over a model's and `keep_id`'s over `other_id`'s; both person-made on one frame is an error."""
    if keep_id == other_id:
        raise ValueError(f"cannot merge track {keep_id} with itself")
    keep, other = tracks.get(keep_id), tracks.get(other_id)
    frames = {f.frame: f for f in other.frames}
    for item in keep.frames:
        theirs = frames.get(item.frame)
        if theirs is not None and theirs.person_made and item.person_made:
            raise ValueError(
                f"tracks {keep_id} and {other_id} both have a person's shape on frame {item.frame}: "
                "delete one of them there first"
            )
        if theirs is None or not theirs.person_made or item.person_made:
            frames[item.frame] = item
    merged = keep.with_frames(frames.values())
    return TrackEdit(f"Merge track {other_id} into {keep_id}", (keep, other), (merged,))


def split(tracks: TrackSet, track_id: int, frame: int) -> TrackEdit:
    """The frames of a track from `frame` on moved to a new track (same class, the set's next id)."""
    track = tracks.get(track_id)
    before = [f for f in track.frames if f.frame < frame]
    after = [f for f in track.frames if f.frame >= frame]
    if not before or not after:
        raise ValueError(
            f"splitting track {track_id} (frames {track.first}..{track.last}) at frame {frame} leaves one part empty"
        )
    new = Track(tracks.next_id, track.class_index, tuple(after))
    return TrackEdit(f"Split track {track_id} at frame {frame}", (track,), (track.with_frames(before), new))


def delete(tracks: TrackSet, track_id: int, from_frame: int | None = None) -> TrackEdit:
    """A whole track removed, or only its frames from `from_frame` on (removing all of them removes the track)."""
    track = tracks.get(track_id)
    if from_frame is None:
        return TrackEdit(f"Delete track {track_id}", (track,), ())
    kept = [f for f in track.frames if f.frame < from_frame]
    after = (track.with_frames(kept),) if kept else ()
    return TrackEdit(f"Delete track {track_id} from frame {from_frame} on", (track,), after)


def reclass(tracks: TrackSet, track_id: int, class_index: int) -> TrackEdit:
    """A whole track given another class."""
    if not 0 <= class_index < len(tracks.class_names):
        raise ValueError(f"class index {class_index} is outside 0..{len(tracks.class_names) - 1}")
    track = tracks.get(track_id)
    new = Track(track.track_id, class_index, track.frames)
    return TrackEdit(f"Track {track_id} is now {tracks.class_names[class_index]!r}", (track,), (new,))
