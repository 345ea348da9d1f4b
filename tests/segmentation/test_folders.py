"""The one folder walker: loops end, every caller lists the same files, hidden and unreadable folders skipped."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from protolabel.segmentation.folders import walk_folder
from protolabel.segmentation.images import iter_image_files
from protolabel.segmentation.prelabel import scan_folder
from protolabel.segmentation.project.image_list import scan_image_names

needs_symlinks = pytest.mark.skipif(sys.platform == "win32", reason="folder symlinks need privileges on Windows")


def _touch(folder: Path, names: list[str]) -> None:
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")  # the walker lists names; it never decodes


def _all_callers(folder: Path) -> dict[str, list[str]]:
    """The image names each entry point (CLI label, CLI predict, the app) sees."""
    return {
        "label": [rel for rel, _ in scan_folder(folder).images],
        "predict": [p.relative_to(folder).as_posix() for p in iter_image_files(folder)],
        "app": scan_image_names(folder),
    }


SEVENTEEN = [f"img{i}.png" for i in range(10)] + [f"sub/s{i}.jpg" for i in range(4)] + ["sub/deep/d1.png",
                                                                                           "sub/deep/d2.png", "z.tif"]


@needs_symlinks
def test_two_symlink_loops_end_with_each_image_once(tmp_path):
    _touch(tmp_path, SEVENTEEN)
    os.symlink(".", tmp_path / "a")
    os.symlink(".", tmp_path / "b")
    os.symlink("..", tmp_path / "sub" / "up")
    walk = walk_folder(tmp_path)
    assert len(SEVENTEEN) == 17
    assert sorted(walk.names) == sorted(SEVENTEEN)
    assert set(walk.links_skipped) == {"a", "b", "sub/up"}
    for caller, names in _all_callers(tmp_path).items():
        assert sorted(names) == sorted(SEVENTEEN), caller


@needs_symlinks
def test_linked_folder_outside_is_read_once_and_real_names_win(tmp_path):
    outside = tmp_path / "outside"
    _touch(outside, ["o1.png", "o2.png"])
    root = tmp_path / "root"
    _touch(root, ["r.png", "real/x.png"])
    os.symlink(outside, root / "link1")
    os.symlink(outside, root / "link2")
    os.symlink(root / "real", root / "alias")  # the same folder as real/: its files keep the real name
    names = scan_image_names(root)
    assert names == ["link1/o1.png", "link1/o2.png", "r.png", "real/x.png"]
    assert _all_callers(root)["label"] == names
    assert _all_callers(root)["predict"] == names


def test_hidden_files_and_folders_are_skipped_by_every_caller(tmp_path):
    _touch(tmp_path, ["a.png", ".hidden.png", ".cache/b.png", "sub/.c.png", "sub/d.png", "._e.jpg"])
    (tmp_path / "notes.txt").write_text("n")
    (tmp_path / ".notes.txt").write_text("n")
    for caller, names in _all_callers(tmp_path).items():
        assert names == ["a.png", "sub/d.png"], caller
    assert scan_folder(tmp_path).other_files == ["notes.txt"]


def test_natural_order_and_slash_names(tmp_path):
    _touch(tmp_path, ["img10.png", "img2.png", "IMG1.png", "b/x1.jpg", "b/x10.jpg", "b/x9.jpg"])
    assert scan_image_names(tmp_path) == ["b/x1.jpg", "b/x9.jpg", "b/x10.jpg", "IMG1.png", "img2.png", "img10.png"]


def test_unreadable_sub_folder_is_skipped_and_named(tmp_path, monkeypatch):
    _touch(tmp_path, ["a.png", "locked/b.png", "open/c.png"])
    real_scandir = os.scandir

    def scandir(path):  # chmod 000 does not stop root, so refuse the listing the way the OS would
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    walk = walk_folder(tmp_path)
    assert walk.names == ("a.png", "open/c.png")
    assert walk.unreadable == ("locked",)
    for caller, names in _all_callers(tmp_path).items():
        assert names == ["a.png", "open/c.png"], caller


@needs_symlinks
def test_broken_links_and_link_to_file(tmp_path):
    _touch(tmp_path, ["a.png"])
    os.symlink(tmp_path / "missing.png", tmp_path / "broken.png")
    os.symlink(tmp_path / "missing_dir", tmp_path / "broken_dir")
    os.symlink(tmp_path / "a.png", tmp_path / "alias.png")  # a file link is a file: listed by its name
    assert scan_image_names(tmp_path) == ["a.png", "alias.png"]


def test_top_folder_errors_are_the_callers(tmp_path):
    with pytest.raises(FileNotFoundError):
        walk_folder(tmp_path / "nope")
    (tmp_path / "f.png").write_bytes(b"x")
    with pytest.raises(NotADirectoryError):
        walk_folder(tmp_path / "f.png")


def test_progress_is_reported_and_can_abort(tmp_path, monkeypatch):
    import protolabel.segmentation.folders as folders

    monkeypatch.setattr(folders, "PROGRESS_EVERY", 3)
    _touch(tmp_path, [f"i{i}.png" for i in range(10)])
    seen: list[int] = []
    walk_folder(tmp_path, progress=seen.append)
    assert seen == [3, 6, 9]

    def stop(_count):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        walk_folder(tmp_path, progress=stop)


@needs_symlinks
def test_file_systems_without_inode_numbers_still_end_loops(tmp_path, monkeypatch):
    import protolabel.segmentation.folders as folders

    _touch(tmp_path, ["a.png", "sub/b.png"])
    os.symlink(".", tmp_path / "loop")
    real_stat = os.stat

    class NoInode:
        def __init__(self, st):
            self._st = st
            self.st_ino, self.st_dev = 0, 0

        def __getattr__(self, name):
            return getattr(self._st, name)

    monkeypatch.setattr(folders.os, "stat", lambda path, *a, **k: NoInode(real_stat(path, *a, **k)))
    monkeypatch.setattr(folders.os.DirEntry, "stat", lambda self, **k: NoInode(real_stat(self.path)), raising=False)
    assert walk_folder(tmp_path).names == ("a.png", "sub/b.png")
