"""A folder with links planted in .protolabel/: the app refuses to open it, says why, and writes nothing outside."""

from __future__ import annotations

from protolabel.app.training.runs import RunFolder, removable_runs, remove_runs
from protolabel.segmentation.project.lock import lock_path
from protolabel.segmentation.project.store import ProjectStore

PRECIOUS = b"somebody else's file\n"


def test_a_planted_writer_lock_link_is_refused_with_a_message(make_window, photo_folder, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_bytes(PRECIOUS)
    (photo_folder / ".protolabel").mkdir()
    lock_path(photo_folder).symlink_to(outside)
    window = make_window()
    assert window.open_folder(photo_folder) is False
    assert window.projects.project is None
    assert outside.read_bytes() == PRECIOUS
    assert "writer.lock is a symbolic link" in window.last_error and str(outside) in window.last_error
    assert "The folder was not opened" in window.last_error


def test_a_linked_project_folder_is_refused_with_a_message(make_window, photo_folder, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (photo_folder / ".protolabel").symlink_to(elsewhere)
    window = make_window()
    assert window.open_folder(photo_folder) is False
    assert list(elsewhere.iterdir()) == []
    assert ".protolabel is a symbolic link" in window.last_error


def test_runs_of_a_linked_training_folder_are_neither_listed_nor_removed(photo_folder, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "2024-01-01_00-00-00").mkdir(parents=True)
    ProjectStore.open(photo_folder).close()
    (photo_folder / ".protolabel" / "training").symlink_to(elsewhere)
    assert removable_runs(photo_folder) == []
    run = RunFolder(photo_folder / ".protolabel" / "training" / "2024-01-01_00-00-00", 0)
    problems = remove_runs(photo_folder, [run])
    assert (elsewhere / "2024-01-01_00-00-00").is_dir() and "symbolic link" in problems[0]
