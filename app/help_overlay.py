"""A translucent panel over the canvas listing every shortcut and mouse gesture (from the action table)."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QWidget

from app.actions import ACTIONS, GESTURES, MENU_ORDER


def shortcuts_html() -> str:
    rows = []
    for menu in MENU_ORDER:
        specs = [s for s in ACTIONS if s.menu == menu and s.shortcuts]
        if not specs:
            continue
        rows.append(f"<tr><td colspan=2 style='padding-top:8px'><b>{escape(menu)}</b></td></tr>")
        for spec in specs:
            keys = " / ".join(escape(k) for k in spec.shortcuts)
            rows.append(f"<tr><td style='padding-right:18px;color:#ffd60a'>{keys}</td>"
                        f"<td>{escape(spec.text.replace('&', '').rstrip('…'))}: {escape(spec.help)}</td></tr>")
    rows.append("<tr><td colspan=2 style='padding-top:8px'><b>Mouse</b></td></tr>")
    for gesture, meaning in GESTURES:
        rows.append(f"<tr><td style='padding-right:18px;color:#ffd60a'>{escape(gesture)}</td>"
                    f"<td>{escape(meaning)}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


class HelpOverlay(QLabel):
    """Covers its parent (the canvas); click or F1 hides it."""

    closed = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("help_overlay")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setText("<h3>Shortcuts</h3>" + shortcuts_html())
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setStyleSheet("QLabel#help_overlay { background: rgba(20, 20, 24, 215); color: #f3f4f6;"
                           " padding: 18px; font-size: 12px; }")
        self.setVisible(False)
        parent.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.parent() and event.type() == event.Type.Resize:
            self.setGeometry(watched.rect())
        return False

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.setVisible(False)
        self.closed.emit()

    def toggle(self, visible: bool) -> None:
        self.setGeometry(self.parent().rect())
        self.setVisible(visible)
        if visible:
            self.raise_()
