"""Calls Qt methods that return nothing 200 times each and prints how far sys.getrefcount(None) moved per call
(JSON, last stdout line). Run as a child process by test_binding_refcount.py: a binding that lowers the count
(PySide6-Essentials 6.12.0: -1 per call) aborts the interpreter once None's count reaches zero."""

from __future__ import annotations

import gc
import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QObject  # noqa: E402
from PySide6.QtGui import QColor, QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication, QLabel, QWidget  # noqa: E402

CALLS = 200


def paint(image: QImage) -> None:
    painter = QPainter(image)
    painter.drawLine(0, 0, 5, 5)
    painter.end()


def main() -> None:
    app = QApplication([])
    widget, label, obj = QWidget(), QLabel(), QObject()
    image = QImage(10, 10, QImage.Format.Format_RGB32)
    calls = {
        "QObject.setObjectName": lambda: obj.setObjectName("x"),
        "QLabel.setText": lambda: label.setText("a"),
        "QWidget.resize": lambda: widget.resize(10, 10),
        "QWidget.update": widget.update,
        "QWidget.setEnabled": lambda: widget.setEnabled(True),
        "QImage.fill": lambda: image.fill(QColor(1, 2, 3)),
        "QPainter.drawLine": lambda: paint(image),
    }
    changes = {}
    for name, call in calls.items():
        call()  # first calls may cache something: not counted
        gc.collect()
        before = sys.getrefcount(None)
        for _ in range(CALLS):
            call()
        changes[name] = sys.getrefcount(None) - before
    app.processEvents()
    print(json.dumps({"calls": CALLS, "changes": changes}), flush=True)
    os._exit(0)  # a leaking binding aborts in the interpreter's shutdown: the figures are out already


if __name__ == "__main__":
    main()
