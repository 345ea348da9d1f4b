"""Videos, their frames and tracks in the project store (schema 3, docs/adr/0006-video-frames-in-the-store.md).

A frame is an image of the store under its frame key ("clip.mp4#000123"), so its objects, status,
compare-and-set edits and undo are an image's; this adds what a video has beyond that: each frame's
identity in its video, and tracks, the objects of many frames that are one thing. Track edits are
`TrackEdit`s, compare-and-set on every row they touch; `apply_track_edit(edit.inverted())` undoes one.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from protolabel.segmentation.geometry.box_masks import BoxMasks, pairwise_iou
from protolabel.segmentation.geometry.overlap import is_same_object
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.media.frame_folder import FrameFolderReader, is_frame_folder_path
from protolabel.segmentation.media.frame_index import FrameIndex
from protolabel.segmentation.project.records import (
    AnnotatedObject,
    FrameRecord,
    ImageStatus,
    StoredObject,
    TrackEdit,
    TrackObject,
    TrackRecord,
    VideoRecord,
    shape_from_json,
    shape_to_json,
)
from protolabel.segmentation.project.store import (
    AutoLabelOutcome,
    DamagedRowError,
    ProjectStore,
    ProjectStoreError,
    StaleEditError,
    TrackConflictError,
    _object_from_row,
    _status_from,
)

FRAME_KEY_DIGITS = 6  # at least: 1,000,000 frames is over 9 hours at 30 fps; longer videos get longer keys
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FRACTION = re.compile(r"[1-9][0-9]*/[1-9][0-9]*")
_VIDEO_COLUMNS = "id, path, sha256, frame_count, width, height, size_bytes, time_base, average_fps, variable_frame_rate"
_STATUSES = {s.value: s for s in ImageStatus}
_STORED_OBJECT_COLUMNS = (
    "o.id, o.image_path, o.label, o.provenance, o.score, o.shape, o.version, o.track_id, o.attributes"
)


@dataclass(frozen=True, slots=True)
class TrackSummary:
    """A track as the Tracks dock lists it: frames are 0-based indices, counts are numbers of frames."""

    track_id: int
    label: str
    first_frame: int  # the first frame where the track has an object
    last_frame: int  # the last such frame (inclusive)
    length: int  # frames where the track has an object
    reviewed: int  # of those, frames whose status is edited or verified (a person looked at them)


class NotTheLabelledVideoError(ProjectStoreError):
    """The video file at a path is not the one the project labelled (its SHA-256 differs): nothing is changed."""


def frame_key(video_path: str, index: int) -> str:
    """The store path of frame `index` (0-based) of the video at `video_path`: "clip.mp4#000123"."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(f"frame index {index!r} is not a whole number >= 0")
    return f"{video_path}#{index:0{FRAME_KEY_DIGITS}d}"


class VideoStore(ProjectStore):
    """The project store with its videos, frames and tracks (one connection, one thread, as ProjectStore)."""

    # ---------------------------------------------------------------- videos
    def add_video(
        self,
        path: str,
        *,
        sha256: str,
        frame_count: int,
        width: int,
        height: int,
        size_bytes: int,
        time_base: str,
        average_fps: str | None = None,
        variable_frame_rate: bool = False,
    ) -> VideoRecord:
        """Record a video of the folder (or return its record when it is there with the same SHA-256).

        NotTheLabelledVideoError when the path is recorded with another SHA-256: the file was replaced, and the
        frames labelled in the old one must not be shown on the new one's pictures."""
        _check_relative_path(path)
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ValueError(f"{path}: SHA-256 {sha256!r} is not 64 lowercase hex digits")
        for name, value, least in (("frame count", frame_count, 0), ("width", width, 1), ("height", height, 1)):
            _check_whole(f"{path}: {name}", value, least)
        if frame_count == 0:
            raise ValueError(f"{path} has no video frames (frame count 0): there is nothing to label in it")
        _check_whole(f"{path}: size in bytes", size_bytes, 0)
        for name, fraction in (("time base", time_base), ("frame rate", average_fps)):
            if (fraction is not None or name == "time base") and not (
                isinstance(fraction, str) and _FRACTION.fullmatch(fraction)
            ):
                raise ValueError(f"{path}: {name} {fraction!r} is not a positive fraction such as '1/90000'")
        with self._write() as db:
            found = db.execute(f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE path = ?", (path,)).fetchone()
            if found is not None:
                video = _video(found)
                if video.sha256 != sha256:
                    raise NotTheLabelledVideoError(
                        f"{path} is not the video this project labelled: its content changed (SHA-256 "
                        f"{sha256[:12]}…, the project's is {video.sha256[:12]}…). Its labels are kept; put "
                        "the original file back, or add the new one under another name"
                    )
                return video
            cursor = db.execute(
                "INSERT INTO videos (path, sha256, frame_count, width, height, size_bytes, time_base, average_fps, "
                "variable_frame_rate, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    path,
                    sha256,
                    frame_count,
                    width,
                    height,
                    size_bytes,
                    time_base,
                    average_fps,
                    int(variable_frame_rate),
                    time.time(),
                ),
            )
            row = db.execute(f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return _video(row)

    def record_frame_folder(
        self,
        path: str,
        keys: Sequence[str],
        numbers: Sequence[int],
        *,
        sha256: str,
        width: int,
        height: int,
        size_bytes: int,
    ) -> VideoRecord:
        """Record a folder of numbered frames as a sequence at `path` ('walk/'; docs/adr/0006, "Frame folders"),
        with its frames as the folder holds them now: frame i is the file keys[i] (its `images` row, so the
        labels and status it has as a loose image are its frame's) at pts numbers[i], the number in its name.

        Recorded before, its frames take their new positions: a frame file added or removed moves the later
        ones, and their labels stay with their files; a recorded frame whose file is gone leaves the sequence
        with its labels kept in the store for when it is back. NotTheLabelledVideoError, nothing changed, when
        the folder was recorded with frames named in another pattern (`sha256` is the pattern's hash)."""
        if not isinstance(path, str) or not is_frame_folder_path(path):
            raise ValueError(f"frame folder path {path!r} does not end in '/'")
        _check_relative_path(path[:-1])
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ValueError(f"{path}: pattern hash {sha256!r} is not 64 lowercase hex digits")
        keys, numbers = list(keys), list(numbers)
        if not keys or len(keys) != len(numbers):
            raise ValueError(f"{path}: {len(keys)} frame files but {len(numbers)} frame numbers")
        for key in keys:
            if not isinstance(key, str) or not key.startswith(path) or "/" in key[len(path) :] or key == path:
                raise ValueError(f"{path}: {key!r} is not a file directly in the frame folder")
        for number in numbers:
            _check_whole(f"{path}: frame number", number, 0)
        if any(a >= b for a, b in zip(numbers, numbers[1:])):
            raise ValueError(f"{path}: frame numbers must be given in increasing order, each once")
        for name, value in (("width", width), ("height", height)):
            _check_whole(f"{path}: {name}", value, 1)
        _check_whole(f"{path}: size in bytes", size_bytes, 0)
        with self._write() as db:
            found = db.execute(f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE path = ?", (path,)).fetchone()
            if found is not None:
                video = _video(found)
                if video.sha256 != sha256:
                    raise NotTheLabelledVideoError(
                        f"{path}: its frames are named in another pattern than the frames this project labelled "
                        "there. Their labels are kept; put the frames back under their old names to go on"
                    )
                db.execute(
                    "UPDATE videos SET frame_count = ?, size_bytes = ? WHERE id = ?", (len(keys), size_bytes, video.id)
                )
                video_id = video.id
            else:
                # A folder has no clock: pts is the number in a frame's name, counted in a stand-in time base of
                # 1/1, and no frame rate is stated (NULL: the timeline plays it at its default rate).
                video_id = int(
                    db.execute(
                        "INSERT INTO videos (path, sha256, frame_count, width, height, size_bytes, time_base, "
                        "average_fps, variable_frame_rate, added_at) VALUES (?, ?, ?, ?, ?, ?, '1/1', NULL, 0, ?)",
                        (path, sha256, len(keys), width, height, size_bytes, time.time()),
                    ).lastrowid
                    or 0
                )
            self._ensure_images(db, keys)
            # Frame rows hold only a frame's place and number (objects point to the images row): re-laid whole.
            db.execute("DELETE FROM frames WHERE video_id = ?", (video_id,))
            db.executemany(
                "INSERT INTO frames (key, video_id, frame_index, pts) VALUES (?, ?, ?, ?)",
                [(key, video_id, i, number) for i, (key, number) in enumerate(zip(keys, numbers))],
            )
            row = db.execute(f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE id = ?", (video_id,)).fetchone()
        return _video(row)

    def record_video(self, path: str, index: FrameIndex) -> tuple[VideoRecord, list[str]]:
        """Record a video file of the folder from its index (identity, displayed size, frame rate, every frame's
        time): the one way the app, imports and tests record one. Returns its record and its frame keys."""
        rate, (width, height) = index.average_rate, index.display_size
        record = self.add_video(
            path,
            sha256=index.sha256,
            frame_count=len(index),
            width=width,
            height=height,
            size_bytes=index.size,
            time_base=f"{index.time_base[0]}/{index.time_base[1]}",
            average_fps=None if rate is None else f"{rate.numerator}/{rate.denominator}",
            variable_frame_rate=index.variable_frame_rate,
        )
        return record, self.add_frames(record.id, dict(enumerate(index.pts)))

    def record_sequence_folder(self, reader: FrameFolderReader) -> VideoRecord:
        """Record the folder of numbered frames `reader` lists (its frames as the folder holds them now, its
        size as read): the one way the app and imports record one."""
        sequence = reader.sequence
        width, height = reader.size
        return self.record_frame_folder(
            sequence.path,
            sequence.keys,
            sequence.numbers,
            sha256=sequence.sha256,
            width=width,
            height=height,
            size_bytes=reader.size_bytes,
        )

    def videos(self) -> list[VideoRecord]:
        """Every video of the project, by path."""
        return [_video(row) for row in self._read(f"SELECT {_VIDEO_COLUMNS} FROM videos ORDER BY path")]

    def video(self, path: str) -> VideoRecord | None:
        rows = self._read(f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE path = ?", (path,))
        return _video(rows[0]) if rows else None

    # ---------------------------------------------------------------- frames
    def add_frames(self, video_id: int, pts_by_index: Mapping[int, int]) -> list[str]:
        """Record frames of a video (index -> presentation time), each unlabeled until labelled; returns their keys
        in index order. A frame recorded before keeps its labels; one recorded with another time is refused
        (ProjectStoreError): the video's frame numbering would have drifted."""
        with self._write() as db:
            video = self._video_by_id(db, video_id)
            for index, pts in pts_by_index.items():
                _check_whole(f"{video.path}: frame index", index, 0)
                if index >= video.frame_count:
                    raise ValueError(f"{video.path}: frame {index} is past its last frame ({video.frame_count - 1})")
                if isinstance(pts, bool) or not isinstance(pts, int):
                    raise ValueError(f"{video.path}: frame {index}: time {pts!r} is not a whole number")
            keys = {index: frame_key(video.path, index) for index in pts_by_index}
            stored = dict(db.execute("SELECT frame_index, pts FROM frames WHERE video_id = ?", (video_id,)).fetchall())
            drifted = sorted(i for i, pts in pts_by_index.items() if i in stored and stored[i] != pts)
            if drifted:
                i = drifted[0]
                raise ProjectStoreError(
                    f"{video.path}: frame {i} was recorded at time {stored[i]} and is now read at "
                    f"{pts_by_index[i]} ({_differ(len(drifted))}); the file's frames no longer match the "
                    "project's, nothing was changed"
                )
            new = sorted(i for i in pts_by_index if i not in stored)
            self._ensure_images(db, (keys[i] for i in new))
            db.executemany(
                "INSERT INTO frames (key, video_id, frame_index, pts) VALUES (?, ?, ?, ?)",
                [(keys[i], video_id, i, pts_by_index[i]) for i in new],
            )
        return [keys[i] for i in sorted(keys)]

    def frames(self, video_id: int) -> list[FrameRecord]:
        """The video's recorded frames in index order, with their status."""
        rows = self._read(
            "SELECT f.key, f.video_id, f.frame_index, f.pts, i.status FROM frames f JOIN images i ON i.path = f.key "
            "WHERE f.video_id = ? ORDER BY f.frame_index",
            (video_id,),
        )
        return [self._frame(row) for row in rows]

    def frame(self, key: str) -> FrameRecord | None:
        rows = self._read(
            "SELECT f.key, f.video_id, f.frame_index, f.pts, i.status FROM frames f JOIN images i ON i.path = f.key "
            "WHERE f.key = ?",
            (key,),
        )
        return self._frame(rows[0]) if rows else None

    def set_frame_status(self, key: str, status: ImageStatus) -> None:
        """Set a recorded frame's status (reviewed is verified)."""
        with self._write() as db:
            self._require_frame(db, key)
            self._set_statuses(db, [(key, status)])

    def frame_objects(self, key: str) -> list[AnnotatedObject]:
        """A recorded frame's objects (with their track ids); DamagedRowError when one cannot be read."""
        if self.frame(key) is None:
            raise TrackConflictError(f"{key} is not a frame of this project")
        return self.objects(key)

    def replace_auto_frame_objects(
        self, key: str, objects: Iterable[AnnotatedObject], *, label_list_key: str | None = None
    ) -> AutoLabelOutcome:
        """A model run's objects for one frame: `replace_auto_objects` (a reviewed frame is left alone, a person's
        objects stay), and a new object of a track that a person drew or corrected on this frame is dropped, so
        a run never puts a second object of that track beside the person's. A tracked object takes its track's
        class (a person's re-class survives runs). Every track must be a track of the frame's video."""
        objects = list(objects)
        with self._write() as db:
            video_id = self._require_frame(db, key)
            tracks = {o.track_id for o in objects if o.track_id is not None}
            labels = self._track_labels(db, tracks, video_id, key)
            person_tracks = {
                r[0]
                for r in db.execute(
                    "SELECT track_id FROM objects WHERE image_path = ? AND track_id IS NOT NULL AND provenance != ?",
                    (key, Provenance.AUTO.value),
                )
            }
            seen: set[int] = set()
            kept = []
            for obj in objects:
                if obj.track_id is not None:
                    if obj.track_id in person_tracks or obj.track_id in seen:
                        continue
                    seen.add(obj.track_id)
                    obj = obj.with_changes(label=labels[obj.track_id])
                kept.append(obj)
            return self._replace_auto_objects(db, key, kept, None, label_list_key)

    # ---------------------------------------------------------------- tracks: reading
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

    # ---------------------------------------------------------------- tracks: edits
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
        _check_whole("frame index", frame_index, 0)
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
            _check_whole("frame index", from_frame, 0)
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
            _check_whole("frame index", index, 0)
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

    def _video_by_id(self, db: sqlite3.Connection, video_id: int) -> VideoRecord:
        row = db.execute(f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE id = ?", (video_id,)).fetchone()
        if row is None:
            raise TrackConflictError(f"video {video_id} is not a video of this project")
        return _video(row)

    @staticmethod
    def _require_track(db: sqlite3.Connection, track_id: int) -> TrackRecord:
        row = db.execute("SELECT id, video_id, label, version FROM tracks WHERE id = ?", (track_id,)).fetchone()
        if row is None:
            raise TrackConflictError(f"track {track_id} is not a track of this project (deleted since?)")
        return TrackRecord(*row)

    @staticmethod
    def _require_frame(db: sqlite3.Connection, key: str) -> int:
        """The video id of a recorded frame; TrackConflictError when `key` is not one."""
        row = db.execute("SELECT video_id FROM frames WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise TrackConflictError(f"{key} is not a frame of this project")
        return int(row[0])

    @staticmethod
    def _track_labels(db: sqlite3.Connection, track_ids: Iterable[int], video_id: int, key: str) -> dict[int, str]:
        """Each track's class; TrackConflictError when one is missing or of another video."""
        labels = {}
        for track_id in track_ids:
            row = db.execute("SELECT video_id, label FROM tracks WHERE id = ?", (track_id,)).fetchone()
            if row is None or row[0] != video_id:
                raise TrackConflictError(f"{key}: track {track_id} is not a track of this frame's video")
            labels[track_id] = str(row[1])
        return labels

    def _status_of(self, db: sqlite3.Connection, key: str) -> ImageStatus:
        row = db.execute("SELECT status FROM images WHERE path = ?", (key,)).fetchone()
        return ImageStatus.UNLABELED if row is None else _status_from(row[0], key, self.db_path)

    @staticmethod
    def _frame(row: tuple[Any, ...]) -> FrameRecord:
        """One frame's record; an unknown status marks that frame damaged, not the video (as images are)."""
        key, video_id, index, pts, status = row
        known = _STATUSES.get(status)  # a dict look-up: a long video's timeline reads tens of thousands
        if known is None:
            damaged = f"unknown status {status!r} in the project database"
            return FrameRecord(key, video_id, index, pts, ImageStatus.UNLABELED, damaged)
        return FrameRecord(key, video_id, index, pts, known)


def _video(row: tuple[Any, ...]) -> VideoRecord:
    video_id, path, sha256, frame_count, width, height, size_bytes, time_base, average_fps, vfr = row
    return VideoRecord(
        video_id, path, sha256, frame_count, width, height, size_bytes, time_base, average_fps, bool(vfr)
    )


def _same_object(shape: Shape, others: Sequence[Shape], size: tuple[int, int]) -> bool:
    """Whether `shape` is the same object (geometry.overlap) as one of `others`, rasterised in an image of `size`."""
    if not others:
        return False
    iou = pairwise_iou(BoxMasks.from_shapes([shape], size), BoxMasks.from_shapes(list(others), size))[0]
    return any(is_same_object(float(v)) for v in iou)


def _differ(count: int) -> str:
    return "1 frame differs" if count == 1 else f"{count} frames differ"


def _check_relative_path(path: str) -> None:
    """A video path as the store keeps paths: relative to the folder, '/'-separated, inside it."""
    parts = path.split("/") if isinstance(path, str) else []
    if not parts or path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"video path {path!r} is not a '/'-separated path inside the folder")


def _check_whole(what: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{what} {value!r} is not a whole number >= {least}")


def _check_label(label: str) -> str:
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"class {label!r} is not a name")
    return label.strip()
