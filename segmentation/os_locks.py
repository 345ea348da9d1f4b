"""Advisory OS locks on an open file: flock on POSIX, a one-byte lock on Windows. One implementation for the
project's writer lock (segmentation/project/lock.py) and the model cache's download lock
(segmentation/model_manager.py); each decides what to do when the lock is held (refuse, or wait).
"""

from __future__ import annotations

import os
import sys


def try_lock(fd: int, windows_offset: int = 0) -> bool:
    """Take an exclusive lock on `fd` without waiting; False when another process holds it.

    `windows_offset`: the byte Windows locks (a lock there is mandatory for that byte, so a file whose text
    others must read is locked far past its end)."""
    if sys.platform == "win32":
        import msvcrt

        try:
            os.lseek(fd, windows_offset, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def unlock(fd: int, windows_offset: int = 0) -> None:
    """Release the lock `try_lock` took (Windows wants its byte lock undone before the close)."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, windows_offset, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)
