"""Opening a user's input file for reading: regular files only, and never more bytes than a bound.

A FIFO named `x.png` blocks a plain open() until some writer appears (forever), and `/dev/zero` given
as a label file is read until memory runs out. Every reader of user files (images, COCO files,
checkpoints, ONNX models, their sidecars) opens them here: the file is opened without blocking,
its descriptor (not its name, which may change meanwhile) must be a regular file, and a bounded
read refuses a file larger than its kind can sanely be before reading it.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

MAX_SIDECAR_BYTES = 16 << 20  # a class list or class map beside a model: kilobytes, never this

# Said in errors ("a named pipe (FIFO)") for what st_mode is, when it is not a regular file.
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class InputFileError(OSError):
    """A file refused before reading; OSError(errno, reason, path), whose str is 'PATH: reason'."""

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


class NotRegularFileError(InputFileError):
    """The path names a FIFO, a device, a socket, a folder (or a link where none is followed)."""


class InputTooLargeError(InputFileError):
    """The file is larger than the bound for its kind; nothing was read."""


def _error(cls: type[InputFileError], code: int, reason: str, path: str | os.PathLike) -> InputFileError:
    return cls(code, reason, os.fspath(path))


def kind_of(mode: int) -> str:
    """What a st_mode is, in words ('a named pipe (FIFO)'); 'a regular file' for one."""
    for test, words in _KINDS:
        if test(mode):
            return words
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def open_input(path: str | os.PathLike, *, follow_links: bool = True) -> BinaryIO:
    """`path` opened for binary reading; NotRegularFileError when it is not a regular file.

    Opened with O_NONBLOCK, so a FIFO never blocks the open, then judged by fstat on the descriptor.
    `follow_links=False` refuses a symlink (O_NOFOLLOW), for files whose place the program chose.
    Other errors are the OSError of os.open (FileNotFoundError, PermissionError, ...)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_links:
            raise _error(
                NotRegularFileError, errno.ELOOP, "a symbolic link, which is not followed here", path
            ) from None
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO on some systems: opening it does not block here
            raise _error(NotRegularFileError, errno.ENXIO, "a socket or pipe, not a regular file", path) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _error(NotRegularFileError, errno.EINVAL, f"{kind_of(mode)}, not a regular file", path)
        if flags & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)  # a regular file reads the same either way; plain reads from here on
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_input_file(path: str | os.PathLike, *, follow_links: bool = True) -> int:
    """The size in bytes of the regular file at `path` (opened and judged as open_input does)."""
    with open_input(path, follow_links=follow_links) as handle:
        return os.fstat(handle.fileno()).st_size


def read_input_bytes(path: str | os.PathLike, limit: int, *, what: str = "file", follow_links: bool = True) -> bytes:
    """The bytes of the regular file at `path`; InputTooLargeError when it holds more than `limit` bytes.

    The size is checked before reading, and the read stops at `limit` + 1 bytes in case the file grows."""
    with open_input(path, follow_links=follow_links) as handle:
        return _read_bounded(handle, path, limit, what)


def read_input_text(path: str | os.PathLike, limit: int, *, what: str = "file") -> str:
    """read_input_bytes decoded as UTF-8 (UnicodeDecodeError, a ValueError, when it is not)."""
    return read_input_bytes(path, limit, what=what).decode("utf-8")


def _read_bounded(handle: BinaryIO, path: str | os.PathLike, limit: int, what: str) -> bytes:
    size = os.fstat(handle.fileno()).st_size
    if size > limit:
        raise too_large(path, size, limit, what)
    data = handle.read(size + 1)  # one buffer of the known size (a chunked read would hold it twice)
    if len(data) > size:  # it grew meanwhile, or reports no size (as /proc files do): on up to the limit
        data += handle.read(limit + 1 - len(data))
    if len(data) > limit:
        raise too_large(path, len(data), limit, what)
    return data


def too_large(path: str | os.PathLike, size: int, limit: int, what: str) -> InputTooLargeError:
    """The error for a `what` of `size` bytes over `limit` (sizes in MB, as a person reads them)."""
    reason = f"{what} of {_megabytes(size)}, more than the {_megabytes(limit)} read at most"
    return _error(InputTooLargeError, errno.EFBIG, reason, path)  # type: ignore[return-value]


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n < 10**9 else f"{n / 1e9:,.2f} GB"
