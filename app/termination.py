"""Ctrl+C in the terminal (SIGINT) or a polite kill (SIGTERM: a logout, `kill PID`) closes the window the
normal way: jobs stop, the layout is saved and the project is closed, as when the person closes it.

Without this, Python only notices SIGINT when Qt next calls Python code, and then raises KeyboardInterrupt
inside whatever event handler that is (a mouse move, an edit half done), while SIGTERM ends the process at
once without the window's shutdown.
"""

from __future__ import annotations

import signal

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QWidget

HANDLED = (signal.SIGINT, signal.SIGTERM)
# Python runs a signal handler only between its own bytecodes: a timer lets it run that often while the
# event loop waits in C++ (a no-op slot every 200 ms costs nothing measurable).
WAKE_INTERVAL_MS = 200
# While a modal question is open its own event loop runs, with code waiting behind it: answer it as
# cancelled, let that code finish, and look again this much later.
MODAL_RETRY_MS = 50


class TerminationSignals(QObject):
    """Routes SIGINT and SIGTERM to `window.close()` (once) while installed; `received` is the first
    signal's number, None until one arrives. A signal the process was started ignoring (SIG_IGN, as a
    background job of a script) stays ignored."""

    def __init__(self, window: QWidget) -> None:
        super().__init__()  # not the window's child: it outlives the window's C++ side if that goes first
        self.window = window
        self.received: int | None = None
        self._previous: dict[int, object] = {}
        self._wake = QTimer(self)
        self._wake.setInterval(WAKE_INTERVAL_MS)
        self._wake.timeout.connect(lambda: None)

    def install(self) -> None:
        for number in HANDLED:
            current = signal.getsignal(number)
            if current is signal.SIG_IGN:
                continue
            self._previous[number] = current
            signal.signal(number, self._on_signal)
        if self._previous:
            self._wake.start()

    def restore(self) -> None:
        """Put back the handlers that were there before `install`."""
        self._wake.stop()
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    def exit_code(self, code: int) -> int:
        """The process's exit status: 128 + the signal's number when one closed the window (the shell's
        convention), else `code`."""
        return code if self.received is None else 128 + self.received

    def _on_signal(self, number: int, _frame) -> None:
        if self.received is not None:
            return  # already closing
        self.received = number
        # Runs between any two bytecodes, maybe inside another handler: close from the event loop instead.
        QTimer.singleShot(0, self._close)

    def _close(self) -> None:
        """Cancel the open modal questions first (the code behind each goes on as after Cancel); close
        the window only once none is left, so nothing runs behind a question after the project closed."""
        modal = QApplication.activeModalWidget()
        if modal is not None and modal is not self.window:
            # close() answers as Esc would (a message box's No or Cancel); one that refuses is rejected
            if not modal.close() and isinstance(modal, QDialog):
                modal.reject()
            QTimer.singleShot(MODAL_RETRY_MS, self._close)
            return
        self.window.close()
