"""A person's and a model run's edits of a video's tracks as undoable TrackEdits: create, re-class, merge, split,
delete, and a propagation's result. `apply_track_edit(edit.inverted())` undoes one."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.project.records import (
    ImageStatus,
    StoredObject,
    TrackEdit,
    TrackRecord,
    shape_from_json,
    shape_to_json,
)
from protolabel.segmentation.project.store import StaleEditError, TrackConflictError, _status_from
from protolabel.segmentation.project.track_writes import TrackWrites
from protolabel.segmentation.project.video_frames import VideoFrames, check_whole, frame_key


class TrackEdits(TrackWrites, VideoFrames):
    """The track edits of VideoStore, each one transaction that writes a TrackEdit (track_writes)."""

    def create_track(self, video_id: int, label: str, text: str = "New track") -> TrackEdit:
        """A new, empty track of the video; give it objects by saving them with its id."""
        label = _check_label(label)
        with self._write() as db:
            self._video_by_id(db, video_id)
            now = time.time()
            cursor = db.execute(
                "INSERT INTO tracks (video_id, label, created_at, updated_at, version) VALUES (?, ?, ?, ?, 1)",
                (video_id, label, now, now),
            )
            track = TrackRecord(int(cursor.lastrowid or 0), video_id, label, 1)
        return TrackEdit(text, (), (), (), (track,), {}, {})

    def set_track_class(self, track_id: int, label: str) -> TrackEdit:
        """Give a whole track (every frame's object) the class `label`; provenance stays, as a class rename's."""
        label = _check_label(label)
        with self._write() as db:
            track = self._require_track(db, track_id)
            objects = self._stored_objects(db, "o.track_id = ?", (track_id,))
            edit = TrackEdit(
                f"Change track {track_id} to {label}",
                objects,
                tuple(replace(o, label=label) for o in objects),
                (track,),
                (replace(track, label=label),),
                {},
                {},
            )
            return self._apply(db, edit)

    def merge_tracks(self, keep_id: int, other_id: int) -> TrackEdit:
        """Make `other_id`'s objects part of `keep_id` (its class) and delete `other_id`. TrackConflictError,
        nothing written, when both have an object on one frame (which one is right is the person's call)."""
        if keep_id == other_id:
            raise TrackConflictError(f"track {keep_id} cannot be merged into itself")
        with self._write() as db:
            keep, other = self._require_track(db, keep_id), self._require_track(db, other_id)
            if keep.video_id != other.video_id:
                raise TrackConflictError(f"tracks {keep_id} and {other_id} are tracks of different videos")
            both = [
                int(r[0])
                for r in db.execute(
                    "SELECT DISTINCT f.frame_index FROM objects a JOIN objects b ON a.image_path = b.image_path "
                    "JOIN frames f ON f.key = a.image_path WHERE a.track_id = ? AND b.track_id = ? "
                    "ORDER BY f.frame_index",
                    (keep_id, other_id),
                )
            ]
            if both:
                shown = ", ".join(map(str, both[:5])) + (", …" if len(both) > 5 else "")
                raise TrackConflictError(
                    f"tracks {keep_id} and {other_id} both have an object on frame(s) {shown}; delete one of "
                    "them there first, then merge"
                )
            objects = self._stored_objects(db, "o.track_id = ?", (other_id,))
            edit = TrackEdit(
                f"Merge track {other_id} into {keep_id}",
                objects,
                tuple(replace(o, label=keep.label, track_id=keep_id) for o in objects),
                (other,),
                (),
                {},
                {},
            )
            return self._apply(db, edit)

    def split_track(self, track_id: int, frame_index: int) -> TrackEdit:
        """Move the track's objects on frames from `frame_index` on to a new track (same class): one thing the
        tracker joined to another is two tracks again. The returned edit names the new track."""
        check_whole("frame index", frame_index, 0)
        with self._write() as db:
            track = self._require_track(db, track_id)
            objects = self._stored_objects(db, "o.track_id = ? AND f.frame_index >= ?", (track_id, frame_index))
            if not objects:
                raise TrackConflictError(f"track {track_id} has no object on frame {frame_index} or later")
            now = time.time()
            cursor = db.execute(
                "INSERT INTO tracks (video_id, label, created_at, updated_at, version) VALUES (?, ?, ?, ?, 1)",
                (track.video_id, track.label, now, now),
            )
            new = TrackRecord(int(cursor.lastrowid or 0), track.video_id, track.label, 1)
            edit = self._apply(
                db,
                TrackEdit(
                    f"Split track {track_id} at frame {frame_index}",
                    objects,
                    tuple(replace(o, track_id=new.id) for o in objects),
                    (),
                    (),
                    {},
                    {},
                ),
            )
        return TrackEdit(edit.text, edit.objects_before, edit.objects_after, (), (new,), {}, {})

    def delete_track(self, track_id: int, from_frame: int | None = None) -> TrackEdit:
        """A person deletes the track (or its objects on frames from `from_frame` on): its auto objects are
        rejected (a model run does not bring them back) and the frames become edited. The whole track goes
        when no object of it is left."""
        if from_frame is not None:
            check_whole("frame index", from_frame, 0)
        with self._write() as db:
            track = self._require_track(db, track_id)
            where, params = (
                ("o.track_id = ?", (track_id,))
                if from_frame is None
                else (
                    "o.track_id = ? AND f.frame_index >= ?",
                    (track_id, from_frame),
                )
            )
            objects = self._stored_objects(db, where, params)
            remaining = db.execute("SELECT COUNT(*) FROM objects WHERE track_id = ?", (track_id,)).fetchone()[0]
            frames = sorted({o.image_path for o in objects})
            statuses = {key: self._status_of(db, key) for key in frames}
            gone = remaining == len(objects)
            text = f"Delete track {track_id}" if from_frame is None else f"Delete track {track_id} from {from_frame}"
            edit = TrackEdit(
                text,
                objects,
                (),
                (track,) if gone else (),
                (),
                statuses,
                dict.fromkeys(frames, ImageStatus.EDITED),
                rejects=True,
            )
            return self._apply(db, edit)

    def apply_propagation(
        self,
        track_id: int,
        shapes: Mapping[int, tuple[Shape, float | None] | None],
        read: Mapping[int, Iterable[tuple[int, int]]],
        text: str,
    ) -> TrackEdit:
        """A model run's result for one track (propagation, interpolation) written as one undoable TrackEdit.

        `shapes`: frame index -> the track's new (shape, score) there, or None where the run found nothing (the
        track's model-made object there is removed). `read`: frame index -> the (object id, version) pairs of the
        track on that frame as the run read them, for every frame of `shapes` and the frame it started from.
        Compare-and-set: StaleEditError, nothing written, when the track's objects on one of those frames changed
        since (a person edited one meanwhile); TrackConflictError when a frame of `shapes` holds a person's
        object of the track (a model run never overwrites it). A reviewed (verified) frame is left alone.

        Where the track's shape on a frame it reached (or on a person-made frame of the track it read) is the same
        object as another track's model-made object there, the tracker had swapped the two: that object takes
        the track's previous model-made shape there when there was one and nothing else holds it, and is removed
        otherwise (a track left with no object goes too). A person's object of another track is never touched."""
        for index in (*shapes, *read):
            check_whole("frame index", index, 0)
        with self._write() as db:
            track = self._require_track(db, track_id)
            video = self._video_by_id(db, track.video_id)
            frames = sorted(set(shapes) | set(read))
            stored = (
                self._stored_objects(
                    db, "o.track_id = ? AND f.frame_index BETWEEN ? AND ?", (track_id, frames[0], frames[-1])
                )
                if frames
                else ()
            )
            by_frame: dict[str, list[StoredObject]] = {}
            for obj in stored:
                by_frame.setdefault(obj.image_path, []).append(obj)
            action = text[:1].lower() + text[1:]
            for index in frames:
                key = frame_key(video.path, index)
                now = {(o.id, o.version) for o in by_frame.get(key, ())}
                if now != set(read.get(index, ())):
                    raise StaleEditError(
                        f"The {action} was refused: track {track_id}'s object on frame {index} changed since the "
                        "run read it (edited in this or another window); nothing was written. Run it again"
                    )
                if index in shapes and any(o.provenance != Provenance.AUTO.value for o in by_frame.get(key, ())):
                    raise TrackConflictError(
                        f"The {action} was refused: frame {index} holds a person's object of track {track_id}, "
                        "which a model run never overwrites; nothing was written"
                    )
            before: list[StoredObject] = []
            after: list[StoredObject] = []
            added: list[tuple[str, Shape, float | None]] = []
            statuses: dict[str, ImageStatus] = {}
            ends: dict[int, tuple[Shape, StoredObject | None]] = {}  # the track's shape now, its old auto object
            for index, found in sorted(shapes.items()):
                key = frame_key(video.path, index)
                if self._require_frame(db, key) != video.id:
                    raise TrackConflictError(f"{key} is not a frame of track {track_id}'s video")
                status = self._status_of(db, key)
                if status is ImageStatus.VERIFIED:
                    continue  # a person reviewed this frame as it is
                old = by_frame.get(key, [])
                before.extend(old)
                if found is None:
                    continue
                shape, score = found
                ends[index] = (shape, old[0] if old else None)
                if old:
                    after.append(replace(old[0], label=track.label, score=score, shape_json=shape_to_json(shape)))
                else:
                    added.append((key, shape, score))
                if status is ImageStatus.UNLABELED:
                    statuses[key] = status
            for index in sorted(set(read) - set(shapes)):
                key = frame_key(video.path, index)
                person = [o for o in by_frame.get(key, ()) if o.provenance != Provenance.AUTO.value]
                if person and self._status_of(db, key) is not ImageStatus.VERIFIED:
                    ends[index] = (shape_from_json(person[0].shape_json), None)
            swapped = self._untangle(db, video, track_id, ends)
            before.extend(swapped.objects_before)
            after.extend(swapped.objects_after)
            edit = self._apply(
                db,
                TrackEdit(
                    text,
                    tuple(before),
                    tuple(after),
                    swapped.tracks_before,
                    (),
                    statuses,
                    dict.fromkeys(statuses, ImageStatus.AUTO_LABELED),
                ),
            )
            created = []
            stamp = time.time()
            for key, shape, score in added:
                shape_json = shape_to_json(shape)
                cursor = db.execute(
                    "INSERT INTO objects (image_path, label, provenance, score, shape, updated_at, track_id, version) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                    (key, track.label, Provenance.AUTO.value, score, shape_json, stamp, track_id),
                )
                created.append(
                    StoredObject(
                        int(cursor.lastrowid or 0),
                        key,
                        track.label,
                        Provenance.AUTO.value,
                        score,
                        shape_json,
                        1,
                        track_id,
                    )
                )
        return replace(edit, objects_after=edit.objects_after + tuple(created))

    def apply_track_edit(self, edit: TrackEdit, *, replay: bool = False) -> TrackEdit:
        """Apply a TrackEdit (an undo is `apply_track_edit(edit.inverted())`, the redo that result inverted):
        StaleEditError, nothing written, when a row it touches changed since. Returns it with the new versions.

        `replay` (an undo or redo from the history): a row that holds exactly what the edit expects passes at the
        version it has now. Undoing a later step, or an image step on the same frame, writes the same content
        back under a new version; only a different content is a change made since."""
        with self._write() as db:
            return self._apply(db, self._at_current_versions(db, edit) if replay else edit)

    # ---------------------------------------------------------------- internals
    def _status_of(self, db: sqlite3.Connection, key: str) -> ImageStatus:
        row = db.execute("SELECT status FROM images WHERE path = ?", (key,)).fetchone()
        return ImageStatus.UNLABELED if row is None else _status_from(row[0], key, self.db_path)


def _check_label(label: str) -> str:
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"class {label!r} is not a name")
    return label.strip()
