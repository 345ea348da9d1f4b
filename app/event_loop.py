"""Running the Qt event loop until the window gets somewhere: for the self-test, the screenshot scripts and tests
that drive the real window outside pytest-qt."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtWidgets import QApplication


def wait_until(
    app: QApplication, condition: Callable[[], bool], timeout_s: float = 600.0, what: str = "the window"
) -> None:
    """Process events until `condition()` holds; TimeoutError naming `what` after `timeout_s` seconds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def settle(app: QApplication, seconds: float = 0.3) -> None:
    """Let timers and repaints run for a moment."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
