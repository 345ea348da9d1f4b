"""Reading a video's tracks from the project store: its tracks, a track's objects, the Tracks dock's summaries
and a track's person-made frames."""

from __future__ import annotations

from dataclasses import dataclass

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.records import ImageStatus, TrackObject, TrackRecord
from protolabel.segmentation.project.store import ProjectStore, _object_from_row


@dataclass(frozen=True, slots=True)
class TrackSummary:
    """A track as the Tracks dock lists it: frames are 0-based indices, counts are numbers of frames."""

    track_id: int
    label: str
    first_frame: int  # the first frame where the track has an object
    last_frame: int  # the last such frame (inclusive)
    length: int  # frames where the track has an object
    reviewed: int  # of those, frames whose status is edited or verified (a person looked at them)


class TrackQueries(ProjectStore):
    """The track reads of VideoStore (one connection, one thread, as ProjectStore)."""

    def tracks(self, video_id: int) -> list[TrackRecord]:
        rows = self._read("SELECT id, video_id, label, version FROM tracks WHERE video_id = ? ORDER BY id", (video_id,))
        return [TrackRecord(*row) for row in rows]

    def track(self, track_id: int) -> TrackRecord | None:
        rows = self._read("SELECT id, video_id, label, version FROM tracks WHERE id = ?", (track_id,))
        return TrackRecord(*rows[0]) if rows else None

    def track_objects(self, track_id: int) -> list[TrackObject]:
        """The track's objects over its frames, in frame order; DamagedRowError when one cannot be read."""
        rows = self._read(
            "SELECT o.id, o.label, o.provenance, o.score, o.shape, o.version, o.track_id, o.attributes, f.key, "
            "f.frame_index "
            "FROM objects o JOIN frames f ON f.key = o.image_path WHERE o.track_id = ? ORDER BY f.frame_index, o.id",
            (track_id,),
        )
        return [TrackObject(row[8], row[9], _object_from_row(row[:8], row[8], self.db_path)) for row in rows]

    def track_summaries(self, video_id: int) -> list[TrackSummary]:
        """Every track of the video with an object on some frame, by id, in one query: a long video's list is
        read once, not track by track (an emptied track is not listed)."""
        rows = self._read(
            "SELECT t.id, t.label, MIN(f.frame_index), MAX(f.frame_index), COUNT(DISTINCT f.frame_index), "
            "COUNT(DISTINCT CASE WHEN i.status IN (?, ?) THEN f.frame_index END) "
            "FROM tracks t JOIN objects o ON o.track_id = t.id JOIN frames f ON f.key = o.image_path "
            "JOIN images i ON i.path = f.key WHERE t.video_id = ? GROUP BY t.id ORDER BY t.id",
            (ImageStatus.EDITED.value, ImageStatus.VERIFIED.value, video_id),
        )
        return [TrackSummary(int(a), str(b), int(c), int(d), int(e), int(g)) for a, b, c, d, e, g in rows]

    def person_keyframes(self, track_id: int) -> list[int]:
        """Frame indices where a person drew, corrected or accepted the track's object (it is not auto):
        propagation runs between them and never over them."""
        rows = self._read(
            "SELECT DISTINCT f.frame_index FROM objects o JOIN frames f ON f.key = o.image_path "
            "WHERE o.track_id = ? AND o.provenance != ? ORDER BY f.frame_index",
            (track_id, Provenance.AUTO.value),
        )
        return [int(r[0]) for r in rows]
