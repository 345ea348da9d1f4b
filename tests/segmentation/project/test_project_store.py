"""ProjectStore: every write committed, provenance kept, auto-labels never overwrite a person's work."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess

import numpy as np
import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import (
    LABEL_COUNTS_SQL,
    ProjectLockedError,
    ProjectReadOnlyError,
    ProjectStore,
    ProjectStoreError,
    project_db_path,
)


def test_objects_round_trip_exactly_with_holes_and_parts(tmp_path):
    ring = np.array([[0.1, 0.2], [100.333333333333, 0.0], [50.0, 80.125]])
    hole = np.array([[40.0, 20.0], [60.0, 20.0], [50.0, 40.0]])
    shape = Shape((Polygon(ring, (hole,)), Polygon(ring + 200.0)))
    with ProjectStore.open(tmp_path) as store:
        (saved,) = store.write_change(
            "a.png", saved=[AnnotatedObject("cat", shape, Provenance.AUTO, 0.75)], status=ImageStatus.AUTO_LABELED
        )
    with ProjectStore.open(tmp_path) as store:
        (loaded,) = store.objects("a.png")
        assert loaded == saved
        assert loaded.shape.polygons[0].holes[0].tolist() == hole.tolist()
        assert loaded.shape.polygons[0].exterior[1, 0] == 100.333333333333
        assert loaded.provenance is Provenance.AUTO and loaded.score == 0.75
        assert store.status("a.png") is ImageStatus.AUTO_LABELED
        assert store.statuses() == {"a.png": ImageStatus.AUTO_LABELED}


def test_database_lives_in_dot_protolabel_in_wal_mode(tmp_path):
    ProjectStore.open(tmp_path).close()
    db = project_db_path(tmp_path)
    assert db == tmp_path / ".protolabel" / "project.db" and db.is_file()
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_each_write_is_visible_to_another_connection_immediately(tmp_path, square):
    with ProjectStore.open(tmp_path) as writer, ProjectStore.open(tmp_path) as reader:
        (obj,) = writer.write_change("a.png", saved=[AnnotatedObject("dog", square(1, 1))], status=ImageStatus.EDITED)
        assert reader.objects("a.png") == [obj]
        writer.write_change("a.png", removed_ids=[obj.id])
        assert reader.objects("a.png") == []


def test_deleted_object_can_be_restored_under_its_id_and_ids_are_never_reused(tmp_path, square):
    with ProjectStore.open(tmp_path) as store:
        first, second = store.write_change(
            "a.png", saved=[AnnotatedObject("a", square(0, 0)), AnnotatedObject("b", square(5, 5))]
        )
        store.write_change("a.png", removed_ids=[second.id])
        (third,) = store.write_change("a.png", saved=[AnnotatedObject("c", square(9, 9))])
        assert third.id > second.id
        store.write_change("a.png", saved=[second])
        assert [o.id for o in store.objects("a.png")] == [first.id, second.id, third.id]


def test_auto_labels_replace_only_auto_objects(tmp_path, square):
    with ProjectStore.open(tmp_path) as store:
        auto, edited = store.write_change(
            "a.png",
            saved=[
                AnnotatedObject("cat", square(0, 0), Provenance.AUTO, 0.9),
                AnnotatedObject("dog", square(50, 50), Provenance.EDITED),
            ],
            status=ImageStatus.EDITED,
        )
        outcome = store.replace_auto_objects(
            "a.png", [AnnotatedObject("cow", square(20, 20), score=0.5)], image_size=(48, 64)
        )
        assert (outcome.added, outcome.replaced, outcome.kept, outcome.skipped) == (1, 1, 1, False)
        assert outcome.status is ImageStatus.EDITED  # a person already worked on it
        objects = store.objects("a.png")
        assert [o.label for o in objects] == ["dog", "cow"]
        assert objects[0] == edited
        assert objects[1].provenance is Provenance.AUTO
        assert store.image_size("a.png") == (48, 64)


def test_auto_labels_leave_verified_images_alone(tmp_path, square):
    with ProjectStore.open(tmp_path) as store:
        (obj,) = store.write_change(
            "a.png", saved=[AnnotatedObject("cat", square(0, 0), Provenance.VERIFIED)], status=ImageStatus.VERIFIED
        )
        outcome = store.replace_auto_objects("a.png", [AnnotatedObject("cow", square(20, 20))])
        assert outcome.skipped and outcome.added == 0
        assert store.objects("a.png") == [obj]
        assert store.status("a.png") is ImageStatus.VERIFIED


def test_auto_labels_append_their_new_classes_to_the_class_list(tmp_path, square):
    with ProjectStore.open(tmp_path) as store:
        store.set_setting("classes", ["zebra", "cat"])
        outcome = store.replace_auto_objects(
            "a.png",
            [AnnotatedObject(label, square(i, i)) for i, label in enumerate(["dog", "cat", "ant", "dog"])],
            label_list_key="classes",
        )
        assert outcome.listed == ("ant", "dog")
        assert store.setting("classes") == ["zebra", "cat", "ant", "dog"]  # the list's order stays
        again = store.replace_auto_objects("b.png", [AnnotatedObject("cat", square(0, 0))], label_list_key="classes")
        assert again.listed == () and store.setting("classes") == ["zebra", "cat", "ant", "dog"]
        first = store.replace_auto_objects("c.png", [AnnotatedObject("eel", square(0, 0))], label_list_key="new")
        assert first.listed == ("eel",) and store.setting("new") == ["eel"]  # no list yet: one is made
        store.replace_auto_objects("d.png", [AnnotatedObject("fox", square(0, 0))])
        assert "fox" not in store.setting("classes")  # without a key, no list is touched


def test_first_auto_label_marks_the_image_auto_labeled(tmp_path, square):
    with ProjectStore.open(tmp_path) as store:
        outcome = store.replace_auto_objects("new.png", [AnnotatedObject("cow", square(20, 20), Provenance.EDITED)])
        assert outcome.status is ImageStatus.AUTO_LABELED
        assert store.objects("new.png")[0].provenance is Provenance.AUTO  # always stored as auto


def test_settings_are_json_values(tmp_path):
    with ProjectStore.open(tmp_path) as store:
        assert store.setting("labels", []) == []
        store.set_setting("labels", ["cat", "dog"])
    with ProjectStore.open(tmp_path) as store:
        assert store.setting("labels") == ["cat", "dog"]


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ProjectStoreError, match="no such folder"):
        ProjectStore.open(tmp_path / "nope")


def test_locked_database_is_a_clear_error_and_not_a_hang(tmp_path):
    ProjectStore.open(tmp_path).close()
    locker = sqlite3.connect(project_db_path(tmp_path), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ProjectLockedError, match="locked by another program"):
            ProjectStore.open(tmp_path, timeout=0.2)
    finally:
        locker.execute("ROLLBACK")
        locker.close()


def test_write_while_locked_raises_and_keeps_the_store_usable(tmp_path, square):
    with ProjectStore.open(tmp_path, timeout=0.2) as store:
        locker = sqlite3.connect(project_db_path(tmp_path), isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        with pytest.raises(ProjectLockedError):
            store.write_change("a.png", saved=[AnnotatedObject("a", square(0, 0))])
        locker.execute("ROLLBACK")
        locker.close()
        store.write_change("a.png", saved=[AnnotatedObject("a", square(0, 0))])
        assert len(store.objects("a.png")) == 1


def test_damaged_database_is_a_clear_error(tmp_path):
    db = project_db_path(tmp_path)
    db.parent.mkdir()
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProjectStoreError, match="damaged or not a Protolabel database"):
        ProjectStore.open(tmp_path)


def _set_read_only(paths, read_only: bool) -> None:
    """chmod for normal users; root ignores permissions, so as root use the immutable attribute."""
    for path in paths:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "+i" if read_only else "-i", str(path)], check=True, capture_output=True)
        else:
            path.chmod((0o555 if path.is_dir() else 0o444) if read_only else (0o755 if path.is_dir() else 0o644))


@pytest.mark.skipif(os.geteuid() == 0 and shutil.which("chattr") is None, reason="root without chattr")
@pytest.mark.parametrize("existing_project", [False, True])
def test_read_only_folder_is_a_clear_error(tmp_path, existing_project):
    folder = tmp_path / "photos"
    folder.mkdir()
    locked = [folder]
    if existing_project:
        ProjectStore.open(folder).close()  # closing the last connection removes the -wal/-shm files
        locked = [*(folder / ".protolabel").iterdir(), folder / ".protolabel", folder]
    _set_read_only(locked, True)
    try:
        with pytest.raises(ProjectReadOnlyError) as info:
            ProjectStore.open(folder)
    finally:
        _set_read_only(locked, False)
    assert (
        "read-only" in str(info.value) or "Permission denied" in str(info.value) or "not permitted" in str(info.value)
    )


def test_class_counts_read_an_index_which_older_databases_gain_when_opened(tmp_path, square):
    with ProjectStore.open(tmp_path) as store:
        store.write_change("a.png", saved=[AnnotatedObject(label, square(0, 0)) for label in ("cat", "dog", "cat")])
    db = sqlite3.connect(tmp_path / ".protolabel" / "project.db")
    db.execute("DROP INDEX objects_by_label")  # as a database of an older version of the same schema
    db.commit()
    db.close()
    with ProjectStore.open(tmp_path) as store:
        plan = " ".join(row[-1] for row in store._read(f"EXPLAIN QUERY PLAN {LABEL_COUNTS_SQL}"))
        assert "INDEX objects_by_label" in plan
        assert store.label_counts() == {"cat": 2, "dog": 1}


def test_a_person_s_delete_remembers_the_auto_objects_it_rejects(tmp_path, square):
    with ProjectStore.open(tmp_path) as store:
        auto, drawn = store.write_change(
            "a.png",
            saved=[
                AnnotatedObject("cat", square(0, 0), Provenance.AUTO, 0.9),
                AnnotatedObject("dog", square(40, 40), Provenance.EDITED),
            ],
        )
        store.write_change("a.png", removed=[auto, drawn], reject=True)
        assert store.rejected_shapes("a.png") == [auto.shape]  # the auto one only: the model made it
        assert store.rejected_shapes("b.png") == []
        store.write_change("a.png", saved=[auto])  # the undo of that delete
        assert store.rejected_shapes("a.png") == []
        (other,) = store.write_change("a.png", saved=[AnnotatedObject("cow", square(9, 9), Provenance.AUTO, 0.5)])
        store.write_change("a.png", removed=[other])  # not a rejection (e.g. merged into another object)
        assert store.rejected_shapes("a.png") == []
