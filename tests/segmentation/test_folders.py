"""The one folder walker: loops end, every caller lists the same files, hidden and unreadable folders skipped."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from protolabel.segmentation.commands.predict import expand_inputs
from protolabel.segmentation.folders import walk_folder
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
        "predict": [p.relative_to(folder).as_posix() for _, p in expand_inputs([str(folder)])],
        "app": scan_image_names(folder),
    }


SEVENTEEN = (
    [f"img{i}.png" for i in range(10)]
    + [f"sub/s{i}.jpg" for i in range(4)]
    + ["sub/deep/d1.png", "sub/deep/d2.png", "z.tif"]
)


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


# ---------------------------------------------------------------- nothing left out without a word (issue 20)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
def test_a_fifo_named_like_an_image_is_left_out_and_named(tmp_path):
    _touch(tmp_path, ["a.png"])
    os.mkfifo(tmp_path / "x.png")
    walk = walk_folder(tmp_path)
    assert walk.names == ("a.png",)
    assert walk.left_out == (("x.png", "a named pipe (FIFO), not a regular file"),)
    assert walk.report_lines() == ["left out 1 (a named pipe (FIFO), not a regular file): x.png"]


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux file systems take names that are not UTF-8")
def test_names_that_are_not_utf8_are_left_out_and_named_escaped(tmp_path):
    _touch(tmp_path, ["ok.png"])
    (tmp_path / "sub").mkdir()
    for raw in (b"caf\xe9.png", b"sub/\xff.png", b"d\xe9j\xe0"):
        if raw.startswith(b"d"):
            os.mkdir(os.fsencode(tmp_path) + b"/" + raw)
        else:
            open(os.fsencode(tmp_path) + b"/" + raw, "wb").close()
    walk = walk_folder(tmp_path)
    assert walk.names == ("ok.png",)
    assert [name for name, _ in walk.left_out] == ["caf\\xe9.png", "d\\xe9j\\xe0", "sub/\\xff.png"]
    assert {why for _, why in walk.left_out} == {"name not valid UTF-8: rename it to use it"}


def test_a_path_longer_than_the_system_allows_is_named(tmp_path):
    limit = os.pathconf(tmp_path, "PC_PATH_MAX") if hasattr(os, "pathconf") else 260
    segment = "d" * 200
    fd = os.open(tmp_path, os.O_RDONLY)
    try:  # made relative to open folders: the whole path is too long for the system to take at once
        for _ in range(limit // len(segment) + 1):
            os.mkdir(segment, dir_fd=fd)
            inner = os.open(segment, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.close(os.open("deep.png", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    finally:
        os.close(fd)
    _touch(tmp_path, ["top.png"])
    walk = walk_folder(tmp_path)
    assert walk.names == ("top.png",)
    assert len(walk.left_out) == 1 and walk.left_out[0][0].startswith(segment + "/")
    assert walk.left_out[0][1].endswith("its path is longer than the system allows")
    assert "..." in walk.report_lines()[0]  # a name of thousands of characters is cut in the middle


def test_an_unreadable_sub_folder_is_named_with_its_reason(tmp_path, monkeypatch):
    _touch(tmp_path, ["a.png", "locked/b.png"])
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert walk_folder(tmp_path).left_out == (("locked", "folder not read: Permission denied"),)
    assert scan_folder(tmp_path).left_out == ["left out 1 (folder not read: Permission denied): locked"]
