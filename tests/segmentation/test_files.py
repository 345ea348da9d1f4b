import os

import pytest

from protolabel.segmentation.files import atomic_write_bytes, atomic_write_text


def test_atomic_write_replaces_content_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "données annotées.json"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_new_file_honours_umask_and_existing_mode_is_kept(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "a.json"
        atomic_write_bytes(target, b"x")
        assert target.stat().st_mode & 0o777 == 0o644
        target.chmod(0o600)
        atomic_write_bytes(target, b"y")
        assert target.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "a.json"
    atomic_write_text(target, "precious")

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "half")
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
