"""The project store: every annotation of a folder in FOLDER/.protolabel/project.db (SQLite, WAL).

Each edit is its own committed transaction, so a crash (even `kill -9`) loses at most the edit
that was in progress. One `ProjectStore` is one connection, used by one thread; a worker thread
opens its own store on the same folder (WAL lets readers and one writer work side by side).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from protolabel.segmentation.errors import first_line
from protolabel.segmentation.folders import PROJECT_DIR_NAME
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.project.labels import appended_labels
from protolabel.segmentation.project.records import (
    AnnotatedObject,
    ImageStatus,
    ImportedImage,
    StoredObject,
    attributes_from_json,
    attributes_to_json,
    shape_from_json,
    shape_to_json,
    shapes_to_json,
)
from protolabel.segmentation.project_files import ProjectFileError, check_project_file, project_dir

DB_NAME = "project.db"
DB_SIDE_FILES = ("-wal", "-shm", "-journal")  # SQLite's files next to project.db, opened by path as it is
# 2: objects.version (edits are compare-and-set) and deleted_objects (who deleted what).
# 3: videos, their frames (each frame an `images` row under a frame key) and tracks; objects.track_id;
#    objects.attributes and image_tags (docs/formats.md, "Attributes and tags").
SCHEMA_VERSION = 3
REQUIRED_TABLES = frozenset({"meta", "images", "objects"})
DELETION_RECORD_S = 30 * 24 * 3600  # how long "this store deleted object N" is kept for its undo
# Most values one statement binds: SQLite builds before 3.32 cap a statement at 999 parameters.
MAX_PARAMETERS = 500
# Images per import_images chunk (<= MAX_PARAMETERS): measured fastest; at 500 the ~10,000 shapes' texts and rows
# of one chunk fall out of the CPU caches, at 50 the per-chunk statements start to count.
IMPORT_CHUNK_IMAGES = 200
_INSERT_NEW_OBJECT = (
    "INSERT INTO objects (image_path, label, provenance, score, shape, updated_at, track_id, attributes, version) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)"
)

# Image-level tags (schema 3): a CVAT <tag>, a labelme flag.
_IMAGE_TAGS_TABLE = (
    "CREATE TABLE IF NOT EXISTS image_tags (image_path TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (image_path, tag))"
)

# Schema 3 (docs/adr/0006-video-frames-in-the-store.md): a frame is an `images` row whose path is its frame
# key ("clip.mp4#000123"), so objects, status, compare-and-set and undo work on frames as on images; `frames`
# records the frame's identity in its video.
_VIDEO_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS videos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,          -- relative to the folder, '/'-separated
    sha256 TEXT NOT NULL,               -- of the file's bytes: a frame's identity names it
    frame_count INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    time_base TEXT NOT NULL,            -- pts unit in seconds, as a fraction "1/15360"
    average_fps TEXT,                   -- frames per second as a fraction, NULL when the file does not say
    variable_frame_rate INTEGER NOT NULL DEFAULT 0,
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS frames (
    key TEXT PRIMARY KEY REFERENCES images (path),  -- the frame's `images` row: its objects and status
    video_id INTEGER NOT NULL REFERENCES videos (id),
    frame_index INTEGER NOT NULL,       -- 0-based, in presentation order
    pts INTEGER NOT NULL,               -- presentation time in the video's time_base
    UNIQUE (video_id, frame_index)
);
CREATE TABLE IF NOT EXISTS tracks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: an undo re-creates a deleted track under its id
    video_id INTEGER NOT NULL REFERENCES videos (id),
    label TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    version INTEGER NOT NULL DEFAULT 1     -- compare-and-set, as objects
);
CREATE TABLE IF NOT EXISTS deleted_tracks (  -- who deleted a track: only that store may undo the delete
    id INTEGER PRIMARY KEY,
    session TEXT NOT NULL,
    deleted_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_by_track ON objects (track_id);
"""
    + _IMAGE_TAGS_TABLE
    + """;
-- A track has at most one object on a frame (the store checks first and says so in words).
CREATE UNIQUE INDEX IF NOT EXISTS one_object_per_track_and_frame ON objects (image_path, track_id)
    WHERE track_id IS NOT NULL;
"""
)

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    path TEXT PRIMARY KEY,              -- relative to the folder, '/'-separated
    status TEXT NOT NULL,
    width INTEGER,
    height INTEGER,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: a deleted id is never reused (undo re-inserts it)
    image_path TEXT NOT NULL,
    label TEXT NOT NULL,
    provenance TEXT NOT NULL,
    score REAL,
    shape TEXT NOT NULL,
    updated_at REAL NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,    -- +1 on every write: an edit names the version it read
    track_id INTEGER REFERENCES tracks (id),  -- a video frame's object: the track it belongs to (schema 3)
    attributes TEXT                        -- JSON object name -> value, NULL: none (schema 3)
);
CREATE INDEX IF NOT EXISTS objects_by_image ON objects (image_path);
CREATE TABLE IF NOT EXISTS deleted_objects (  -- who deleted an object: only that store may undo the delete
    id INTEGER PRIMARY KEY,
    session TEXT NOT NULL,
    deleted_at REAL NOT NULL
);
"""
    + _VIDEO_SCHEMA
)

# What a database of each older version lacks in its existing tables; the new tables come from _SCHEMA.
_MIGRATIONS = {
    # Version 1 gains the version column (every object starts at 1) and the deletion record.
    1: ("ALTER TABLE objects ADD COLUMN version INTEGER NOT NULL DEFAULT 1",),
    # Version 2 gains the track of an object (NULL: an image's object), its attributes, the video tables and
    # the image tags.
    2: (
        "ALTER TABLE objects ADD COLUMN track_id INTEGER REFERENCES tracks (id)",
        "ALTER TABLE objects ADD COLUMN attributes TEXT",
    ),
}
# Added within a schema version, made with the tables and whenever a database opens: they change no data the
# older versions read, so the version stays and older Protolabel versions still open the file.
_ADDED_WITHIN_VERSION = (
    # The Classes dock's counts (label_counts) read it instead of every row: 84 -> 17 ms at 200,000 objects
    # (benchmarks/class_counts.py).
    "CREATE INDEX IF NOT EXISTS objects_by_label ON objects (label)",
    # Auto objects a person deleted (Delete, Reject, erased away), so a later model run on the image does not
    # bring them back; an undo of the delete forgets the rejection.
    "CREATE TABLE IF NOT EXISTS rejected_objects (id INTEGER PRIMARY KEY, image_path TEXT NOT NULL, "
    "shape TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS rejected_by_image ON rejected_objects (image_path)",
)
LABEL_COUNTS_SQL = "SELECT label, COUNT(*) FROM objects GROUP BY label"
# Image-level reads leave video frames out (their `images` rows are frame keys, not files): a frame is read
# through the video store. A frame folder's frames ('walk/' rows) are image files and stay in: export, import
# and the image list see them as before the folder became a sequence (docs/adr/0006).
_NOT_A_FRAME = "NOT IN (SELECT f.key FROM frames f JOIN videos v ON v.id = f.video_id WHERE v.path NOT LIKE '%/')"


class ProjectStoreError(Exception):
    """The project database cannot be used; the message says where and why, in plain words."""


class ProjectReadOnlyError(ProjectStoreError):
    """The folder (or its database) cannot be written."""


class UnsafeProjectError(ProjectStoreError):
    """.protolabel/ or a file in it is a link, not what it should be, or another user's: not opened."""


class ProjectLockedError(ProjectStoreError):
    """Another program holds the database lock for longer than we wait."""


class DamagedProjectError(ProjectStoreError):
    """project.db exists but is not a usable Protolabel database (empty, tables missing, not SQLite).

    Nothing is changed: the caller may ask the user and then call `set_aside_damaged` to start over.
    """


@dataclass(frozen=True)
class ObjectsOverview:
    """What `ProjectStore.objects_overview` found: per image path its object count, the images with an
    object that is not auto, and the images with a damaged object."""

    counts: dict[str, int]
    not_auto: frozenset[str]
    damaged: frozenset[str]

    def of(self, path: str) -> ImageOverview:
        """What the overview found for one image."""
        return ImageOverview(self.counts.get(path, 0), path in self.not_auto, path in self.damaged)


@dataclass(frozen=True, slots=True)
class ImageState:
    """One image's status and verified objects as stored (`ProjectStore.image_states`)."""

    status: ImageStatus  # unlabeled when the image has no row, or when its stored status is damaged
    verified: int  # its objects a person accepted (provenance verified)
    damaged: str | None = None  # why its stored status cannot be read; None when it can


@dataclass(frozen=True, slots=True)
class ImageOverview:
    """One image's line of `ObjectsOverview`."""

    count: int  # objects stored for the image
    not_auto: bool  # one of them is not auto: a person worked on the image
    damaged: bool  # one of them cannot be read


class DamagedRowError(ProjectStoreError):
    """One image's stored annotations cannot be read (bad JSON, unknown status or provenance, bad pages).

    The rest of the project is usable; the message names the image and what is wrong.
    """


class StaleEditError(ProjectStoreError):
    """An edit was refused: the object changed or was deleted (by another window or program) since it was read."""


class TrackConflictError(ProjectStoreError):
    """A write names a track or frame that is not there, or would give a track two objects on one frame."""


@dataclass(frozen=True)
class AutoLabelOutcome:
    """What an auto-label run did to one image."""

    status: ImageStatus
    added: int  # new auto objects written
    replaced: int  # old auto objects removed
    kept: int  # edited/verified objects left untouched
    skipped: bool = False  # the image is verified: nothing was written
    object_ids: tuple[int, ...] = ()  # ids of the new auto objects, in the order they were given
    listed: tuple[str, ...] = ()  # labels this run added to the class list (label_list_key), in list order


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    """What `ProjectStore.import_images` did."""

    kept: list[str]  # paths left untouched (a person worked on them), in input order
    replaced: int  # auto objects the import replaced


@dataclass(frozen=True, slots=True)
class AttributeRow:
    """An object's attributes as stored (`ProjectStore.attribute_rows`), with what a compare-and-set rewrite
    of them needs: its image, label (for messages) and version."""

    id: int
    image_path: str
    label: str
    version: int
    attributes_json: str


@dataclass(frozen=True, slots=True)
class TakenClass:
    """What `ProjectStore.take_class` changed: the objects as they were, and each one's stored version now."""

    objects: tuple[StoredObject, ...]
    versions: dict[int, int]


def _import_chunks(images: Iterable[ImportedImage]) -> Iterator[list[ImportedImage]]:
    """The images in input order, in chunks of at most IMPORT_CHUNK_IMAGES distinct paths.

    A path given again starts a new chunk, so it sees what its first occurrence wrote, as it would
    one image at a time (then usually: worked on, left untouched)."""
    chunk: list[ImportedImage] = []
    paths: set[str] = set()
    for image in images:
        if len(chunk) == IMPORT_CHUNK_IMAGES or image.path in paths:
            yield chunk
            chunk, paths = [], set()
        chunk.append(image)
        paths.add(image.path)
    if chunk:
        yield chunk


def _imported_status(objects: Sequence[AnnotatedObject]) -> ImageStatus:
    """An imported image's status: verified when all objects are, edited when any is not auto, else auto-labeled."""
    provenances = {Provenance(p) for p in {o.provenance for o in objects}}
    if provenances == {Provenance.VERIFIED}:
        return ImageStatus.VERIFIED
    if provenances - {Provenance.AUTO}:
        return ImageStatus.EDITED
    return ImageStatus.AUTO_LABELED


def project_db_path(folder: str | Path) -> Path:
    return Path(folder) / PROJECT_DIR_NAME / DB_NAME


class ProjectStore:
    """Annotations, per-image status and project settings of one image folder."""

    def __init__(self, connection: sqlite3.Connection, folder: Path) -> None:
        self._db = connection
        self.folder = folder
        self.db_path = project_db_path(folder)
        # Names this connection in deleted_objects: only the store that deleted an object may re-create it (undo).
        self.session = uuid.uuid4().hex

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(cls, folder: str | Path, *, timeout: float = 3.0) -> Self:
        """Open (creating when needed) the store of `folder`; clear errors for read-only or locked folders."""
        folder = Path(folder).resolve()
        if not folder.is_dir():
            raise ProjectStoreError(f"{folder}: no such folder")
        db_path = project_db_path(folder)
        try:
            project_dir(folder, create=True)
        except ProjectFileError as exc:
            raise UnsafeProjectError(str(exc)) from None
        except OSError as exc:
            raise ProjectReadOnlyError(
                f"Cannot create {db_path.parent}: {exc.strerror or exc}. Protolabel keeps its annotations in "
                "that folder; open a copy of the images in a folder you can write to."
            ) from None
        try:
            existing = _checked_database_files(db_path)
        except ProjectFileError as exc:
            raise UnsafeProjectError(str(exc)) from None
        except OSError as exc:
            raise ProjectReadOnlyError(f"Cannot read {db_path}: {exc.strerror or exc}") from None
        if existing is not None and existing.st_size == 0:
            raise DamagedProjectError(
                f"{db_path} is damaged: the file is empty (0 bytes), so no annotations can be read from it"
            )
        if existing is None:
            _create_database(db_path)
        try:
            opened = _checked_database_files(db_path)
            connection = sqlite3.connect(db_path, timeout=timeout, isolation_level=None, check_same_thread=True)
        except ProjectFileError as exc:
            raise UnsafeProjectError(str(exc)) from None
        except sqlite3.Error as exc:
            raise _translate(exc, db_path) from None
        store = cls(connection, folder)
        try:
            store._initialise()
            _check_same_database(db_path, opened)
        except BaseException:
            connection.close()
            raise
        return store

    def _initialise(self) -> None:
        try:
            # Look before writing anything: a damaged file is set aside as it was found.
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if version > SCHEMA_VERSION:
                raise ProjectStoreError(
                    f"{self.db_path} was written by a newer Protolabel (schema {version}, this one knows "
                    f"{SCHEMA_VERSION}); update Protolabel to open it"
                )
            # Every project.db is created complete (`_create_database`), so an empty schema is damage.
            if version == 0 or not REQUIRED_TABLES <= tables:
                missing = ", ".join(sorted(REQUIRED_TABLES - tables)) or "none"
                raise DamagedProjectError(
                    f"{self.db_path} is damaged: it is not a complete Protolabel database (schema {version}, "
                    f"missing tables: {missing})"
                )
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed edit survives the app being killed; only a power cut
            # may lose the last few commits. FULL would fsync on every vertex drag.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            if version < SCHEMA_VERSION:
                # BEGIN IMMEDIATE takes the write lock, so two programs cannot migrate at once.
                with self._write() as db:
                    found = db.execute("PRAGMA user_version").fetchone()[0]  # another program may have migrated
                    if found > SCHEMA_VERSION:
                        raise ProjectStoreError(
                            f"{self.db_path} was just migrated by a newer Protolabel (schema {found}); update "
                            "Protolabel to open it"
                        )
                    for older in range(found, SCHEMA_VERSION):
                        for statement in _MIGRATIONS[older]:
                            db.execute(statement)
                    _create_tables(db)
            else:
                # Take the write lock once now, so a read-only or locked database fails at open; old
                # deletion records go (undo history lives only as long as a window stays open).
                with self._write() as db:
                    db.execute("DELETE FROM deleted_objects WHERE deleted_at < ?", (time.time() - DELETION_RECORD_S,))
                    for statement in _ADDED_WITHIN_VERSION:
                        db.execute(statement)
                    # Schema 3 gained attributes and tags before its release: a project made by a build from
                    # before then gets them.
                    db.execute(_IMAGE_TAGS_TABLE)
                    columns = {row[1] for row in db.execute("PRAGMA table_info(objects)")}
                    if "attributes" not in columns:
                        db.execute("ALTER TABLE objects ADD COLUMN attributes TEXT")
        except sqlite3.Error as exc:
            raise _translate(exc, self.db_path) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction; any failure rolls it back and surfaces as a ProjectStoreError."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _translate(exc, self.db_path) from None
        try:
            yield self._db
        except BaseException as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise _translate(exc, self.db_path) from None
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise _translate(exc, self.db_path) from None

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        try:
            return self._db.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise _translate(exc, self.db_path) from None

    # ---------------------------------------------------------------- images
    def statuses(self) -> dict[str, ImageStatus]:
        """Status of every image that is not unlabeled (the rest are unlabeled); see `damaged_statuses`."""
        rows = self._read(
            f"SELECT path, status FROM images WHERE status != ? AND path {_NOT_A_FRAME}", (ImageStatus.UNLABELED.value,)
        )
        known = {s.value for s in ImageStatus}
        return {path: ImageStatus(status) for path, status in rows if status in known}

    def damaged_statuses(self) -> dict[str, str]:
        """Images whose stored status is not one Protolabel knows: name -> what is wrong."""
        known = [s.value for s in ImageStatus]
        marks = ",".join("?" * len(known))
        rows = self._read(
            f"SELECT path, status FROM images WHERE status NOT IN ({marks}) AND path {_NOT_A_FRAME}", known
        )
        return {str(path): f"unknown status {status!r} in the project database" for path, status in rows}

    def status(self, path: str) -> ImageStatus:
        rows = self._read_image(path, "SELECT status FROM images WHERE path = ?", (path,))
        return _status_from(rows[0][0], path, self.db_path) if rows else ImageStatus.UNLABELED

    def image_size(self, path: str) -> tuple[int, int] | None:
        """(height, width) recorded for the image, if any (None when the stored size is not two positive integers)."""
        rows = self._read_image(path, "SELECT height, width FROM images WHERE path = ?", (path,))
        if not rows or not all(isinstance(v, int) and v > 0 for v in rows[0]):
            return None
        return int(rows[0][0]), int(rows[0][1])

    def tags(self, path: str) -> tuple[str, ...]:
        """The image's tags, sorted."""
        return tuple(
            str(r[0]) for r in self._read("SELECT tag FROM image_tags WHERE image_path = ? ORDER BY tag", (path,))
        )

    def tags_by_image(self) -> dict[str, tuple[str, ...]]:
        """Every tagged image's tags, sorted: what a filter by tag and an export read."""
        found: dict[str, list[str]] = {}
        for path, tag in self._read("SELECT image_path, tag FROM image_tags ORDER BY image_path, tag"):
            found.setdefault(str(path), []).append(str(tag))
        return {path: tuple(tags) for path, tags in found.items()}

    def set_tags(self, path: str, tags: Iterable[str]) -> None:
        """Make `tags` the image's tags; ValueError (nothing written) for a tag that is not a name."""
        tags = _checked_tags(tags, path)
        with self._write() as db:
            self._ensure_images(db, (path,))
            db.execute("DELETE FROM image_tags WHERE image_path = ?", (path,))
            db.executemany("INSERT INTO image_tags (image_path, tag) VALUES (?, ?)", [(path, t) for t in tags])

    def set_image_size(self, path: str, height: int, width: int) -> None:
        with self._write() as db:
            self._set_sizes(db, [(path, (height, width))])

    def set_status(self, path: str, status: ImageStatus) -> None:
        with self._write() as db:
            self._set_statuses(db, [(path, status)])

    @staticmethod
    def _ensure_images(db: sqlite3.Connection, paths: Iterable[str]) -> None:
        """Give each image a row (unlabeled) unless it has one."""
        now = time.time()
        db.executemany(
            "INSERT OR IGNORE INTO images (path, status, updated_at) VALUES (?, ?, ?)",
            [(path, ImageStatus.UNLABELED.value, now) for path in paths],
        )

    def _set_sizes(self, db: sqlite3.Connection, sizes: Sequence[tuple[str, tuple[int, int]]]) -> None:
        """Record each image's (height, width)."""
        self._ensure_images(db, (path for path, _ in sizes))
        db.executemany(
            "UPDATE images SET height = ?, width = ? WHERE path = ?",
            [(int(height), int(width), path) for path, (height, width) in sizes],
        )

    def _set_statuses(self, db: sqlite3.Connection, statuses: Sequence[tuple[str, ImageStatus]]) -> None:
        """Set each image's status (creating its row when needed)."""
        now = time.time()
        rows = [(ImageStatus(status).value, now, path) for path, status in statuses]
        self._ensure_images(db, (path for _, _, path in rows))
        db.executemany("UPDATE images SET status = ?, updated_at = ? WHERE path = ?", rows)

    def _read_image(self, path: str, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        """`_read` for one image's rows: a damaged page becomes that image's DamagedRowError."""
        try:
            return self._read(sql, params)
        except DamagedProjectError as exc:
            raise DamagedRowError(f"{path}: its annotations in {self.db_path} cannot be read ({exc})") from None

    # ---------------------------------------------------------------- objects
    def objects(self, path: str) -> list[AnnotatedObject]:
        """The image's objects; DamagedRowError (naming the image and the row) when one cannot be read."""
        rows = self._read_image(
            path,
            "SELECT id, label, provenance, score, shape, version, track_id, attributes FROM objects "
            "WHERE image_path = ? ORDER BY id",
            (path,),
        )
        return [_object_from_row(row, path, self.db_path) for row in rows]

    def object_count(self, path: str) -> int:
        return int(self._read_image(path, "SELECT COUNT(*) FROM objects WHERE image_path = ?", (path,))[0][0])

    def objects_overview(self) -> ObjectsOverview:
        """Per image, how many objects it has, whether one is not auto, and whether one is damaged, without
        reading every object (an import plan over 10,000 labelled images would parse 200,000 shapes).

        A row is screened in SQL (text label, known provenance, numeric score, integer version, shape that
        is JSON); the rows that fail the screen are read as `objects` reads them, and the image of one that
        fails that too is damaged. The screen does not parse shapes: a shape that is JSON of another
        structure passes it (`objects` still refuses it when the image is opened). A page that cannot be
        read fails the whole overview (DamagedProjectError): fall back to reading image by image."""
        counts = {
            str(path): int(n) for path, n in self._read("SELECT image_path, COUNT(*) FROM objects GROUP BY image_path")
        }
        not_auto = {
            str(path)
            for (path,) in self._read(
                "SELECT DISTINCT image_path FROM objects WHERE provenance IS NOT ?", (Provenance.AUTO.value,)
            )
        }
        provenances = [p.value for p in Provenance]
        suspects = self._read(
            "SELECT id, label, provenance, score, shape, version, track_id, attributes, image_path FROM objects "
            "WHERE NOT coalesce(("
            "typeof(label) = 'text' AND trim(label, ' ' || char(9, 10, 11, 12, 13)) != '' "
            f"AND provenance IN ({','.join('?' * len(provenances))}) "
            "AND (score IS NULL OR (typeof(score) IN ('integer', 'real') AND abs(score) <= 1.7976931348623157e308)) "
            "AND typeof(version) = 'integer' AND typeof(track_id) IN ('integer', 'null') "
            "AND typeof(shape) = 'text' AND json_valid(shape) "
            "AND (attributes IS NULL OR (typeof(attributes) = 'text' "
            "AND CASE WHEN json_valid(attributes) THEN json_type(attributes) = 'object' ELSE 0 END))), 0)",
            provenances,
        )
        damaged = set()
        for row in suspects:
            try:
                _object_from_row(row[:8], str(row[8]), self.db_path)
            except DamagedRowError:
                damaged.add(str(row[8]))
        return ObjectsOverview(counts, frozenset(not_auto), frozenset(damaged))

    def write_change(
        self,
        path: str,
        *,
        removed_ids: Iterable[int] = (),
        removed: Iterable[AnnotatedObject] = (),
        saved: Iterable[AnnotatedObject] = (),
        status: ImageStatus | None = None,
        reject: bool = False,
    ) -> list[AnnotatedObject]:
        """Delete, insert or update objects of one image and set its status, in one transaction.

        `reject`: a person deleted the `removed` objects as wrong; the auto ones among them are remembered
        (`rejected_shapes`) so a later model run on the image does not bring them back. Saving an object
        again (the undo of that delete) forgets it.

        Edits are compare-and-set: an object given with a `version` (removed or saved) must still be
        stored at that version, else the whole change is refused with StaleEditError and nothing is
        written. Objects without an id get a new one. An object with an id that is no longer stored
        is re-created only when this store deleted it (undo of one's own delete); when another
        program deleted it, that delete stands. `removed_ids` deletes without a version check.
        Returns the saved objects with their ids and new versions.
        """
        result = []
        now = time.time()
        with self._write() as db:
            self._ensure_images(db, (path,))
            db.executemany(
                "DELETE FROM objects WHERE id = ? AND image_path = ?",
                [(int(object_id), path) for object_id in removed_ids],
            )
            self._record_deletes(db, removed_ids, now)
            for obj in removed:
                if obj.id is None:
                    continue
                condition, params = ("", ()) if obj.version is None else (" AND version = ?", (obj.version,))
                deleted = db.execute(
                    f"DELETE FROM objects WHERE id = ? AND image_path = ?{condition}", (int(obj.id), path, *params)
                ).rowcount
                if not deleted:
                    raise self._stale(db, int(obj.id), obj.label, obj.version, path, "delete")
                self._record_deletes(db, [int(obj.id)], now)
                if reject and Provenance(obj.provenance) is Provenance.AUTO:
                    db.execute(
                        "INSERT OR REPLACE INTO rejected_objects (id, image_path, shape) VALUES (?, ?, ?)",
                        (int(obj.id), path, shape_to_json(obj.shape)),
                    )
            saved = list(saved)
            db.executemany(
                "DELETE FROM rejected_objects WHERE id = ?", [(int(o.id),) for o in saved if o.id is not None]
            )  # stored again: no longer rejected
            for obj in saved:
                self._check_tracked(db, path, obj.id, obj.track_id, obj.label)
                values = (
                    path,
                    obj.label,
                    Provenance(obj.provenance).value,
                    obj.score,
                    shape_to_json(obj.shape),
                    now,
                    obj.track_id,
                    attributes_to_json(obj.attributes),
                )
                if obj.id is None:
                    cursor = db.execute(_INSERT_NEW_OBJECT, values)
                    result.append(obj.with_changes(id=int(cursor.lastrowid), version=1))
                    continue
                condition, params = ("", ()) if obj.version is None else (" AND version = ?", (obj.version,))
                cursor = db.execute(
                    "UPDATE objects SET image_path = ?, label = ?, provenance = ?, score = ?, shape = ?, "
                    "updated_at = ?, track_id = ?, attributes = ?, version = version + 1 "
                    f"WHERE id = ? AND image_path = ?{condition}",
                    (*values, int(obj.id), path, *params),
                )
                if cursor.rowcount:
                    version = db.execute("SELECT version FROM objects WHERE id = ?", (int(obj.id),)).fetchone()[0]
                    result.append(obj.with_changes(version=int(version)))
                    continue
                mine = db.execute(
                    "SELECT 1 FROM deleted_objects WHERE id = ? AND session = ?", (int(obj.id), self.session)
                ).fetchone()
                exists = db.execute("SELECT 1 FROM objects WHERE id = ?", (int(obj.id),)).fetchone()
                if exists or not mine:
                    raise self._stale(db, int(obj.id), obj.label, obj.version, path, "save")
                version = (obj.version or 0) + 1
                db.execute(
                    "INSERT INTO objects (id, image_path, label, provenance, score, shape, updated_at, track_id, "
                    "attributes, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (int(obj.id), *values, version),
                )
                db.execute("DELETE FROM deleted_objects WHERE id = ?", (int(obj.id),))
                result.append(obj.with_changes(version=version))
            if status is not None:
                self._set_statuses(db, [(path, status)])
        return result

    @staticmethod
    def _check_tracked(
        db: sqlite3.Connection, path: str, object_id: int | None, track_id: int | None, label: str
    ) -> None:
        """An object saved with a track: the track is one of the frame's video, has the object's class and no
        other object on the frame; TrackConflictError otherwise (the caller's transaction is rolled back)."""
        if track_id is None:
            return
        track = db.execute(
            "SELECT t.label FROM tracks t JOIN frames f ON f.video_id = t.video_id WHERE t.id = ? AND f.key = ?",
            (int(track_id), path),
        ).fetchone()
        if track is None:
            if not db.execute("SELECT 1 FROM frames WHERE key = ?", (path,)).fetchone():
                raise TrackConflictError(f"{path} is not a frame of a video: its objects cannot belong to a track")
            raise TrackConflictError(f"{path}: track {track_id} is not a track of this frame's video")
        if track[0] != label:
            raise TrackConflictError(
                f"{path}: an object of track {track_id} ({track[0]}) cannot be given the class {label!r} on one "
                "frame; change the class of the whole track, or take the object out of the track"
            )
        other = db.execute(
            "SELECT id FROM objects WHERE image_path = ? AND track_id = ? AND id IS NOT ?",
            (path, int(track_id), object_id),
        ).fetchone()
        if other:
            raise TrackConflictError(
                f"{path}: track {track_id} already has an object on this frame (object {other[0]}); a track has "
                "one object per frame"
            )

    def rejected_shapes(self, path: str) -> list[Shape]:
        """The shapes of the image's auto objects a person deleted as wrong (`write_change(reject=True)`),
        but for any stored again since (by a version that does not keep this record)."""
        rows = self._read(
            "SELECT shape FROM rejected_objects r WHERE image_path = ? AND NOT EXISTS "
            "(SELECT 1 FROM objects o WHERE o.id = r.id) ORDER BY id",
            (path,),
        )
        return [shape_from_json(row[0]) for row in rows]

    def _record_deletes(self, db: sqlite3.Connection, object_ids: Iterable[int], now: float) -> None:
        """Note that this store deleted these objects (only it may re-create them: undo)."""
        db.executemany(
            "INSERT OR REPLACE INTO deleted_objects (id, session, deleted_at) VALUES (?, ?, ?)",
            [(int(object_id), self.session, now) for object_id in object_ids],
        )

    def _stale(
        self, db: sqlite3.Connection, object_id: int, label: str, version: int | None, path: str, action: str
    ) -> StaleEditError:
        """Why an edit of an object is refused, in words (the transaction is rolled back by the caller)."""
        row = db.execute("SELECT version FROM objects WHERE id = ? AND image_path = ?", (object_id, path)).fetchone()
        what = f"object {object_id} ({label}) of {path}"
        if row is None:
            return StaleEditError(
                f"The {action} was refused: {what} was deleted by another window or program since "
                "it was read; its objects were reloaded from the project"
            )
        return StaleEditError(
            f"The {action} was refused: {what} was changed by another window or program since "
            f"it was read (version {version}, now {row[0]}); its objects were reloaded from the "
            "project"
        )

    def replace_auto_objects(
        self,
        path: str,
        objects: Iterable[AnnotatedObject],
        *,
        image_size: tuple[int, int] | None = None,
        label_list_key: str | None = None,
    ) -> AutoLabelOutcome:
        """Swap the image's auto objects for new ones; objects a person edited or verified stay.

        A verified image is left alone entirely. The status becomes auto-labeled, or stays edited
        when a person has already worked on the image. With `label_list_key` (the setting that lists
        the project's classes), labels of the new objects it lacks are appended to it, sorted, in the
        same transaction: the list is read there, so a class edit made meanwhile is never overwritten.
        """
        with self._write() as db:
            return self._replace_auto_objects(db, path, objects, image_size, label_list_key)

    def _replace_auto_objects(
        self,
        db: sqlite3.Connection,
        path: str,
        objects: Iterable[AnnotatedObject],
        image_size: tuple[int, int] | None,
        label_list_key: str | None,
    ) -> AutoLabelOutcome:
        """`replace_auto_objects` inside the caller's transaction."""
        objects = [o.with_changes(id=None, provenance=Provenance.AUTO) for o in objects]
        self._ensure_images(db, (path,))
        status = _status_from(
            db.execute("SELECT status FROM images WHERE path = ?", (path,)).fetchone()[0], path, self.db_path
        )
        if image_size is not None:
            self._set_sizes(db, [(path, image_size)])
        if status is ImageStatus.VERIFIED:
            kept = db.execute("SELECT COUNT(*) FROM objects WHERE image_path = ?", (path,)).fetchone()[0]
            return AutoLabelOutcome(status, added=0, replaced=0, kept=int(kept), skipped=True)
        replaced_ids = [
            r[0]
            for r in db.execute(
                "SELECT id FROM objects WHERE image_path = ? AND provenance = ?", (path, Provenance.AUTO.value)
            )
        ]
        db.executemany("DELETE FROM objects WHERE id = ?", [(object_id,) for object_id in replaced_ids])
        self._record_deletes(db, replaced_ids, time.time())
        replaced = len(replaced_ids)
        kept = db.execute("SELECT COUNT(*) FROM objects WHERE image_path = ?", (path,)).fetchone()[0]
        now = time.time()
        ids = tuple(
            int(
                db.execute(
                    _INSERT_NEW_OBJECT,
                    (
                        path,
                        o.label,
                        Provenance.AUTO.value,
                        o.score,
                        shape,
                        now,
                        o.track_id,
                        attributes_to_json(o.attributes),
                    ),
                ).lastrowid
            )
            for o, shape in zip(objects, shapes_to_json([o.shape for o in objects]))
        )
        new_status = ImageStatus.EDITED if status is ImageStatus.EDITED else ImageStatus.AUTO_LABELED
        self._set_statuses(db, [(path, new_status)])
        listed: tuple[str, ...] = ()
        if label_list_key is not None:
            known = self.setting(label_list_key, [])  # this connection: inside the transaction
            labels = appended_labels(known, (o.label for o in objects))
            listed = tuple(labels[len(known) :])
            if listed:
                self._write_settings(db, {label_list_key: labels})
        return AutoLabelOutcome(
            new_status, added=len(objects), replaced=int(replaced), kept=int(kept), object_ids=ids, listed=listed
        )

    def import_images(self, images: Iterable[ImportedImage], settings: dict[str, Any] | None = None) -> ImportOutcome:
        """Merge imported objects of many images in ONE transaction (all or nothing), with `settings`.

        Per image: its auto objects are replaced by its `objects`
        (provenance as given) unless a person worked on it (status edited or verified, or an object
        that is not auto): such an image is left untouched. The status follows the objects: verified
        when all are verified, edited when any is not auto, else auto-labeled.
        Returns the paths left untouched, in input order, and the number of auto objects replaced.
        New objects get ids in input order (images as given, each image's objects as given). The
        work goes in chunks of images, a fixed handful of statements each, not several per image.
        """
        kept: list[str] = []
        replaced = 0
        now = time.time()
        with self._write() as db:
            for chunk in _import_chunks(images):
                chunk_kept, chunk_replaced = self._import_chunk(db, chunk, now)
                kept.extend(chunk_kept)
                replaced += chunk_replaced
            self._write_settings(db, settings or {})
        return ImportOutcome(kept, replaced)

    def _import_chunk(
        self, db: sqlite3.Connection, chunk: Sequence[ImportedImage], now: float
    ) -> tuple[list[str], int]:
        """`import_images` of up to IMPORT_CHUNK_IMAGES distinct paths, in a fixed handful of statements:
        (paths left untouched, auto objects replaced)."""
        paths = [image.path for image in chunk]
        marks = ",".join("?" * len(paths))
        worked = {
            r[0]
            for r in db.execute(
                f"SELECT path FROM images WHERE path IN ({marks}) AND status IN (?, ?)",
                (*paths, ImageStatus.EDITED.value, ImageStatus.VERIFIED.value),
            )
        }
        worked.update(
            r[0]
            for r in db.execute(
                f"SELECT DISTINCT image_path FROM objects WHERE image_path IN ({marks}) AND provenance != ?",
                (*paths, Provenance.AUTO.value),
            )
        )
        merged = [image for image in chunk if image.path not in worked]
        if not merged:
            return paths, 0
        merged_paths = [image.path for image in merged]
        marks = ",".join("?" * len(merged_paths))
        old = [r[0] for r in db.execute(f"SELECT id FROM objects WHERE image_path IN ({marks})", merged_paths)]
        db.execute(f"DELETE FROM objects WHERE image_path IN ({marks})", merged_paths)
        self._record_deletes(db, old, now)
        self._set_sizes(db, [(image.path, image.size) for image in merged])
        objects = [(image.path, o) for image in merged for o in image.objects]
        shapes = shapes_to_json([o.shape for _, o in objects])
        # In input order: each image's new objects get ascending ids, in the order given.
        db.executemany(
            _INSERT_NEW_OBJECT,
            [
                (
                    path,
                    o.label,
                    Provenance(o.provenance).value,
                    o.score,
                    shape,
                    now,
                    o.track_id,
                    attributes_to_json(o.attributes),
                )
                for (path, o), shape in zip(objects, shapes)
            ],
        )
        self._set_statuses(db, [(image.path, _imported_status(image.objects)) for image in merged])
        db.executemany(
            "INSERT OR IGNORE INTO image_tags (image_path, tag) VALUES (?, ?)",
            [(image.path, tag) for image in merged for tag in _checked_tags(image.tags, image.path)],
        )
        return [path for path in paths if path in worked], len(old)

    def annotated_images(self, statuses: Iterable[ImageStatus] | None = None) -> list[str]:
        """Paths of images with a status in `statuses` (default: every image that has objects or a status)."""
        if statuses is None:
            rows = self._read(
                f"SELECT path FROM images WHERE path {_NOT_A_FRAME} "
                f"UNION SELECT image_path FROM objects WHERE image_path {_NOT_A_FRAME}"
            )
        else:
            values = [ImageStatus(s).value for s in statuses]
            marks = ",".join("?" * len(values))
            rows = self._read(f"SELECT path FROM images WHERE status IN ({marks}) AND path {_NOT_A_FRAME}", values)
        return sorted(r[0] for r in rows)

    def verified_object_counts(self, *, with_frames: bool = False) -> dict[str, int]:
        """Verified objects per image path (images without one left out); a video's frames too with
        `with_frames` (what the image list shows, where frames are rows like images)."""
        only_images = "" if with_frames else f"AND image_path {_NOT_A_FRAME} "
        rows = self._read(
            f"SELECT image_path, COUNT(*) FROM objects WHERE provenance = ? {only_images}GROUP BY image_path",
            (Provenance.VERIFIED.value,),
        )
        return {str(path): int(n) for path, n in rows}

    def image_states(self, paths: Iterable[str]) -> dict[str, ImageState]:
        """The status and verified-object count of each of these images, video frames included, in one read:
        what the project re-reads after a track edit touched many frames (a long propagation, a merge).

        A path with no row is unlabeled with no verified object; an unknown stored status is reported in
        `damaged` (its status then unlabeled) instead of failing the read, as the frames' listing does."""
        paths = list(dict.fromkeys(paths))
        if not paths:
            return {}
        # json_each: one parameter for any number of paths (a long video's edit passes SQLite's parameter limit)
        rows = self._read(
            "SELECT p.value, i.status, (SELECT COUNT(*) FROM objects o WHERE o.image_path = p.value "
            "AND o.provenance = ?) FROM json_each(?) p LEFT JOIN images i ON i.path = p.value",
            (Provenance.VERIFIED.value, json.dumps(paths)),
        )
        known = {s.value: s for s in ImageStatus}
        states = {}
        for path, status, verified in rows:
            found = ImageStatus.UNLABELED if status is None else known.get(status)
            if found is None:
                damaged = f"unknown status {status!r} in the project database"
                states[str(path)] = ImageState(ImageStatus.UNLABELED, int(verified), damaged)
            else:
                states[str(path)] = ImageState(found, int(verified))
        return states

    # ---------------------------------------------------------------- settings
    def label_counts(self) -> dict[str, int]:
        """How many objects carry each label, over the whole project."""
        return {str(label): int(n) for label, n in self._read(LABEL_COUNTS_SQL)}

    def take_class(self, old: str, new: str | None, settings: Mapping[str, Any]) -> TakenClass:
        """Give every object labelled `old` the label `new` (None deletes them) and write `settings`, in one
        transaction: a project-wide class rename, merge or delete.

        Returns the objects as they were stored and each one's version now; versions go up, so older edits
        of them are refused as stale.
        """
        with self._write() as db:
            rows = tuple(
                StoredObject(*row)
                for row in db.execute(
                    "SELECT id, image_path, label, provenance, score, shape, version, track_id, attributes "
                    "FROM objects WHERE label = ? ORDER BY id",
                    (old,),
                )
            )
            versions = self._relabel(db, rows, {r.id: r.version for r in rows}, new, "class change")
            self._write_settings(db, settings)
        return TakenClass(rows, versions)

    def relabel_objects(
        self,
        rows: Sequence[StoredObject],
        versions: Mapping[int, int],
        label: str | None,
        settings: Mapping[str, Any],
        action: str,
    ) -> dict[int, int]:
        """Replay a class step on its objects (`rows`, as `take_class` returned them): each must still be
        stored at its version in `versions`, else StaleEditError and nothing is written. `label` None
        deletes them. `settings` are written in the same transaction. Returns the new versions."""
        with self._write() as db:
            result = self._relabel(db, rows, versions, label, action)
            self._write_settings(db, settings)
        return result

    def restore_objects(self, rows: Sequence[StoredObject], settings: Mapping[str, Any], action: str) -> dict[int, int]:
        """Re-create deleted objects exactly as they were stored (`rows` from `take_class`), with `settings`,
        in one transaction: the undo of a class delete. Only objects this store deleted and that nobody
        re-created come back; any other is StaleEditError and nothing is written. Returns their versions."""
        now = time.time()
        with self._write() as db:
            ids = [r.id for r in rows]
            present = self._versions(db, ids)
            mine = self._deleted_here(db, ids)
            for row in rows:
                if row.id in present or row.id not in mine:
                    raise self._stale(db, row.id, row.label, row.version, row.image_path, action)
                self._check_tracked(db, row.image_path, row.id, row.track_id, row.label)
            db.executemany(
                "INSERT INTO objects (id, image_path, label, provenance, score, shape, updated_at, version, track_id, "
                "attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.id,
                        r.image_path,
                        r.label,
                        r.provenance,
                        r.score,
                        r.shape_json,
                        now,
                        r.version + 1,
                        r.track_id,
                        r.attributes_json,
                    )
                    for r in rows
                ],
            )
            db.executemany("DELETE FROM deleted_objects WHERE id = ?", [(i,) for i in ids])
            self._write_settings(db, settings)
        return {row.id: row.version + 1 for row in rows}

    def attribute_rows(self) -> list[AttributeRow]:
        """Every object that carries attributes, by id: what a change of the attribute schema rewrites."""
        return [
            AttributeRow(int(i), str(p), str(lb), int(v), str(a))
            for i, p, lb, v, a in self._read(
                "SELECT id, image_path, label, version, attributes FROM objects WHERE attributes IS NOT NULL "
                "ORDER BY id"
            )
        ]

    def rewrite_attributes(
        self,
        rows: Sequence[AttributeRow],
        attributes: Mapping[int, str | None],
        versions: Mapping[int, int],
        settings: Mapping[str, Any],
        action: str,
    ) -> dict[int, int]:
        """Give each object of `rows` the attributes JSON `attributes[id]` (None: none) and write `settings`, in
        one transaction: a change of the attribute schema or its undo. Each object must still be stored at its
        version in `versions`, else StaleEditError and nothing is written. Returns the new versions."""
        now = time.time()
        with self._write() as db:
            expected = [(r.id, int(versions[r.id])) for r in rows]
            stored = self._versions(db, [object_id for object_id, _ in expected])
            for row, (object_id, version) in zip(rows, expected):
                if stored.get(object_id) != version:
                    raise self._stale(db, object_id, row.label, version, row.image_path, action)
            db.executemany(
                "UPDATE objects SET attributes = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?",
                [(attributes[object_id], now, object_id, version) for object_id, version in expected],
            )
            self._write_settings(db, settings)
        return {object_id: version + 1 for object_id, version in expected}

    def _relabel(
        self,
        db: sqlite3.Connection,
        rows: Sequence[StoredObject],
        versions: Mapping[int, int],
        label: str | None,
        action: str,
    ) -> dict[int, int]:
        """Compare-and-set relabel (or delete, `label` None) of many objects inside a transaction: every
        version is checked before anything is written (the write lock is held, so nothing changes between)."""
        now = time.time()
        expected = [(r.id, int(versions[r.id])) for r in rows]
        stored = self._versions(db, [object_id for object_id, _ in expected])
        for row, (object_id, version) in zip(rows, expected):
            if stored.get(object_id) != version:
                raise self._stale(db, object_id, row.label, version, row.image_path, action)
        if label is None:
            db.executemany("DELETE FROM objects WHERE id = ? AND version = ?", expected)
            self._record_deletes(db, (object_id for object_id, _ in expected), now)
            return {}
        db.executemany(
            "UPDATE objects SET label = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?",
            [(label, now, *e) for e in expected],
        )
        # A track has its objects' class: the tracks of these objects follow them (and back, on the undo).
        db.executemany(
            "UPDATE tracks SET label = ?, updated_at = ?, version = version + 1 WHERE id = ?",
            [(label, now, track_id) for track_id in sorted({r.track_id for r in rows if r.track_id is not None})],
        )
        return {object_id: version + 1 for object_id, version in expected}

    @staticmethod
    def _versions(db: sqlite3.Connection, ids: Sequence[int]) -> dict[int, int]:
        """Stored version of each of these objects that exists."""
        found: dict[int, int] = {}
        for start in range(0, len(ids), MAX_PARAMETERS):
            chunk = ids[start : start + MAX_PARAMETERS]
            found.update(
                db.execute(
                    f"SELECT id, version FROM objects WHERE id IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
            )
        return found

    def _deleted_here(self, db: sqlite3.Connection, ids: Sequence[int]) -> set[int]:
        """Which of these objects this store deleted (only those may its undo re-create)."""
        found: set[int] = set()
        for start in range(0, len(ids), MAX_PARAMETERS):
            chunk = ids[start : start + MAX_PARAMETERS]
            found.update(
                r[0]
                for r in db.execute(
                    f"SELECT id FROM deleted_objects WHERE session = ? AND id IN ({','.join('?' * len(chunk))})",
                    (self.session, *chunk),
                )
            )
        return found

    @staticmethod
    def _write_settings(db: sqlite3.Connection, settings: Mapping[str, Any]) -> None:
        db.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [(key, json.dumps(value)) for key, value in settings.items()],
        )

    def setting(self, key: str, default: Any = None) -> Any:
        """A JSON value stored with the project (labels, class mapping, thresholds)."""
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set_setting(self, key: str, value: Any) -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file (every edit is already committed)."""
        self._read("PRAGMA wal_checkpoint(TRUNCATE)")


def _create_tables(db: sqlite3.Connection) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
    for statement in _ADDED_WITHIN_VERSION:
        db.execute(statement)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _create_database(db_path: Path) -> None:
    """Create project.db complete or not at all: built under a temporary name, then linked into place.

    So a project.db that exists is always a whole database, and an empty or table-less one is damage,
    never a second program half-way through creating it.
    """
    tmp = db_path.with_name(f"{db_path.name}.new-{uuid.uuid4().hex}")
    try:
        connection = sqlite3.connect(tmp, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("BEGIN IMMEDIATE")
            _create_tables(connection)
            connection.execute("COMMIT")
        finally:
            connection.close()  # the last connection checkpoints and removes the -wal file
        try:
            os.link(tmp, db_path)  # fails if another program created it first: theirs is used
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links (FAT, some shares)
            if not db_path.exists():
                os.replace(tmp, db_path)
    except sqlite3.Error as exc:
        raise _translate(exc, db_path) from None
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            try:
                leftover.unlink()
            except OSError:
                pass


def _checked_database_files(db_path: Path) -> os.stat_result | None:
    """project.db's lstat (None when missing) after checking it and its side files: SQLite opens them by path,
    following links, so each must be a regular file of this user or absent. ProjectFileError otherwise."""
    for suffix in DB_SIDE_FILES:
        check_project_file(f"{db_path}{suffix}")
    return check_project_file(db_path)


def _check_same_database(db_path: Path, opened: os.stat_result | None) -> None:
    """project.db is still the file checked before SQLite opened it (not swapped for a link meanwhile)."""
    try:
        now = _checked_database_files(db_path)
    except ProjectFileError as exc:
        raise UnsafeProjectError(str(exc)) from None
    if now is None or opened is None or (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino):
        raise UnsafeProjectError(
            f"{db_path} was replaced while Protolabel opened it (is another program changing "
            "the folder?); the folder was not opened. Try again."
        )


def set_aside_damaged(folder: str | Path) -> Path:
    """Rename a damaged project.db (and its -wal/-shm files) to project.db.damaged-<timestamp>; returns the new path.

    Only after the user agreed to start over: the next `ProjectStore.open` creates an empty project.
    """
    db_path = project_db_path(Path(folder).resolve())
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = db_path.with_name(f"{db_path.name}.damaged-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = db_path.with_name(f"{db_path.name}.damaged-{stamp}-{counter}")
    try:
        os.rename(db_path, target)
        for suffix in ("-wal", "-shm"):
            companion = Path(f"{db_path}{suffix}")
            if companion.exists():
                os.rename(companion, Path(f"{target}{suffix}"))
    except OSError as exc:
        raise ProjectReadOnlyError(f"Cannot move the damaged {db_path} aside: {exc.strerror or exc}") from None
    return target


def _status_from(value: Any, path: str, db_path: Path) -> ImageStatus:
    try:
        return ImageStatus(value)
    except ValueError:
        raise DamagedRowError(
            f"{path}: unknown status {value!r} in {db_path}; the image's annotations are left as they are"
        ) from None


def _checked_tags(tags: Iterable[str], path: str) -> list[str]:
    """Distinct tags in order; ValueError naming the image for one that is not a non-empty text."""
    checked: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip():
            raise ValueError(f"{path}: the tag {tag!r} is not a name")
        if tag not in checked:
            checked.append(tag)
    return checked


def _object_from_row(row: tuple, path: str, db_path: Path) -> AnnotatedObject:
    """One stored object, checked: anything malformed is a DamagedRowError naming the image and the row."""
    object_id, label, provenance, score, shape, version, track_id, attributes = row
    try:
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"label {label!r} is not a name")
        if score is not None and (not isinstance(score, (int, float)) or not math.isfinite(score)):
            raise ValueError(f"score {score!r} is not a number")
        if not isinstance(version, int):
            raise ValueError(f"version {version!r} is not an integer")
        if track_id is not None and not isinstance(track_id, int):
            raise ValueError(f"track {track_id!r} is not an integer")
        try:
            provenance = Provenance(provenance)
        except ValueError:
            raise ValueError(f"unknown provenance {provenance!r}") from None
        if not isinstance(shape, str):
            raise ValueError("the shape is not JSON text")
        parsed = shape_from_json(shape)
        if not all(
            np.isfinite(ring).all() for polygon in parsed.polygons for ring in (polygon.exterior, *polygon.holes)
        ):
            raise ValueError("the shape has vertices that are not finite numbers")
        parsed_attributes = attributes_from_json(attributes)
    except (ValueError, TypeError, KeyError, IndexError, RecursionError) as exc:
        reason = first_line(exc)
        raise DamagedRowError(
            f"{path}: object {object_id} in {db_path} is damaged ({reason}); the image's "
            "annotations are left as they are"
        ) from None
    return AnnotatedObject(
        label=label,
        shape=parsed,
        provenance=provenance,
        score=None if score is None else float(score),
        id=int(object_id),
        version=version,
        track_id=track_id,
        attributes=parsed_attributes,
    )


def _translate(exc: sqlite3.Error, db_path: Path) -> ProjectStoreError:
    """Turn SQLite's terse errors into messages a user can act on."""
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return ProjectLockedError(
            f"{db_path} is locked by another program (is Protolabel already open on this folder?). "
            "Close it and try again."
        )
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered or "permission" in lowered:
        return ProjectReadOnlyError(
            f"Cannot write {db_path}: the folder or the database file is read-only ({text}). "
            "Open a copy of the images in a folder you can write to."
        )
    if "not a database" in lowered or "malformed" in lowered:
        return DamagedProjectError(f"{db_path} is damaged or not a Protolabel database ({text})")
    if "disk" in lowered and ("full" in lowered or "i/o" in lowered):
        return ProjectStoreError(f"Cannot write {db_path}: {text}. Free some disk space and retry.")
    return ProjectStoreError(f"{db_path}: {text}")
