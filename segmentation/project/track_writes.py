"""Writing a TrackEdit to the project store: compare-and-set on every object and track row it touches, undo
and redo by putting back rows this store deleted, and untangling objects the tracker swapped between tracks.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from protolabel.segmentation.geometry.box_masks import BoxMasks, pairwise_iou
from protolabel.segmentation.geometry.overlap import is_same_object
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.project.records import StoredObject, TrackEdit, TrackRecord, VideoRecord, shape_from_json
from protolabel.segmentation.project.store import (
    DamagedRowError,
    ProjectStore,
    StaleEditError,
    TrackConflictError,
    _object_from_row,
)
from protolabel.segmentation.project.video_frames import frame_key

_STORED_OBJECT_COLUMNS = (
    "o.id, o.image_path, o.label, o.provenance, o.score, o.shape, o.version, o.track_id, o.attributes"
)


class TrackWrites(ProjectStore):
    """The rows a TrackEdit touches, read and written inside the caller's transaction (VideoStore's track edits)."""

    def _at_current_versions(self, db: sqlite3.Connection, edit: TrackEdit) -> TrackEdit:
        """`edit` with the stored version of each row it expects whose stored content is what it expects."""
        ids = [o.id for o in edit.objects_before]
        stored = {}
        if ids:
            marks = ", ".join("?" * len(ids))
            stored = {o.id: o for o in self._stored_objects(db, f"o.id IN ({marks})", ids)}
        objects = tuple(
            replace(o, version=stored[o.id].version)
            if o.id in stored and replace(stored[o.id], version=o.version) == o
            else o
            for o in edit.objects_before
        )
        tracks = []
        for track in edit.tracks_before:
            row = db.execute("SELECT id, video_id, label, version FROM tracks WHERE id = ?", (track.id,)).fetchone()
            now = None if row is None else TrackRecord(*row)
            same = now is not None and replace(now, version=track.version) == track
            tracks.append(replace(track, version=now.version) if same and now is not None else track)
        return replace(edit, objects_before=objects, tracks_before=tuple(tracks))

    def _untangle(
        self,
        db: sqlite3.Connection,
        video: VideoRecord,
        track_id: int,
        ends: Mapping[int, tuple[Shape, StoredObject | None]],
    ) -> TrackEdit:
        """Other tracks' model-made objects that are the same object as the track's new shape on a frame of `ends`
        (frame index -> (the track's shape there now, its model-made object there before)) where the track's
        object changed to another one or appeared: the best match takes the track's old shape (the tracker had
        swapped them) unless another object there holds it, the others go; as the rows of a TrackEdit."""
        if not ends:
            return TrackEdit("", (), (), (), (), {}, {})
        others: dict[str, list[StoredObject]] = {}
        rows = db.execute(
            f"SELECT {_STORED_OBJECT_COLUMNS} FROM objects o JOIN frames f ON f.key = o.image_path "
            "WHERE f.video_id = ? "
            "AND f.frame_index BETWEEN ? AND ? AND o.track_id IS NOT NULL AND o.track_id != ? ORDER BY o.id",
            (video.id, min(ends), max(ends), track_id),
        ).fetchall()
        for row in rows:
            try:
                _object_from_row((row[0], *row[2:9]), row[1], self.db_path)
            except DamagedRowError:
                continue  # another track's damaged row: never a copy to change, and no reason to refuse this edit
            others.setdefault(row[1], []).append(StoredObject(*row))
        size = (video.height, video.width)
        before: list[StoredObject] = []
        after: list[StoredObject] = []
        for index, (shape, old) in ends.items():
            there = others.get(frame_key(video.path, index), [])
            if not there or (old is not None and _same_object(shape_from_json(old.shape_json), [shape], size)):
                continue  # the track holds what it held: an overlap with another track is not this run's doing
            iou = pairwise_iou(
                BoxMasks.from_shapes([shape], size),
                BoxMasks.from_shapes([shape_from_json(o.shape_json) for o in there], size),
            )[0]
            copies = [
                there[i]
                for i in np.argsort(-iou, kind="stable")
                if is_same_object(float(iou[i])) and there[i].provenance == Provenance.AUTO.value
            ]
            if not copies:
                continue
            before.extend(copies)
            rest = [shape_from_json(o.shape_json) for o in there if o not in copies]
            if old is not None and not _same_object(shape_from_json(old.shape_json), rest, size):
                after.append(replace(copies[0], score=old.score, shape_json=old.shape_json))
        gone = []
        kept = {o.id for o in after}
        for other in sorted({o.track_id for o in before if o.track_id is not None}):
            removed = sum(1 for o in before if o.track_id == other and o.id not in kept)
            if (
                removed
                and removed == db.execute("SELECT COUNT(*) FROM objects WHERE track_id = ?", (other,)).fetchone()[0]
            ):
                gone.append(self._require_track(db, other))
        return TrackEdit("", tuple(before), tuple(after), tuple(gone), (), {}, {})

    def _apply(self, db: sqlite3.Connection, edit: TrackEdit) -> TrackEdit:
        """Compare-and-set apply inside the caller's transaction: tracks created or updated first (objects point
        to them), then objects, then deleted tracks. Every check passes before the rows it guards are written;
        a failure later rolls the whole transaction back."""
        now = time.time()
        tracks_before = {t.id: t for t in edit.tracks_before}
        tracks_after = []
        for track in edit.tracks_after:
            old = tracks_before.get(track.id)
            if old is not None:
                updated = db.execute(
                    "UPDATE tracks SET label = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?",
                    (track.label, now, track.id, old.version),
                ).rowcount
                if not updated:
                    raise self._stale_track(db, track.id, old.version)
                tracks_after.append(replace(track, version=old.version + 1))
                continue
            self._recreate_track(db, track, now)
            tracks_after.append(replace(track, version=track.version + 1))

        objects_before = {o.id: o for o in edit.objects_before}
        after_ids = {o.id for o in edit.objects_after}
        objects_after = []
        for obj in edit.objects_after:
            old_obj = objects_before.get(obj.id)
            if old_obj is not None:
                updated = db.execute(
                    "UPDATE objects SET image_path = ?, label = ?, provenance = ?, score = ?, shape = ?, "
                    "updated_at = ?, track_id = ?, attributes = ?, version = version + 1 WHERE id = ? AND version = ?",
                    (
                        obj.image_path,
                        obj.label,
                        obj.provenance,
                        obj.score,
                        obj.shape_json,
                        now,
                        obj.track_id,
                        obj.attributes_json,
                        obj.id,
                        old_obj.version,
                    ),
                ).rowcount
                if not updated:
                    raise self._stale(db, obj.id, obj.label, old_obj.version, obj.image_path, edit.text.lower())
                objects_after.append(replace(obj, version=old_obj.version + 1))
                continue
            self._recreate_object(db, obj, now, edit.text.lower())
            objects_after.append(replace(obj, version=obj.version + 1))
        for obj in edit.objects_before:
            if obj.id in after_ids:
                continue
            if not db.execute("DELETE FROM objects WHERE id = ? AND version = ?", (obj.id, obj.version)).rowcount:
                raise self._stale(db, obj.id, obj.label, obj.version, obj.image_path, edit.text.lower())
            self._record_deletes(db, [obj.id], now)
            if edit.rejects and obj.provenance == Provenance.AUTO.value:
                db.execute(
                    "INSERT OR REPLACE INTO rejected_objects (id, image_path, shape) VALUES (?, ?, ?)",
                    (obj.id, obj.image_path, obj.shape_json),
                )

        after_track_ids = {t.id for t in edit.tracks_after}
        for track in edit.tracks_before:
            if track.id in after_track_ids:
                continue
            if db.execute("SELECT 1 FROM objects WHERE track_id = ? LIMIT 1", (track.id,)).fetchone():
                raise StaleEditError(
                    f"The {edit.text.lower()} was refused: track {track.id} has objects that were given to it "
                    "since (by another window or program); the tracks were reloaded from the project"
                )
            if not db.execute("DELETE FROM tracks WHERE id = ? AND version = ?", (track.id, track.version)).rowcount:
                raise self._stale_track(db, track.id, track.version)
            db.execute(
                "INSERT OR REPLACE INTO deleted_tracks (id, session, deleted_at) VALUES (?, ?, ?)",
                (track.id, self.session, now),
            )
        self._set_statuses(db, list(edit.statuses_after.items()))
        return TrackEdit(
            edit.text,
            edit.objects_before,
            tuple(objects_after),
            edit.tracks_before,
            tuple(tracks_after),
            edit.statuses_before,
            edit.statuses_after,
            edit.rejects,
        )

    def _recreate_object(self, db: sqlite3.Connection, obj: StoredObject, now: float, action: str) -> None:
        """Put back an object this store deleted (an undo); any other is StaleEditError."""
        mine = db.execute(
            "SELECT 1 FROM deleted_objects WHERE id = ? AND session = ?", (obj.id, self.session)
        ).fetchone()
        if mine is None or db.execute("SELECT 1 FROM objects WHERE id = ?", (obj.id,)).fetchone():
            raise self._stale(db, obj.id, obj.label, obj.version, obj.image_path, action)
        self._check_tracked(db, obj.image_path, obj.id, obj.track_id, obj.label)
        db.execute(
            "INSERT INTO objects (id, image_path, label, provenance, score, shape, updated_at, version, track_id, "
            "attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (obj.id, obj.image_path, obj.label, obj.provenance, obj.score, obj.shape_json, now, obj.version + 1)
            + (obj.track_id, obj.attributes_json),
        )
        db.execute("DELETE FROM deleted_objects WHERE id = ?", (obj.id,))
        db.execute("DELETE FROM rejected_objects WHERE id = ?", (obj.id,))  # stored again: no longer rejected

    def _recreate_track(self, db: sqlite3.Connection, track: TrackRecord, now: float) -> None:
        """Put back a track this store deleted (an undo or redo); any other is StaleEditError."""
        mine = db.execute(
            "SELECT 1 FROM deleted_tracks WHERE id = ? AND session = ?", (track.id, self.session)
        ).fetchone()
        if mine is None or db.execute("SELECT 1 FROM tracks WHERE id = ?", (track.id,)).fetchone():
            raise self._stale_track(db, track.id, track.version)
        db.execute(
            "INSERT INTO tracks (id, video_id, label, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?)",
            (track.id, track.video_id, track.label, now, now, track.version + 1),
        )
        db.execute("DELETE FROM deleted_tracks WHERE id = ?", (track.id,))

    @staticmethod
    def _stale_track(db: sqlite3.Connection, track_id: int, version: int) -> StaleEditError:
        row = db.execute("SELECT version FROM tracks WHERE id = ?", (track_id,)).fetchone()
        if row is None:
            return StaleEditError(
                f"The track edit was refused: track {track_id} was deleted by another window or program since "
                "it was read; the tracks were reloaded from the project"
            )
        return StaleEditError(
            f"The track edit was refused: track {track_id} was changed by another window or program since it "
            f"was read (version {version}, now {row[0]}); the tracks were reloaded from the project"
        )

    def _stored_objects(self, db: sqlite3.Connection, where: str, params: Sequence[object]) -> tuple[StoredObject, ...]:
        """Objects on frames matching `where` (over objects o and frames f), as stored, in frame order."""
        rows = db.execute(
            f"SELECT {_STORED_OBJECT_COLUMNS} FROM objects o JOIN frames f ON f.key = o.image_path WHERE {where} "
            "ORDER BY f.frame_index, o.id",
            tuple(params),
        ).fetchall()
        for row in rows:  # refuse to carry a damaged row through an edit (undo would write it back)
            _object_from_row((row[0], *row[2:9]), row[1], self.db_path)
        return tuple(StoredObject(*row) for row in rows)

    @staticmethod
    def _require_track(db: sqlite3.Connection, track_id: int) -> TrackRecord:
        row = db.execute("SELECT id, video_id, label, version FROM tracks WHERE id = ?", (track_id,)).fetchone()
        if row is None:
            raise TrackConflictError(f"track {track_id} is not a track of this project (deleted since?)")
        return TrackRecord(*row)


def _same_object(shape: Shape, others: Sequence[Shape], size: tuple[int, int]) -> bool:
    """Whether `shape` is the same object (geometry.overlap) as one of `others`, rasterised in an image of `size`."""
    if not others:
        return False
    iou = pairwise_iou(BoxMasks.from_shapes([shape], size), BoxMasks.from_shapes(list(others), size))[0]
    return any(is_same_object(float(v)) for v in iou)
