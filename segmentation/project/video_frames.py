"""Videos and frame folders in the project store, and their frames (docs/adr/0006-video-frames-in-the-store.md).

A frame is an image of the store under its frame key ("clip.mp4#000123"), so its objects, status and edits
are an image's; this records what a video has beyond that: the video's identity and each frame's place in it.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.media.frame_folder import FrameFolderReader, is_frame_folder_path
from protolabel.segmentation.media.frame_index import FrameIndex
from protolabel.segmentation.project.records import AnnotatedObject, FrameRecord, ImageStatus, VideoRecord
from protolabel.segmentation.project.store import (
    AutoLabelOutcome,
    ProjectStore,
    ProjectStoreError,
    TrackConflictError,
)

FRAME_KEY_DIGITS = 6  # at least: 1,000,000 frames is over 9 hours at 30 fps; longer videos get longer keys
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FRACTION = re.compile(r"[1-9][0-9]*/[1-9][0-9]*")
_VIDEO_COLUMNS = "id, path, sha256, frame_count, width, height, size_bytes, time_base, average_fps, variable_frame_rate"
_STATUSES = {s.value: s for s in ImageStatus}


class NotTheLabelledVideoError(ProjectStoreError):
    """The video file at a path is not the one the project labelled (its SHA-256 differs): nothing is changed."""


def frame_key(video_path: str, index: int) -> str:
    """The store path of frame `index` (0-based) of the video at `video_path`: "clip.mp4#000123"."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(f"frame index {index!r} is not a whole number >= 0")
    return f"{video_path}#{index:0{FRAME_KEY_DIGITS}d}"


class VideoFrames(ProjectStore):
    """The store's videos and frame folders and their frames: the part of VideoStore that records them."""

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
            check_whole(f"{path}: {name}", value, least)
        if frame_count == 0:
            raise ValueError(f"{path} has no video frames (frame count 0): there is nothing to label in it")
        check_whole(f"{path}: size in bytes", size_bytes, 0)
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
            check_whole(f"{path}: frame number", number, 0)
        if any(a >= b for a, b in zip(numbers, numbers[1:])):
            raise ValueError(f"{path}: frame numbers must be given in increasing order, each once")
        for name, value in (("width", width), ("height", height)):
            check_whole(f"{path}: {name}", value, 1)
        check_whole(f"{path}: size in bytes", size_bytes, 0)
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
                check_whole(f"{video.path}: frame index", index, 0)
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

    # ---------------------------------------------------------------- internals
    def _video_by_id(self, db: sqlite3.Connection, video_id: int) -> VideoRecord:
        row = db.execute(f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE id = ?", (video_id,)).fetchone()
        if row is None:
            raise TrackConflictError(f"video {video_id} is not a video of this project")
        return _video(row)

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


def _differ(count: int) -> str:
    return "1 frame differs" if count == 1 else f"{count} frames differ"


def _check_relative_path(path: str) -> None:
    """A video path as the store keeps paths: relative to the folder, '/'-separated, inside it."""
    parts = path.split("/") if isinstance(path, str) else []
    if not parts or path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"video path {path!r} is not a '/'-separated path inside the folder")


def check_whole(what: str, value: object, least: int) -> None:
    """Refuse (ValueError naming `what`) a count or index given to the store that is not a whole number >= `least`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{what} {value!r} is not a whole number >= {least}")
