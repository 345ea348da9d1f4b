"""A schema-2 project.db (as Protolabel wrote it before videos) opens as schema 3 and keeps everything it held."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest

from protolabel.segmentation.project import store as store_module
from protolabel.segmentation.project.document import ImageAnnotations
from protolabel.segmentation.project.records import ImageStatus
from protolabel.segmentation.project.store import ProjectStore, ProjectStoreError, project_db_path

# The statements schema 2 created (its _SCHEMA and _ADDED_WITHIN_VERSION), written out here so the test
# does not depend on the code under test.
V2_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE images (path TEXT PRIMARY KEY, status TEXT NOT NULL, width INTEGER, height INTEGER,
    updated_at REAL NOT NULL);
CREATE TABLE objects (id INTEGER PRIMARY KEY AUTOINCREMENT, image_path TEXT NOT NULL, label TEXT NOT NULL,
    provenance TEXT NOT NULL, score REAL, shape TEXT NOT NULL, updated_at REAL NOT NULL,
    version INTEGER NOT NULL DEFAULT 1);
CREATE INDEX objects_by_image ON objects (image_path);
CREATE TABLE deleted_objects (id INTEGER PRIMARY KEY, session TEXT NOT NULL, deleted_at REAL NOT NULL);
CREATE INDEX objects_by_label ON objects (label);
CREATE TABLE rejected_objects (id INTEGER PRIMARY KEY, image_path TEXT NOT NULL, shape TEXT NOT NULL);
CREATE INDEX rejected_by_image ON rejected_objects (image_path);
PRAGMA user_version=2;
"""
RING = json.dumps([[[0.0, 0.0, 10.0, 0.0, 10.5, 10.0]]])
OBJECTS = [  # id, image, label, provenance, score, shape, updated_at, version
    (1, "a.png", "cat", "auto", 0.75, RING, 100.0, 1),
    (3, "a.png", "dog", "edited", None, RING, 101.0, 4),
    (4, "sub/b.jpg", "cat", "verified", 0.5, RING, 102.0, 2),
]


@pytest.fixture
def v2_folder(tmp_path):
    """A schema-2 project: three objects (id 2 deleted, with its deletion and rejection records), statuses, settings."""
    db_path = project_db_path(tmp_path)
    db_path.parent.mkdir()
    with closing(sqlite3.connect(db_path)) as db:
        db.executescript(V2_SCHEMA)
        db.executemany(
            "INSERT INTO images VALUES (?, ?, ?, ?, 0)",  # path, status, width, height
            [("a.png", "edited", 64, 48), ("sub/b.jpg", "verified", 30, 20), ("c.png", "auto-labeled", None, None)],
        )
        db.executemany("INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?)", OBJECTS)
        db.execute("INSERT INTO deleted_objects VALUES (2, 'an earlier session', strftime('%s', 'now'))")
        db.execute("INSERT INTO rejected_objects VALUES (2, 'a.png', ?)", (RING,))
        db.execute("INSERT INTO meta VALUES ('labels', ?)", (json.dumps(["cat", "dog"]),))
        db.commit()
    return tmp_path


def _rows(folder, sql):
    with closing(sqlite3.connect(project_db_path(folder))) as db:
        return db.execute(sql).fetchall()


def test_a_version_2_project_opens_as_version_3_and_keeps_everything(v2_folder, square):
    with ProjectStore.open(v2_folder) as store:
        assert store.statuses() == {
            "a.png": ImageStatus.EDITED,
            "sub/b.jpg": ImageStatus.VERIFIED,
            "c.png": ImageStatus.AUTO_LABELED,
        }
        assert [(o.id, o.label, o.version, o.track_id) for o in store.objects("a.png")] == [
            (1, "cat", 1, None),
            (3, "dog", 4, None),
        ]
        assert store.setting("labels") == ["cat", "dog"]
        assert store.image_size("a.png") == (48, 64)
        assert len(store.rejected_shapes("a.png")) == 1

    assert _rows(v2_folder, "PRAGMA user_version") == [(3,)]
    assert _rows(v2_folder, "SELECT COUNT(*) FROM videos") == [(0,)]
    assert _rows(v2_folder, "SELECT COUNT(*) FROM frames") == _rows(v2_folder, "SELECT COUNT(*) FROM tracks") == [(0,)]
    # Every stored value as it was, the new columns (track_id, attributes) empty; the undo and rejection records kept.
    assert _rows(v2_folder, "SELECT * FROM objects ORDER BY id") == [(*row, None, None) for row in OBJECTS]
    assert [r[:2] for r in _rows(v2_folder, "SELECT * FROM deleted_objects")] == [(2, "an earlier session")]
    assert _rows(v2_folder, "SELECT id, image_path FROM rejected_objects") == [(2, "a.png")]
    # A new id is still above every id ever used (AUTOINCREMENT's record survived).
    with ProjectStore.open(v2_folder) as store:
        doc = ImageAnnotations(store, "a.png")
        added = doc.apply(doc.add_object("cat", square(30, 30)))
        assert added.after[0].id == 5
        deleted = doc.apply(doc.delete_objects([3]))
        doc.apply(deleted.inverted())  # undo works on a migrated project
        assert [o.id for o in store.objects("a.png")] == [1, 3, 5]
        # Attributes and tags (schema 3) work on a migrated project; the old objects have none.
        assert all(o.attributes is None for o in store.objects("sub/b.jpg"))
        (cat, *_) = store.objects("a.png")
        store.write_change("a.png", saved=[cat.with_changes(attributes={"occluded": True})])
        store.set_tags("a.png", ["night"])
    with ProjectStore.open(v2_folder) as store:
        assert store.objects("a.png")[0].attributes == {"occluded": True}
        assert store.tags_by_image() == {"a.png": ("night",)}


def test_a_failed_migration_leaves_the_version_2_project_as_it_was(v2_folder, monkeypatch):
    before = _rows(v2_folder, "SELECT * FROM objects ORDER BY id")
    failing = {**store_module._MIGRATIONS, 2: (*store_module._MIGRATIONS[2], "THIS IS NOT SQL")}
    monkeypatch.setattr(store_module, "_MIGRATIONS", failing)
    with pytest.raises(ProjectStoreError):
        ProjectStore.open(v2_folder)
    assert _rows(v2_folder, "PRAGMA user_version") == [(2,)]
    assert _rows(v2_folder, "SELECT * FROM objects ORDER BY id") == before  # no track_id column: rolled back
    assert not _rows(
        v2_folder, "SELECT name FROM sqlite_master WHERE name IN ('videos', 'frames', 'tracks', 'image_tags')"
    )


def test_a_version_3_project_is_refused_by_a_version_2_protolabel(v2_folder, monkeypatch):
    ProjectStore.open(v2_folder).close()  # migrated to 3
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 2)  # the rule Protolabel 2 applies
    with pytest.raises(ProjectStoreError, match=r"newer Protolabel \(schema 3, this one knows 2\)"):
        ProjectStore.open(v2_folder)
    assert _rows(v2_folder, "PRAGMA user_version") == [(3,)]
