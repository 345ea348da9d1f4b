"""Hand callbacks from worker threads to the Qt UI thread (model events fire in whatever thread changed the model)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QObject, Qt, Signal, Slot


class MainThreadInvoker(QObject):
    """`invoker.wrap(fn)` gives a callable that, called from any thread, runs `fn` later in the UI thread."""

    _call = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        fn()

    def call(self, fn: Callable, *args) -> None:
        self._call.emit(partial(fn, *args))

    def wrap(self, fn: Callable) -> Callable:
        def queued(*args):
            self._call.emit(partial(fn, *args))

        return queued
