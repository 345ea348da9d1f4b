"""Atomic file writing (a crash never leaves a half-written file behind), outputs written through to
streams (pipes, terminals, /dev/stdout), and file digests.

An atomic write replaces only a regular file (or makes a new one): a device, a pipe or a folder in
its place is never replaced by a file, which as root would swap /dev/null or /dev/stdout for a file.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

_DESCRIBED_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISFIFO, "a pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISREG, "a regular file"),
)
_PROC = "/proc"  # Linux's descriptor paths (/dev/stdout, /dev/fd/N) lead here


class NotAFileError(OSError):
    """An output path that an atomic write must not replace (a device, a pipe, a folder); the message says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def describe_kind(mode: int) -> str:
    """What a file mode is, in words: 'a folder', 'a pipe (FIFO)', 'a character device'..."""
    for test, words in _DESCRIBED_KINDS:
        if test(mode):
            return words
    return "not a regular file"


def through_descriptor(path: str | os.PathLike) -> bool:
    """The path reaches its file through /proc (/dev/stdout -> /proc/self/fd/1, /dev/fd/N): an open
    descriptor of this process, e.g. a shell redirection, not a name in a folder."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on links in a row
        if os.path.realpath(os.path.dirname(current)).startswith(_PROC + os.sep) or current.startswith(_PROC + os.sep):
            return True
        try:
            target = os.readlink(current)
        except OSError:
            return False
        current = os.path.normpath(os.path.join(os.path.dirname(current), target))
    return False


def is_stream(path: str | os.PathLike) -> bool:
    """True for an existing output that is written through, never replaced: a pipe, a terminal or other
    character device (/dev/null, /dev/full), or a descriptor path (/dev/stdout, /dev/fd/N) even to a file."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        return True
    return stat.S_ISREG(mode) and through_descriptor(path)


def write_output_bytes(path: str | os.PathLike, data: bytes) -> None:
    """A command's output: written through to a stream (`is_stream`), else atomically."""
    if is_stream(path):
        _write_through(path, data)
    else:
        atomic_write_bytes(path, data)


def write_output_text(path: str | os.PathLike, text: str) -> None:
    write_output_bytes(path, text.encode("utf-8"))


def _write_through(path: str | os.PathLike, data: bytes) -> None:
    # O_APPEND: /dev/stdout redirected to a file reopens it at offset 0; appending keeps what was printed there.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """All of `data` to the open descriptor `fd` (os.write may take only part of it, on a pipe or when interrupted)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _check_replaceable(path: Path) -> None:
    """Only a regular file (or nothing) is replaced: NotAFileError for a device, pipe, folder or descriptor path."""
    try:
        mode = os.stat(path).st_mode  # through a link too: a link to /dev/null is not replaced either
    except (OSError, ValueError):
        return  # nothing there (or a dangling link): the write makes the file
    if not stat.S_ISREG(mode):
        raise NotAFileError(f"{path} is {describe_kind(mode)}, not a regular file; it is not replaced by one")
    if through_descriptor(path):
        raise NotAFileError(f"{path} is a descriptor of this process, not a file name; it is not replaced")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync it, then rename it over `path` (a regular file or nothing:
    NotAFileError otherwise, see `write_output_bytes` for outputs that may be streams)."""
    path = Path(path)
    _check_replaceable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _mode_for(path))  # mkstemp makes the file private; a normal file honours the umask
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets 0o666 less the umask, as open() would."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, hex (read in blocks: checkpoints are hundreds of MB)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
