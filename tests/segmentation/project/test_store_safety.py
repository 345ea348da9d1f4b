"""The store's guarantees against other writers and damage: stale edits refused, damaged files and rows reported."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.project.document import Change, ImageAnnotations
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import (
    SCHEMA_VERSION,
    DamagedProjectError,
    DamagedRowError,
    ProjectStore,
    ProjectStoreError,
    StaleEditError,
    project_db_path,
    set_aside_damaged,
)

REPO_ROOT = Path(__file__).resolve().parents[3]


def _other_process(folder: Path, code: str) -> None:
    """Run `code` in a second Python process with `doc`, the ImageAnnotations of a.png in `folder`."""
    script = (
        "import sys\n"
        "from protolabel.segmentation.project.store import ProjectStore\n"
        "from protolabel.segmentation.project.document import ImageAnnotations\n"
        f"store = ProjectStore.open({str(folder)!r})\n"
        "doc = ImageAnnotations(store, 'a.png')\n" + code + "\nstore.close()\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, check=True, capture_output=True, timeout=120)


@pytest.fixture
def shared_folder(tmp_path, square):
    with ProjectStore.open(tmp_path) as store:
        store.write_change(
            "a.png",
            saved=[AnnotatedObject("cat", square(0, 0)), AnnotatedObject("dog", square(20, 0))],
            status=ImageStatus.EDITED,
        )
    return tmp_path


# ---------------------------------------------------------------- two writers
def test_stale_window_cannot_resurrect_an_object_another_process_deleted(shared_folder, square):
    with ProjectStore.open(shared_folder) as store:
        doc = ImageAnnotations(store, "a.png")
        cat = next(o for o in doc.objects if o.label == "cat")
        _other_process(shared_folder, f"doc.apply(doc.delete_objects([{cat.id}]))")
        reloaded = []
        doc.events.reloaded.connect(lambda: reloaded.append(True))
        with pytest.raises(StaleEditError, match="deleted by another window or program"):
            doc.apply(doc.edit_shape(cat.id, square(3, 3)))
        assert reloaded and cat.id not in doc  # the document now shows what the store holds
        assert [o.label for o in store.objects("a.png")] == ["dog"]  # the delete stands


def test_edit_of_an_object_changed_elsewhere_is_refused_and_nothing_is_written(shared_folder, square):
    with ProjectStore.open(shared_folder) as store:
        doc = ImageAnnotations(store, "a.png")
        cat, dog = doc.objects
        _other_process(shared_folder, f"doc.apply(doc.relabel([{cat.id}], 'lion'))")
        with pytest.raises(StaleEditError, match="changed by another window or program"):
            doc.apply(doc.delete_objects([cat.id, dog.id]))
        assert sorted(o.label for o in store.objects("a.png")) == ["dog", "lion"]  # one transaction: dog kept too
        assert doc.get(cat.id).label == "lion"
        doc.apply(doc.delete_objects([cat.id]))  # after the reload, the edit is based on what is stored
        assert [o.label for o in store.objects("a.png")] == ["dog"]


def test_undo_of_ones_own_delete_brings_the_object_back_but_not_another_processs(shared_folder):
    with ProjectStore.open(shared_folder) as store:
        doc = ImageAnnotations(store, "a.png")
        cat, dog = doc.objects
        deleted = doc.apply(doc.delete_objects([cat.id]))
        doc.apply(deleted.inverted())  # undo
        assert store.objects("a.png") == [cat, dog]
        doc.apply(deleted)  # redo, undo again: versions follow each step
        doc.apply(deleted.inverted())
        assert [o.id for o in store.objects("a.png")] == [cat.id, dog.id]

        # Another process deletes dog; an old change that would re-create it here is refused.
        with ProjectStore.open(shared_folder) as other:
            other_doc = ImageAnnotations(other, "a.png")
            other_doc.apply(other_doc.delete_objects([dog.id]))
        doc.reload()
        assert dog.id not in doc
        with pytest.raises(StaleEditError):
            doc.apply(Change("Restore dog", (), (dog,), doc.status, doc.status))
        assert [o.id for o in store.objects("a.png")] == [cat.id]


def test_undo_and_redo_of_an_edit_still_work(shared_folder, square):
    with ProjectStore.open(shared_folder) as store:
        doc = ImageAnnotations(store, "a.png")
        cat = doc.objects[0]
        edited = doc.apply(doc.edit_shape(cat.id, square(5, 5)))
        doc.apply(edited.inverted())
        assert store.objects("a.png")[0].shape == cat.shape
        doc.apply(edited)
        assert store.objects("a.png")[0].shape == square(5, 5)


# ---------------------------------------------------------------- schema
def test_version_1_database_is_migrated(tmp_path):
    db_path = project_db_path(tmp_path)
    db_path.parent.mkdir()
    ring = json.dumps([[[0, 0, 10, 0, 10, 10]]])
    with sqlite3.connect(db_path) as db:  # the schema Protolabel wrote before version 2
        db.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE images (path TEXT PRIMARY KEY, status TEXT NOT NULL, width INTEGER, height INTEGER,"
            " updated_at REAL NOT NULL);"
            "CREATE TABLE objects (id INTEGER PRIMARY KEY AUTOINCREMENT, image_path TEXT NOT NULL, label TEXT NOT NULL,"
            " provenance TEXT NOT NULL, score REAL, shape TEXT NOT NULL, updated_at REAL NOT NULL);"
            "PRAGMA user_version=1;"
        )
        db.execute("INSERT INTO images VALUES ('a.png', 'edited', NULL, NULL, 0)")
        db.execute(
            "INSERT INTO objects (image_path, label, provenance, score, shape, updated_at) "
            "VALUES ('a.png', 'cat', 'edited', NULL, ?, 0)",
            (ring,),
        )
    with ProjectStore.open(tmp_path) as store:
        (cat,) = store.objects("a.png")
        assert cat.label == "cat" and cat.version == 1
        doc = ImageAnnotations(store, "a.png")
        deleted = doc.apply(doc.delete_objects([cat.id]))
        doc.apply(deleted.inverted())
        assert store.objects("a.png") == [cat]
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3


def test_newer_schema_is_refused(tmp_path):
    ProjectStore.open(tmp_path).close()
    with sqlite3.connect(project_db_path(tmp_path)) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(ProjectStoreError, match="newer Protolabel"):
        ProjectStore.open(tmp_path)


# ---------------------------------------------------------------- damaged database
def test_empty_database_file_is_damaged_and_left_as_found(tmp_path):
    ProjectStore.open(tmp_path).close()
    db_path = project_db_path(tmp_path)
    db_path.write_bytes(b"")
    with pytest.raises(DamagedProjectError, match="empty"):
        ProjectStore.open(tmp_path)
    assert db_path.stat().st_size == 0


def test_database_without_tables_is_damaged(tmp_path, square):
    with ProjectStore.open(tmp_path) as store:
        store.write_change("a.png", saved=[AnnotatedObject("cat", square(0, 0))])
    db_path = project_db_path(tmp_path)
    with sqlite3.connect(db_path) as db:
        db.execute("DROP TABLE objects")
    with pytest.raises(DamagedProjectError, match="missing tables: objects"):
        ProjectStore.open(tmp_path)


def test_file_that_is_not_a_database_is_damaged(tmp_path):
    db_path = project_db_path(tmp_path)
    db_path.parent.mkdir()
    db_path.write_bytes(b"this is not sqlite" * 500)
    with pytest.raises(DamagedProjectError):
        ProjectStore.open(tmp_path)


def test_set_aside_keeps_the_damaged_file_and_starts_over(tmp_path):
    ProjectStore.open(tmp_path).close()
    db_path = project_db_path(tmp_path)
    db_path.write_bytes(b"")
    kept = set_aside_damaged(tmp_path)
    assert re.fullmatch(r"project\.db\.damaged-\d{8}-\d{6}", kept.name) and kept.stat().st_size == 0
    with ProjectStore.open(tmp_path) as store:
        assert store.statuses() == {}
    assert kept.exists()


def test_two_programs_creating_a_project_at_once_both_succeed(tmp_path):
    code = (
        f"from protolabel.segmentation.project.store import ProjectStore\n"
        f"for _ in range(20): ProjectStore.open({str(tmp_path)!r}).close()"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, stderr=subprocess.PIPE) for _ in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    assert not [p for p in project_db_path(tmp_path).parent.iterdir() if ".new-" in p.name]


# ---------------------------------------------------------------- damaged rows
def _corrupt(folder: Path, sql: str, *params) -> None:
    with sqlite3.connect(project_db_path(folder)) as db:
        db.execute(sql, params)


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("UPDATE objects SET shape = 'not json' WHERE image_path = 'img1.png'", "object"),
        ("UPDATE objects SET shape = '" + "[" * 100_000 + "' WHERE image_path = 'img1.png'", "object"),
        ("UPDATE objects SET shape = '[[[0, 0, 1]]]' WHERE image_path = 'img1.png'", "object"),
        ("UPDATE objects SET provenance = 'alien' WHERE image_path = 'img1.png'", "unknown provenance 'alien'"),
        ("UPDATE objects SET score = 'high' WHERE image_path = 'img1.png'", "score"),
        ("UPDATE images SET status = 'done?' WHERE path = 'img1.png'", "unknown status 'done?'"),
    ],
)
def test_corrupt_row_marks_one_image_damaged_and_the_rest_works(image_folder, square, sql, reason):
    with ProjectStore.open(image_folder) as store:
        for name in ("img1.png", "img2.png"):
            store.write_change(
                name,
                saved=[AnnotatedObject("cat", square(0, 0), Provenance.AUTO, 0.5)],
                status=ImageStatus.AUTO_LABELED,
            )
    _corrupt(image_folder, sql)
    project = Project.open(image_folder)
    try:
        bad = project.document("img1.png")
        assert bad.damaged is not None and "img1.png" in bad.damaged and reason in bad.damaged
        assert len(bad) == 0
        assert "img1.png" in project.images.unreadable
        with pytest.raises(DamagedRowError):
            bad.apply(bad.add_object("dog", square(1, 1)))
        good = project.document("img2.png")
        assert good.damaged is None and len(good) == 1
        good.apply(good.add_object("dog", square(30, 30)))
        assert project.images.status("img2.png") is ImageStatus.EDITED
    finally:
        project.close()
    with sqlite3.connect(project_db_path(image_folder)) as db:  # the damaged row is left for recovery
        assert db.execute("SELECT COUNT(*) FROM objects WHERE image_path = 'img1.png'").fetchone()[0] == 1


def test_unknown_status_is_reported_when_the_project_opens(image_folder):
    with ProjectStore.open(image_folder) as store:
        store.set_status("img2.png", ImageStatus.VERIFIED)
    _corrupt(image_folder, "UPDATE images SET status = 'bogus' WHERE path = 'img2.png'")
    project = Project.open(image_folder)
    try:
        assert "bogus" in project.images.unreadable["img2.png"]
        assert project.images.status("img2.png") is ImageStatus.UNLABELED
    finally:
        project.close()


def test_junk_pages_damage_one_image_not_the_project(tmp_path):
    long_ring = np.array([[i * 1.123456789, (i % 7) * 3.3] for i in range(20_000)])  # spans many overflow pages
    small = Shape((Polygon(np.array([[0.0, 0.0], [5.0, 0.0], [5.0, 5.0]])),))
    with ProjectStore.open(tmp_path) as store:
        store.write_change("small.png", saved=[AnnotatedObject("a", small)])
        store.write_change("big.png", saved=[AnnotatedObject("b", Shape((Polygon(long_ring),)))])
        store.checkpoint()
    db_path = project_db_path(tmp_path)
    data = bytearray(db_path.read_bytes())
    page_size = 4096
    digits = [m.start() for m in re.finditer(rb"\d\.\d{6}", bytes(data))]
    page = digits[len(digits) // 2] // page_size  # an overflow page of big.png's shape text
    data[page * page_size : page * page_size + 4] = b"\xff\xff\xff\x00"  # its next-page pointer becomes junk
    db_path.write_bytes(bytes(data))
    with ProjectStore.open(tmp_path) as store:
        assert [o.label for o in store.objects("small.png")] == ["a"]
        with pytest.raises(DamagedRowError, match="big.png"):
            store.objects("big.png")
        doc = ImageAnnotations(store, "big.png")
        assert doc.damaged is not None and len(doc) == 0


def test_export_leaves_out_a_damaged_image_by_name_and_writes_the_rest(image_folder, square, tmp_path):
    from protolabel.segmentation.project.export import export_coco

    with ProjectStore.open(image_folder) as store:
        for name in ("img1.png", "img2.png"):
            store.write_change(
                name,
                saved=[AnnotatedObject("cat", square(0, 0), Provenance.AUTO, 0.5)],
                status=ImageStatus.AUTO_LABELED,
            )
    _corrupt(image_folder, "UPDATE objects SET shape = 'not json' WHERE image_path = 'img1.png'")
    with ProjectStore.open(image_folder) as store:
        summary = export_coco(store, tmp_path / "out.json")
    written = json.loads((tmp_path / "out.json").read_text())
    assert [image["file_name"] for image in written["images"]] == ["img2.png"]
    assert summary.images == 1 and summary.annotations == 1
    assert len(summary.skipped) == 1 and "img1.png" in summary.skipped[0]


@pytest.mark.parametrize("target", ["img1.png", "sub/new.jpg", ".protolabel/project.db", ".protolabel/other.json"])
def test_export_never_writes_over_the_projects_own_files(image_folder, square, target):
    from protolabel.segmentation.output_paths import OutputPathError
    from protolabel.segmentation.project.export import export_coco

    with ProjectStore.open(image_folder) as store:
        store.write_change(
            "img2.png",
            saved=[AnnotatedObject("cat", square(0, 0), Provenance.AUTO, 0.5)],
            status=ImageStatus.AUTO_LABELED,
        )
    before = {p: p.read_bytes() for p in image_folder.rglob("*") if p.is_file() and "-wal" not in p.name}
    with ProjectStore.open(image_folder) as store:
        with pytest.raises(OutputPathError, match="is an input|inside the project"):
            export_coco(store, image_folder / target)
        assert [o.label for o in store.objects("img2.png")] == ["cat"]
    assert not (image_folder / target).exists() or (image_folder / target).read_bytes() == before[image_folder / target]
