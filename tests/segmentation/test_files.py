import errno
import os
import stat

import pytest

from protolabel.segmentation.files import (
    NotAFileError,
    atomic_write_bytes,
    atomic_write_text,
    is_stream,
    write_output_bytes,
)


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


# ---------------------------------------------------------------- outputs that are not regular files


def test_an_atomic_write_never_replaces_a_pipe(tmp_path):
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    with pytest.raises(NotAFileError, match="is a pipe"):
        atomic_write_bytes(fifo, b"x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temp file left


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root")
def test_an_atomic_write_never_replaces_a_device_node(tmp_path):
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own: the real one stays safe
    with pytest.raises(NotAFileError, match="is a character device"):
        atomic_write_bytes(node, b"x")
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_an_output_to_a_pipe_descriptor_is_written_through(tmp_path):
    read_end, write_end = os.pipe()
    try:
        path = f"/dev/fd/{write_end}"  # what bash's >(cat > f) passes
        assert is_stream(path)
        write_output_bytes(path, b"results")
        os.close(write_end)
        assert os.read(read_end, 100) == b"results"
    finally:
        os.close(read_end)


def test_an_output_to_stdout_redirected_to_a_file_is_appended_there_not_replaced(tmp_path):
    target = tmp_path / "redirected.json"
    with open(target, "wb") as f:
        f.write(b"printed before\n")
        f.flush()
        path = f"/dev/fd/{f.fileno()}"  # /dev/stdout when the shell redirected it to a file
        assert is_stream(path)
        with pytest.raises(NotAFileError, match="descriptor"):
            atomic_write_bytes(path, b"x")
        write_output_bytes(path, b"results\n")
    assert target.read_bytes() == b"printed before\nresults\n"
    assert [p.name for p in tmp_path.iterdir()] == ["redirected.json"]


def test_a_full_character_device_fails_with_enospc_not_replaced():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with pytest.raises(OSError) as caught:
        write_output_bytes("/dev/full", b"x")  # written through (never renamed over), so this is safe as root
    assert caught.value.errno == errno.ENOSPC
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)
