"""One writer per folder: an OS lock on FOLDER/.protolabel/writer.lock, held while a window has the folder open.

The lock is an flock (POSIX) or msvcrt byte lock (Windows) on an open file, so the operating system
releases it when the holder exits or crashes: a lock file left behind by a dead process never blocks.
The file's text names the holder (pid, host, program) so a refused opener can say who has the folder.
Locks are per open file, so a second window in the same process is refused too.
The file is opened without following a link (segmentation.project_files): a planted writer.lock link
is refused with a message, never truncated through.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from protolabel.segmentation.folders import PROJECT_DIR_NAME
from protolabel.segmentation.os_locks import try_lock, unlock
from protolabel.segmentation.project_files import open_project_file, read_project_file

LOCK_NAME = "writer.lock"
_WINDOWS_LOCK_OFFSET = 1 << 30  # Windows locks a byte far past the text, so others can still read who holds it
_MAX_HOLDER_BYTES = 4096  # the holder's JSON is ~100 bytes; a larger file is not ours


@dataclass(frozen=True)
class LockHolder:
    """Who holds a folder: as written by the holder into the lock file (may be unknown for a moment)."""

    pid: int | None
    host: str
    program: str

    def describe(self) -> str:
        if self.pid is None:
            return "another Protolabel process"
        return f"{self.program} (pid {self.pid} on {self.host})"


class FolderLockedError(Exception):
    """Another process holds the folder's writer lock."""

    def __init__(self, folder: Path, holder: LockHolder) -> None:
        self.folder = folder
        self.holder = holder
        super().__init__(
            f"{folder} is already open in {holder.describe()}; close it there, or work on a copy of the folder"
        )


def lock_path(folder: str | Path) -> Path:
    return Path(folder) / PROJECT_DIR_NAME / LOCK_NAME


def read_holder(folder: str | Path) -> LockHolder:
    """The holder named in the lock file; unknown (pid None) if it is missing or not yet written."""
    try:
        data = json.loads(read_project_file(lock_path(folder), _MAX_HOLDER_BYTES).decode("utf-8"))
        return LockHolder(int(data["pid"]), str(data["host"]), str(data["program"]))
    except (OSError, ValueError, KeyError, TypeError):
        return LockHolder(None, "", "")


class FolderLock:
    """The writer lock of one folder, held until release() (or the process ends)."""

    def __init__(self, folder: Path, fd: int) -> None:
        self.folder = folder
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, folder: str | Path, program: str = "Protolabel") -> FolderLock:
        """Take the folder's lock; raises FolderLockedError naming the holder, OSError if the file cannot be made
        (ProjectFileError, saying why, when writer.lock is a link, not a regular file or another user's).

        The project folder (.protolabel/) must exist: the store creates it when it opens.
        """
        folder = Path(folder)
        path = lock_path(folder)
        fd = open_project_file(path, os.O_RDWR | os.O_CREAT)
        try:
            if not try_lock(fd, _WINDOWS_LOCK_OFFSET):
                raise FolderLockedError(folder, read_holder(folder))
            text = json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "program": program,
                    "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                }
            )
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, text.encode("utf-8"))
        except BaseException:
            os.close(fd)
            raise
        return cls(folder, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Give the folder up (idempotent). The file stays; only the OS lock matters."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # nobody holds it now: a later refusal must not name this process
            unlock(fd, _WINDOWS_LOCK_OFFSET)
        finally:
            os.close(fd)

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
