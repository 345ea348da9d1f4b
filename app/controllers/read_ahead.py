"""Reading ahead: the images next to the one shown are decoded on a worker thread before they are asked for.

Reviewing moves image by image (D/A, Tab to the next unverified object), so by the time the user
leaves an image its neighbour is usually decoded already and shows without a decode on the UI
thread, and a large photo shows without its "Loading…" wait. An entry is used only while the file
is unchanged (same size and modification time); a read that fails is remembered as its reason.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QThreadPool

from protolabel.app.qt_bridge import MainThreadInvoker

ReadResult = tuple[np.ndarray | None, str | None]  # (image, None) or (None, reason)
Reader = Callable[[Path], ReadResult]


def file_key(path: Path) -> tuple[int, int] | None:
    """(size, mtime in ns) of the file, or None when it cannot be stat'ed."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


@dataclass
class _Entry:
    key: tuple[int, int] | None
    done: threading.Event = field(default_factory=threading.Event)
    result: ReadResult | None = None
    waiters: list[Callable[[np.ndarray | None, str | None], None]] = field(default_factory=list)


class ImageReadAhead:
    """Decoded neighbours of the current image, read on `pool`; every method is for the UI thread.

    Holds at most the entries named by the last `keep` call, so memory stays at a few images.
    """

    def __init__(self, read: Reader, invoker: MainThreadInvoker, pool: QThreadPool | None = None) -> None:
        self._read = read
        self._invoker = invoker
        self._pool = pool or QThreadPool.globalInstance()
        self._entries: dict[Path, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, path: Path) -> ReadResult | None:
        """The decoded image (or its read error) if it was read ahead and the file is unchanged."""
        entry = self._entries.get(path)
        if entry is None or not entry.done.is_set() or entry.key != file_key(path):
            return None
        return entry.result

    def when_read(self, path: Path, callback: Callable[[np.ndarray | None, str | None], None]) -> bool:
        """True when `path` is being read ahead: `callback(image, error)` then runs on the UI thread once it is."""
        entry = self._entries.get(path)
        if entry is None or entry.done.is_set() or entry.key != file_key(path):
            return False
        entry.waiters.append(callback)
        return True

    def keep(self, paths: Iterable[Path], *, hold: Iterable[Path] = ()) -> None:
        """Hold these images, reading the ones not read yet (or changed), plus those of `hold` already held
        (the image on screen: going back to it needs no read); forget the others."""
        wanted = list(dict.fromkeys(paths))
        held = set(wanted) | set(hold)
        for path in [p for p in self._entries if p not in held]:
            del self._entries[path]  # a read still running finishes into an entry nobody holds
        for path in wanted:
            key = file_key(path)
            entry = self._entries.get(path)
            if key is None or (entry is not None and entry.key == key):
                continue
            entry = self._entries[path] = _Entry(key)
            self._pool.start(lambda path=path, entry=entry: self._run(path, entry))

    def clear(self) -> None:
        self._entries.clear()

    def _run(self, path: Path, entry: _Entry) -> None:
        """Worker thread: decode, then hand the result to the UI thread's waiters."""
        entry.result = self._read(path)
        entry.done.set()
        try:
            self._invoker.call(self._deliver, entry)
        except RuntimeError:  # the window was closed while the image was read
            pass

    @staticmethod
    def _deliver(entry: _Entry) -> None:
        waiters, entry.waiters = entry.waiters, []
        for callback in waiters:
            callback(*entry.result)
