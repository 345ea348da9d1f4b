"""An error no handler caught in the window (raised in a Qt slot) goes to the log file with its traceback."""

from __future__ import annotations

import sys

from protolabel.app.launch import _logging_excepthook
from protolabel.segmentation import logs


def test_an_uncaught_error_in_the_window_is_logged_and_still_printed(tmp_path, monkeypatch):
    monkeypatch.setenv("PROTOLABEL_LOG_DIR", str(tmp_path))
    printed = []
    try:
        logs.setup_logging()
        hook = _logging_excepthook(lambda *info: printed.append(info[1]))
        try:
            raise ZeroDivisionError("a slot divided by zero")
        except ZeroDivisionError:
            hook(*sys.exc_info())
        text = (tmp_path / logs.LOG_FILE_NAME).read_text(encoding="utf-8")
    finally:
        monkeypatch.undo()
        logs.setup_logging()
    assert "CRITICAL app.launch: uncaught error in the window" in text
    assert "ZeroDivisionError: a slot divided by zero" in text
    assert len(printed) == 1
