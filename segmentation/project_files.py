"""The project's own files under FOLDER/.protolabel/: made and opened without following a link.

An image folder may come from anyone (a shared drive, an unpacked archive), so a link planted as
`.protolabel`, writer.lock, project.db or a cache file must never lead Protolabel to write outside
the folder. Everything under .protolabel/ is made or opened through this module: a link is refused
(O_NOFOLLOW on the file, lstat on the folders), and what was opened is checked on its descriptor:
a regular file (or a folder) owned by this user. A refusal is a ProjectFileError whose message
names the path, says what it is and what to do.

SQLite opens its database by path, so the store checks project.db and its -wal/-shm/-journal
files with `check_project_file` before connecting and compares project.db again after.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from protolabel.segmentation.files import describe_kind
from protolabel.segmentation.folders import PROJECT_DIR_NAME

# O_NOFOLLOW and O_NONBLOCK do not exist on Windows (no planted symlinks of this kind there, no FIFOs).
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_NO_WAIT = getattr(os, "O_NONBLOCK", 0)  # a FIFO in place of a project file must not block the open


class ProjectFileError(OSError):
    """A file or folder under .protolabel/ that Protolabel will not use: a link, not a regular file,
    another user's. The message is the whole explanation."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def _owned(st: os.stat_result) -> bool:
    """Made by this user (or by root, who can write anywhere anyway); always true where there are no uids."""
    if not hasattr(os, "geteuid"):
        return True
    return st.st_uid in (os.geteuid(), 0)


def _link_error(path: Path, advice: str) -> ProjectFileError:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return ProjectFileError(
        f"{path} is a symbolic link (to {target}); Protolabel never follows a link inside a "
        f"project, so nothing was read or written through it. {advice}"
    )


def _owner_error(path: Path, st: os.stat_result) -> ProjectFileError:
    return ProjectFileError(
        f"{path} belongs to another user (uid {st.st_uid}), so Protolabel does not use it: its "
        "owner could make it lead elsewhere. Open a copy of the images in a folder of your own, "
        "or have its owner open it."
    )


def _check_folder(path: Path, st: os.stat_result, advice: str) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise _link_error(path, advice)
    if not stat.S_ISDIR(st.st_mode):
        raise ProjectFileError(
            f"{path} is {describe_kind(st.st_mode)}, not a folder; Protolabel keeps the project's files there. {advice}"
        )
    if not _owned(st):
        raise _owner_error(path, st)


def _checked_folder(path: Path, create: bool, advice: str) -> Path:
    if create:
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
    st = os.lstat(path)  # FileNotFoundError when it does not exist and is not to be made
    _check_folder(path, st, advice)
    return path


def project_dir(folder: str | os.PathLike, *, create: bool = False) -> Path:
    """FOLDER/.protolabel, checked (and made when `create`): a real folder of this user, never a link.

    Raises ProjectFileError when it is a link, not a folder or another user's; OSError when it cannot
    be made (read-only folder) or, without `create`, does not exist."""
    path = Path(folder) / PROJECT_DIR_NAME
    return _checked_folder(
        path,
        create,
        "Move it out of the folder (if it holds this folder's project, put that "
        "folder here in its place) and open the folder again.",
    )


def project_subdir(folder: str | os.PathLike, name: str, *, create: bool = False) -> Path:
    """FOLDER/.protolabel/NAME (the inference cache, training runs), checked as `project_dir` is."""
    base = project_dir(folder, create=create)
    return _checked_folder(base / name, create, "Remove it and try again; Protolabel makes a new one.")


def check_project_file(path: str | os.PathLike) -> os.stat_result | None:
    """The lstat of a project file that others open by path (SQLite), None when it does not exist.

    Raises ProjectFileError when it is a link, not a regular file or another user's."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    _check_file(path, st)
    return st


def _check_file(path: Path, st: os.stat_result) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise _link_error(path, "Remove the link and try again.")
    if not stat.S_ISREG(st.st_mode):
        raise ProjectFileError(
            f"{path} is {describe_kind(st.st_mode)}, not a regular file, so Protolabel does "
            "not use it. Move it out of the folder and try again."
        )
    if not _owned(st):
        raise _owner_error(path, st)


def open_project_file(path: str | os.PathLike, flags: int, mode: int = 0o644) -> int:
    """os.open for a file under .protolabel/, never through a link: a descriptor of a regular file of this
    user (the caller closes it). Its folder is checked too. Raises ProjectFileError or OSError."""
    path = Path(path)
    _check_folder(path.parent, os.lstat(path.parent), "Remove it and try again.")
    try:
        fd = os.open(path, flags | _NO_FOLLOW | _NO_WAIT, mode)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK) and os.path.islink(path):  # EMLINK: FreeBSD's O_NOFOLLOW
            raise _link_error(path, "Remove the link and try again.") from None
        raise
    try:
        _check_file(path, os.fstat(fd))  # what was opened, not what the name pointed at a moment before
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_project_file(path: str | os.PathLike, limit: int) -> bytes:
    """At most `limit` bytes of a project file, opened as `open_project_file` does."""
    fd = open_project_file(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        return f.read(limit)
