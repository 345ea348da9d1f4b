"""Planted links and odd files under .protolabel/: refused with a message naming them; nothing outside the folder
is written, truncated or created."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from protolabel.segmentation.cli import main
from protolabel.segmentation.project.fine_tune import TrainingRequest, export_training_set
from protolabel.segmentation.project.lock import FolderLock, lock_path
from protolabel.segmentation.project.store import ProjectStore, UnsafeProjectError, project_db_path
from protolabel.segmentation.project_files import ProjectFileError, project_dir

PRECIOUS = b"somebody else's file\n"


@pytest.fixture
def outside(tmp_path) -> Path:
    """A file outside the project folder that a planted link points at."""
    path = tmp_path / "outside.txt"
    path.write_bytes(PRECIOUS)
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    path = tmp_path / "photos"
    path.mkdir()
    return path


def _coco(tmp_path: Path) -> Path:
    path = tmp_path / "in.json"
    path.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.png", "width": 40, "height": 40}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[2, 2, 20, 2, 20, 20]]}],
                "categories": [{"id": 1, "name": "cup"}],
            }
        )
    )
    return path


def test_a_planted_writer_lock_link_is_refused_and_its_target_left_whole(folder, outside):
    ProjectStore.open(folder).close()
    lock_path(folder).symlink_to(outside)
    with pytest.raises(ProjectFileError) as caught:
        FolderLock.acquire(folder)
    assert outside.read_bytes() == PRECIOUS
    message = str(caught.value)
    assert str(lock_path(folder)) in message and "symbolic link" in message and str(outside) in message
    assert "Remove the link" in message


def test_import_refuses_a_planted_writer_lock_link(folder, outside, tmp_path, capsys):
    (folder / ".protolabel").mkdir()
    lock_path(folder).symlink_to(outside)
    assert main(["import", str(folder), "--coco", str(_coco(tmp_path))]) == 2
    assert outside.read_bytes() == PRECIOUS
    assert "writer.lock is a symbolic link" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["project.db", "project.db-wal", "project.db-journal", "project.db-shm"])
def test_a_planted_database_link_is_refused_before_sqlite_opens_it(folder, outside, name):
    (folder / ".protolabel").mkdir()
    (folder / ".protolabel" / name).symlink_to(outside)
    with pytest.raises(UnsafeProjectError, match=f"{name} is a symbolic link"):
        ProjectStore.open(folder)
    assert outside.read_bytes() == PRECIOUS


def test_a_dangling_database_link_creates_nothing_where_it_points(folder, tmp_path):
    (folder / ".protolabel").mkdir()
    project_db_path(folder).symlink_to(tmp_path / "made-elsewhere.db")
    with pytest.raises(UnsafeProjectError):
        ProjectStore.open(folder)
    assert not (tmp_path / "made-elsewhere.db").exists()


def test_a_linked_project_folder_is_refused_and_nothing_is_made_where_it_points(folder, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (folder / ".protolabel").symlink_to(elsewhere)
    with pytest.raises(UnsafeProjectError) as caught:
        ProjectStore.open(folder)
    assert list(elsewhere.iterdir()) == []
    assert ".protolabel is a symbolic link" in str(caught.value) and str(elsewhere) in str(caught.value)


def test_a_database_that_is_a_folder_is_called_a_folder_not_read_only(folder):
    project_db_path(folder).mkdir(parents=True)
    with pytest.raises(UnsafeProjectError) as caught:
        ProjectStore.open(folder)
    assert "project.db is a folder, not a regular file" in str(caught.value)
    assert "read-only" not in str(caught.value)


def test_a_project_file_where_the_folder_should_be_is_named(folder):
    (folder / ".protolabel").write_text("not a folder")
    with pytest.raises(UnsafeProjectError, match=r"\.protolabel is a regular file, not a folder"):
        ProjectStore.open(folder)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")
def test_another_users_project_folder_is_refused(folder):
    (folder / ".protolabel").mkdir()
    os.chown(folder / ".protolabel", 4321, 4321)
    with pytest.raises(UnsafeProjectError, match="belongs to another user"):
        ProjectStore.open(folder)


def test_project_dir_accepts_its_own_folder_and_makes_it(folder):
    assert project_dir(folder, create=True).is_dir()
    with ProjectStore.open(folder) as store, FolderLock.acquire(folder):
        store.set_setting("x", 1)  # an ordinary project still opens and writes


def test_a_linked_training_folder_gets_no_run(folder, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ProjectStore.open(folder).close()
    (folder / ".protolabel" / "training").symlink_to(elsewhere)
    run_dir = folder / ".protolabel" / "training" / "run"
    request = TrainingRequest(folder=folder, run_dir=run_dir, weights=Path("w.pth"))
    with ProjectStore.open(folder) as store, pytest.raises(ProjectFileError, match="training is a symbolic link"):
        export_training_set(store, request)
    assert list(elsewhere.iterdir()) == []
