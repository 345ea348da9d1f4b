"""Output paths: checked before any work, and a fallback when the final write fails.

Every command that writes (`label`, `predict`, `inspect`, `train`, the project export) checks
its output with `check_output_file` or `check_output_dir` first, so a bad path costs nothing
(and an input image is never overwritten by results). When the write at the end fails for a
reason the user can fix (full disk, read-only file system, no permission), `write_with_fallback`
keeps the results in a fallback file and says where, instead of losing the run.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from protolabel.segmentation.files import describe_kind, is_stream

T = TypeVar("T")

# The errors a user can fix by freeing space or choosing another place: worth a fallback.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG})


class OutputPathError(ValueError):
    """An output path that cannot be used; the message is one line naming the path and the reason."""


class OutputWriteError(Exception):
    """Neither the output nor any fallback could be written; the message says what was tried."""


def _same_file(a: os.stat_result | None, b: Path) -> bool:
    if a is None:
        return False
    try:
        other = b.stat()
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (other.st_dev, other.st_ino)


def _check_not_input(path: Path, inputs: Iterable[str | os.PathLike], what: str) -> None:
    target = Path(os.path.abspath(path))
    try:
        target_stat = target.stat()  # an existing output may be an input under another name or a link
    except OSError:
        target_stat = None
    for item in inputs:
        source = Path(os.path.abspath(item))
        if target == source or _same_file(target_stat, source):
            raise OutputPathError(
                f"{path}: the {what} is also an input; choose another name so the input is not overwritten"
            )


def _existing_ancestor(path: Path) -> Path:
    current = Path(os.path.abspath(path))
    while not current.exists() and current.parent != current:
        current = current.parent
    return current


def _check_writable_folder(folder: Path, path: Path, what: str) -> None:
    if not folder.is_dir():
        raise OutputPathError(f"{path}: cannot write the {what}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"{path}: cannot write the {what}: the folder {folder} is not writable")


def _check_not_a_special_file(path: Path, what: str, streams: bool) -> bool:
    """True when `path` is a stream the output may be written through (`streams`); OutputPathError for
    anything else that is not a regular file (a folder, a device, a socket; a stream when not `streams`)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    if stat.S_ISDIR(mode):
        raise OutputPathError(f"{path}: is a folder; the {what} must be a file name")
    stream = is_stream(path)
    if stream and streams:
        if not os.access(path, os.W_OK):
            raise OutputPathError(f"{path}: cannot write the {what}: no permission")
        return True
    if stream or not stat.S_ISREG(mode):
        kind = describe_kind(mode) if not stat.S_ISREG(mode) else "a descriptor of this process (/dev/fd, /proc)"
        allowed = "a file name, a pipe or a terminal" if streams else "a regular file or a new file name"
        raise OutputPathError(f"{path}: is {kind}; the {what} must be {allowed}")
    return False


def check_output_file(
    path: str | os.PathLike,
    inputs: Iterable[str | os.PathLike] = (),
    what: str = "output file",
    *,
    streams: bool = False,
) -> Path:
    """The output file path if it can be written: its folder exists and is writable, it is not a
    folder and not one of `inputs`. Raises OutputPathError (one line) otherwise.

    Anything else that is not a regular file is refused here, before the work, so it is never
    replaced: a device, a socket; with `streams` (outputs written once, by `write_output_bytes`) a
    pipe, a terminal or /dev/stdout is accepted and written through."""
    path = Path(path)
    if str(path) in ("", "."):
        raise OutputPathError(f"{str(path)!r}: not a file name")
    if _check_not_a_special_file(path, what, streams):
        return path
    _check_not_input(path, inputs, what)
    parent = Path(os.path.abspath(path)).parent
    if not parent.exists():
        raise OutputPathError(f"{path}: cannot write the {what}: the folder {parent} does not exist")
    _check_writable_folder(parent, path, what)
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"{path}: the existing {what} is read-only")
    return path


def check_not_an_image_in(folder: str | os.PathLike, path: str | os.PathLike, what: str = "output file") -> None:
    """Refuse an output with an image file name inside `folder`: every such file is an input of a
    folder run (or would become one on the next), whether it exists yet or not. OutputPathError (one line)."""
    from protolabel.segmentation.folders import is_image_name

    target = Path(os.path.realpath(path))
    if target.is_relative_to(os.path.realpath(folder)) and is_image_name(target.name):
        raise OutputPathError(
            f"{path}: the {what} has an image file name inside {folder}, so it is an input; choose a .json name"
        )


def check_output_dir(
    path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = (), what: str = "output folder"
) -> Path:
    """The output folder path if it is (or can be created as) a writable folder that is not one of
    `inputs`; an existing file there is refused. Raises OutputPathError (one line) otherwise."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        mode = path.stat().st_mode
        kind = "a file" if stat.S_ISREG(mode) else describe_kind(mode)
        raise OutputPathError(f"{path}: is {kind}, not a folder; the {what} must be a folder (or a new name)")
    _check_not_input(path, inputs, what)
    if path.is_dir():
        _check_writable_folder(path, path, what)
    else:
        ancestor = _existing_ancestor(path)
        if not ancestor.is_dir():
            raise OutputPathError(f"{path}: cannot create the {what}: {ancestor} is a file, not a folder")
        _check_writable_folder(ancestor, path, what)
    return path


def is_disk_error(exc: BaseException) -> bool:
    """True for write failures the user can fix elsewhere (full disk, read-only, no permission)."""
    return isinstance(exc, OSError) and exc.errno in DISK_ERRNOS


def fallback_folders() -> list[Path]:
    """Where results go when their own folder cannot take them: the current folder, then the temp folder."""
    folders = []
    for folder in (Path.cwd(), Path(tempfile.gettempdir())):
        if folder not in folders:
            folders.append(folder)
    return folders


def fallback_name(path: Path) -> str:
    """`name.unsaved-<time><suffix>`: recognisably the same output, never overwriting anything."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"{path.stem}.unsaved-{stamp}-{os.getpid()}{path.suffix}"


def describe_error(exc: OSError) -> str:
    return exc.strerror or str(exc)


@dataclass(frozen=True)
class Written(Generic[T]):
    """Where `write_with_fallback` put the output, what the write returned, and why it fell back."""

    requested: Path
    path: Path
    value: T
    error: str | None = None  # why `requested` could not be written; None when it was

    @property
    def fell_back(self) -> bool:
        return self.error is not None

    def note(self) -> str:
        """One line for the user when the output went elsewhere ('' when it did not)."""
        if not self.fell_back:
            return ""
        return f"could not write {self.requested} ({self.error}); the results were saved to {self.path} instead"


def write_with_fallback(
    path: str | os.PathLike, write: Callable[[Path], T], folders: Iterable[Path] | None = None
) -> Written[T]:
    """Call `write(path)`; when it fails with a disk error (or a stream fails in any way: /dev/full, a
    closed pipe), `write(fallback)` in each fallback folder until one works. Raises OutputWriteError
    when nothing could be written (saying what was tried); other errors pass through unchanged."""
    path = Path(path)
    stream = is_stream(path)
    try:
        return Written(path, path, write(path))
    except OSError as exc:
        if not (is_disk_error(exc) or stream):
            raise
        first = exc
    tried = [f"{path} ({describe_error(first)})"]
    for folder in fallback_folders() if folders is None else folders:
        candidate = Path(folder) / fallback_name(path)
        try:
            return Written(path, candidate, write(candidate), describe_error(first))
        except OSError as exc:
            if not is_disk_error(exc):
                raise
            tried.append(f"{candidate} ({describe_error(exc)})")
    raise OutputWriteError("could not write the results anywhere: " + "; ".join(tried)) from None
