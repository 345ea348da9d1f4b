"""Output paths are checked before any work, and a failed final write keeps the results elsewhere."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from protolabel.segmentation.files import atomic_write_text, write_output_text
from protolabel.segmentation.output_paths import (
    OutputPathError,
    OutputWriteError,
    check_output_dir,
    check_output_file,
    write_with_fallback,
)


def test_a_usable_output_file_passes(tmp_path):
    assert check_output_file(tmp_path / "out.json") == tmp_path / "out.json"
    (tmp_path / "out.json").write_text("old")
    assert check_output_file(tmp_path / "out.json") == tmp_path / "out.json"  # replacing a file is fine


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda d: d / "missing" / "out.json", "does not exist"),
        (lambda d: d, "is a folder"),
        (lambda d: d / "file.txt" / "out.json", "is not a folder"),
    ],
)
def test_unusable_output_files_are_refused_in_one_line(tmp_path, make, message):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(OutputPathError, match=message) as info:
        check_output_file(make(tmp_path))
    assert "\n" not in str(info.value)


def test_an_input_is_never_an_output(tmp_path, monkeypatch):
    image = tmp_path / "photo.png"
    image.write_bytes(b"png bytes")
    with pytest.raises(OutputPathError, match="is also an input"):
        check_output_file(image, inputs=[image])
    monkeypatch.chdir(tmp_path)  # the same file under another spelling, and through a link
    with pytest.raises(OutputPathError, match="is also an input"):
        check_output_file("./photo.png", inputs=[str(image)])
    (tmp_path / "link.png").symlink_to(image)
    with pytest.raises(OutputPathError, match="is also an input"):
        check_output_file(tmp_path / "link.png", inputs=[image])
    assert image.read_bytes() == b"png bytes"


def test_output_folders(tmp_path):
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"  # created later
    (tmp_path / "a_file").write_text("keep me")
    with pytest.raises(OutputPathError, match="is a file, not a folder"):
        check_output_dir(tmp_path / "a_file")
    with pytest.raises(OutputPathError, match="is a file, not a folder"):
        check_output_dir(tmp_path / "a_file" / "run")
    assert (tmp_path / "a_file").read_text() == "keep me"


def test_read_only_folders_are_refused(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "old.json").write_text("{}")
    real_access = os.access
    # root may write anywhere, so the permission answer is simulated for this one folder
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p).startswith(str(locked)) else real_access(p, mode))
    with pytest.raises(OutputPathError, match="the folder .*locked is not writable"):
        check_output_file(locked / "out.json")
    with pytest.raises(OutputPathError, match="not writable"):
        check_output_dir(locked / "run")
    with pytest.raises(OutputPathError, match="not writable"):
        check_output_dir(locked)


def _failing_for(folder, code=errno.ENOSPC):
    """atomic_write_text that fails as a full disk (or read-only, ...) would, inside `folder` only."""

    def write(path):
        if os.path.abspath(path).startswith(os.path.abspath(folder) + os.sep):
            raise OSError(code, os.strerror(code), str(path))
        atomic_write_text(path, "results")
        return "ok"

    return write


def test_a_full_disk_sends_the_results_to_the_first_fallback_that_works(tmp_path):
    full, spare = tmp_path / "full", tmp_path / "spare"
    full.mkdir()
    spare.mkdir()
    written = write_with_fallback(full / "out.json", _failing_for(full), folders=[full, spare])
    assert written.fell_back and written.value == "ok"
    assert written.path.parent == spare and written.path.name.startswith("out.unsaved-")
    assert written.path.suffix == ".json" and written.path.read_text() == "results"
    assert "No space left on device" in written.note() and str(written.path) in written.note()
    assert list(full.iterdir()) == []  # no temp file left behind


def test_no_fallback_when_the_write_works(tmp_path):
    written = write_with_fallback(tmp_path / "out.json", _failing_for(tmp_path / "elsewhere"))
    assert not written.fell_back and written.path == tmp_path / "out.json" and written.note() == ""


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_nothing_writable_is_one_clear_error(tmp_path, code):
    with pytest.raises(OutputWriteError, match="could not write the results anywhere") as info:
        write_with_fallback(tmp_path / "out.json", _failing_for(tmp_path, code), folders=[tmp_path / "x"])
    assert str(tmp_path / "out.json") in str(info.value) and os.strerror(code) in str(info.value)


def test_other_errors_are_not_hidden(tmp_path):
    def broken(path):
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(OSError, match="Input/output"):
        write_with_fallback(tmp_path / "out.json", broken, folders=[tmp_path])


# ---------------------------------------------------------------- outputs that are not regular files


def _socket():
    import socket
    import tempfile

    folder = tempfile.mkdtemp(dir="/tmp")  # a socket path must be short (108 bytes)
    path = os.path.join(folder, "s")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)
    return sock, path


def test_a_pipe_or_terminal_output_is_accepted_only_where_it_is_written_through(tmp_path):
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    assert check_output_file(fifo, streams=True) == fifo
    with pytest.raises(OutputPathError, match="is a pipe .*must be a regular file or a new file name"):
        check_output_file(fifo)
    if os.path.exists("/dev/full"):
        with pytest.raises(OutputPathError, match="/dev/full: is a character device"):
            check_output_file("/dev/full", what="--out file")


def test_a_socket_is_refused_even_where_streams_are_written_through():
    sock, path = _socket()
    try:
        with pytest.raises(
            OutputPathError, match="is a socket; the --out file must be a file name, a pipe or a terminal"
        ):
            check_output_file(path, what="--out file", streams=True)
    finally:
        sock.close()
        os.unlink(path)
        os.rmdir(os.path.dirname(path))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root")
def test_a_block_device_is_refused_before_the_work(tmp_path):
    node = tmp_path / "disk"
    os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(7, 0))
    with pytest.raises(OutputPathError, match="is a block device"):
        check_output_file(node, streams=True)
    with pytest.raises(OutputPathError, match="is a block device, not a folder"):
        check_output_dir(node)


def test_a_failing_stream_sends_the_results_to_a_fallback(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads: the write fails with EPIPE, which no fallback would catch for a file
    spare = tmp_path / "spare"
    spare.mkdir()
    try:
        written = write_with_fallback(
            f"/dev/fd/{write_end}", lambda path: write_output_text(path, "results"), folders=[spare]
        )
    finally:
        os.close(write_end)
    assert written.fell_back and written.path.read_text() == "results"
