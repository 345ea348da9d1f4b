"""The project store: every annotation of a folder in FOLDER/.protolabel/project.db (SQLite, WAL).

Each edit is its own committed transaction, so a crash (even `kill -9`) loses at most the edit
that was in progress. One `ProjectStore` is one connection, used by one thread; a worker thread
opens its own store on the same folder (WAL lets readers and one writer work side by side).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segmentation.project.records import (
    AnnotatedObject,
    ImageStatus,
    Provenance,
    shape_from_json,
    shape_to_json,
)

PROJECT_DIR_NAME = ".protolabel"
DB_NAME = "project.db"
SCHEMA_VERSION = 1

_SCHEMA = """
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
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_by_image ON objects (image_path);
"""


class ProjectStoreError(Exception):
    """The project database cannot be used; the message says where and why, in plain words."""


class ProjectReadOnlyError(ProjectStoreError):
    """The folder (or its database) cannot be written."""


class ProjectLockedError(ProjectStoreError):
    """Another program holds the database lock for longer than we wait."""


@dataclass(frozen=True)
class AutoLabelOutcome:
    """What an auto-label run did to one image."""

    status: ImageStatus
    added: int  # new auto objects written
    replaced: int  # old auto objects removed
    kept: int  # edited/verified objects left untouched
    skipped: bool = False  # the image is verified: nothing was written
    object_ids: tuple[int, ...] = ()  # ids of the new auto objects, in the order they were given


def project_db_path(folder: str | Path) -> Path:
    return Path(folder) / PROJECT_DIR_NAME / DB_NAME


class ProjectStore:
    """Annotations, per-image status and project settings of one image folder."""

    def __init__(self, connection: sqlite3.Connection, folder: Path) -> None:
        self._db = connection
        self.folder = folder
        self.db_path = project_db_path(folder)

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(cls, folder: str | Path, *, timeout: float = 3.0) -> ProjectStore:
        """Open (creating when needed) the store of `folder`; clear errors for read-only or locked folders."""
        folder = Path(folder).resolve()
        if not folder.is_dir():
            raise ProjectStoreError(f"{folder}: no such folder")
        db_path = project_db_path(folder)
        try:
            db_path.parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise ProjectReadOnlyError(
                f"Cannot create {db_path.parent}: {exc.strerror or exc}. Protolabel keeps its annotations in "
                "that folder; open a copy of the images in a folder you can write to."
            ) from None
        try:
            connection = sqlite3.connect(db_path, timeout=timeout, isolation_level=None, check_same_thread=True)
        except sqlite3.Error as exc:
            raise _translate(exc, db_path) from None
        store = cls(connection, folder)
        try:
            store._initialise()
        except BaseException:
            connection.close()
            raise
        return store

    def _initialise(self) -> None:
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed edit survives the app being killed; only a power cut
            # may lose the last few commits. FULL would fsync on every vertex drag.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ProjectStoreError(
                    f"{self.db_path} was written by a newer Protolabel (schema {version}, this one knows "
                    f"{SCHEMA_VERSION}); update Protolabel to open it"
                )
            # BEGIN IMMEDIATE takes the write lock now, so a read-only or locked database fails at open.
            with self._write():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise _translate(exc, self.db_path) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ProjectStore:
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
        """Status of every image that is not unlabeled (the rest are unlabeled)."""
        rows = self._read("SELECT path, status FROM images WHERE status != ?", (ImageStatus.UNLABELED.value,))
        return {path: ImageStatus(status) for path, status in rows}

    def status(self, path: str) -> ImageStatus:
        rows = self._read("SELECT status FROM images WHERE path = ?", (path,))
        return ImageStatus(rows[0][0]) if rows else ImageStatus.UNLABELED

    def image_size(self, path: str) -> tuple[int, int] | None:
        """(height, width) recorded for the image, if any."""
        rows = self._read("SELECT height, width FROM images WHERE path = ?", (path,))
        if not rows or rows[0][0] is None:
            return None
        return int(rows[0][0]), int(rows[0][1])

    def set_image_size(self, path: str, height: int, width: int) -> None:
        with self._write() as db:
            self._ensure_image(db, path)
            db.execute("UPDATE images SET height = ?, width = ? WHERE path = ?", (int(height), int(width), path))

    def set_status(self, path: str, status: ImageStatus) -> None:
        with self._write() as db:
            self._set_status(db, path, status)

    @staticmethod
    def _ensure_image(db: sqlite3.Connection, path: str) -> None:
        db.execute(
            "INSERT OR IGNORE INTO images (path, status, updated_at) VALUES (?, ?, ?)",
            (path, ImageStatus.UNLABELED.value, time.time()),
        )

    def _set_status(self, db: sqlite3.Connection, path: str, status: ImageStatus) -> None:
        self._ensure_image(db, path)
        db.execute(
            "UPDATE images SET status = ?, updated_at = ? WHERE path = ?",
            (ImageStatus(status).value, time.time(), path),
        )

    # ---------------------------------------------------------------- objects
    def objects(self, path: str) -> list[AnnotatedObject]:
        rows = self._read(
            "SELECT id, label, provenance, score, shape FROM objects WHERE image_path = ? ORDER BY id", (path,)
        )
        return [_object_from_row(row) for row in rows]

    def object_count(self, path: str) -> int:
        return int(self._read("SELECT COUNT(*) FROM objects WHERE image_path = ?", (path,))[0][0])

    def write_change(
        self,
        path: str,
        *,
        removed_ids: Iterable[int] = (),
        saved: Iterable[AnnotatedObject] = (),
        status: ImageStatus | None = None,
    ) -> list[AnnotatedObject]:
        """Delete, insert or replace objects of one image and set its status, in one transaction.

        Objects without an id get a new one; objects with an id are written under that id (which
        re-creates a deleted object exactly, as undo needs). Returns the saved objects with their ids.
        """
        result = []
        now = time.time()
        with self._write() as db:
            self._ensure_image(db, path)
            for object_id in removed_ids:
                db.execute("DELETE FROM objects WHERE id = ? AND image_path = ?", (int(object_id), path))
            for obj in saved:
                values = (path, obj.label, Provenance(obj.provenance).value, obj.score, shape_to_json(obj.shape), now)
                if obj.id is None:
                    cursor = db.execute(
                        "INSERT INTO objects (image_path, label, provenance, score, shape, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        values,
                    )
                    obj = obj.with_changes(id=int(cursor.lastrowid))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO objects (id, image_path, label, provenance, score, shape, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (int(obj.id), *values),
                    )
                result.append(obj)
            if status is not None:
                self._set_status(db, path, status)
        return result

    def replace_auto_objects(
        self, path: str, objects: Iterable[AnnotatedObject], *, image_size: tuple[int, int] | None = None
    ) -> AutoLabelOutcome:
        """Swap the image's auto objects for new ones; objects a person edited or verified stay.

        A verified image is left alone entirely. The status becomes auto-labeled, or stays edited
        when a person has already worked on the image.
        """
        objects = [o.with_changes(id=None, provenance=Provenance.AUTO) for o in objects]
        with self._write() as db:
            self._ensure_image(db, path)
            status = ImageStatus(db.execute("SELECT status FROM images WHERE path = ?", (path,)).fetchone()[0])
            if image_size is not None:
                db.execute("UPDATE images SET height = ?, width = ? WHERE path = ?", (*image_size, path))
            if status is ImageStatus.VERIFIED:
                kept = db.execute("SELECT COUNT(*) FROM objects WHERE image_path = ?", (path,)).fetchone()[0]
                return AutoLabelOutcome(status, added=0, replaced=0, kept=int(kept), skipped=True)
            replaced = db.execute(
                "DELETE FROM objects WHERE image_path = ? AND provenance = ?", (path, Provenance.AUTO.value)
            ).rowcount
            kept = db.execute("SELECT COUNT(*) FROM objects WHERE image_path = ?", (path,)).fetchone()[0]
            now = time.time()
            ids = tuple(
                int(db.execute(
                    "INSERT INTO objects (image_path, label, provenance, score, shape, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (path, o.label, Provenance.AUTO.value, o.score, shape_to_json(o.shape), now),
                ).lastrowid)
                for o in objects
            )
            new_status = ImageStatus.EDITED if status is ImageStatus.EDITED else ImageStatus.AUTO_LABELED
            self._set_status(db, path, new_status)
        return AutoLabelOutcome(new_status, added=len(objects), replaced=int(replaced), kept=int(kept), object_ids=ids)

    def annotated_images(self, statuses: Iterable[ImageStatus] | None = None) -> list[str]:
        """Paths of images with a status in `statuses` (default: every image that has objects or a status)."""
        if statuses is None:
            rows = self._read("SELECT path FROM images UNION SELECT image_path FROM objects")
        else:
            values = [ImageStatus(s).value for s in statuses]
            marks = ",".join("?" * len(values))
            rows = self._read(f"SELECT path FROM images WHERE status IN ({marks})", values)
        return sorted(r[0] for r in rows)

    # ---------------------------------------------------------------- settings
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


def _object_from_row(row: tuple) -> AnnotatedObject:
    object_id, label, provenance, score, shape = row
    return AnnotatedObject(
        label=label, shape=shape_from_json(shape), provenance=Provenance(provenance), score=score, id=int(object_id)
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
        return ProjectStoreError(f"{db_path} is damaged or not a Protolabel database ({text})")
    if "disk" in lowered and ("full" in lowered or "i/o" in lowered):
        return ProjectStoreError(f"Cannot write {db_path}: {text}. Free some disk space and retry.")
    return ProjectStoreError(f"{db_path}: {text}")
