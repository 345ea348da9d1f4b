"""A translucent panel over the canvas listing every shortcut and mouse gesture (from the action table).

The list is laid out in as many columns as the canvas is wide enough for, its text wraps inside
them, and what does not fit in the height scrolls: nothing is cut off at the window's edge.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QWidget

from protolabel.app.actions import ACTIONS, GESTURES, MENU_ORDER

COLUMN_WIDTH = 380  # pixels a column of key + description needs to read well


def shortcut_sections() -> list[tuple[str, list[tuple[str, str]]]]:
    """(heading, [(keys, what it does)]) per menu that has shortcuts, then the mouse gestures."""
    sections = []
    for menu in MENU_ORDER:
        rows = [
            (" / ".join(spec.shortcuts), f"{spec.text.replace('&', '').rstrip('…')}: {spec.help}")
            for spec in ACTIONS
            if spec.menu == menu and spec.shortcuts
        ]
        if rows:
            sections.append((menu, rows))
    sections.append(("Mouse", list(GESTURES)))
    return sections


def _section_html(heading: str, rows: list[tuple[str, str]]) -> str:
    cells = "".join(
        f"<tr><td width='32%' style='padding-right:14px;color:#ffd60a'>{escape(keys)}</td>"
        f"<td>{escape(meaning)}</td></tr>"
        for keys, meaning in rows
    )
    return f"<p style='margin-top:8px'><b>{escape(heading)}</b></p><table>{cells}</table>"


def shortcuts_html(columns: int = 1) -> str:
    """The sections in `columns` columns of about equal length (whole sections per column)."""
    sections = shortcut_sections()
    columns = max(1, min(columns, len(sections)))
    total = sum(len(rows) + 2 for _, rows in sections)
    groups: list[list[str]] = [[] for _ in range(columns)]
    filled, column = 0, 0
    for heading, rows in sections:
        if column < columns - 1 and filled >= total * (column + 1) / columns:
            column += 1
        groups[column].append(_section_html(heading, rows))
        filled += len(rows) + 2
    width = 100 // columns
    cells = "".join(
        f"<td width='{width}%' style='padding-right:24px' valign='top'>{''.join(g)}</td>" for g in groups if g
    )
    return f"<table width='100%'><tr>{cells}</tr></table>"


class HelpOverlay(QScrollArea):
    """Covers its parent (the canvas); a click, Esc or F1 hides it."""

    closed = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("help_overlay")
        self.columns = 0
        self.label = QLabel()
        self.label.setObjectName("help_text")
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.label.setStyleSheet(
            "QLabel#help_text { background: transparent; color: #f3f4f6; padding: 18px; font-size: 12px; }"
        )
        self.label.installEventFilter(self)
        self.setWidget(self.label)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setStyleSheet(
            "QScrollArea#help_overlay { background: rgba(20, 20, 24, 215); }"
            " QScrollArea#help_overlay > QWidget > QWidget { background: transparent; }"
        )
        self.viewport().setAutoFillBackground(False)
        self.setVisible(False)
        parent.installEventFilter(self)
        # Esc hides the list wherever the keyboard focus is in the window (the canvas keeps it while the list
        # shows, and takes Esc for its tools otherwise); enabled only while the list shows.
        self.escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self, context=Qt.ShortcutContext.WindowShortcut)
        self.escape.setEnabled(False)
        self.escape.activated.connect(lambda: self.toggle(False))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.parent() and event.type() == event.Type.Resize:
            self._fit(watched.rect())
        elif watched is self.label and event.type() == event.Type.MouseButtonPress:
            self.toggle(False)
            return True
        return False

    def text(self) -> str:
        """The list as shown (rich text)."""
        return self.label.text()

    def event(self, event) -> bool:
        if event.type() == event.Type.MouseButtonPress:  # a click anywhere on the panel closes it
            self.toggle(False)
            return True
        return super().event(event)

    def _fit(self, rect) -> None:
        self.setGeometry(rect)
        columns = max(1, rect.width() // COLUMN_WIDTH)
        if columns != self.columns:
            self.columns = columns
            self.label.setText("<h3>Shortcuts</h3>" + shortcuts_html(columns))

    def toggle(self, visible: bool | None = None) -> None:
        """Show or hide the list (None: the other way round); `closed` when it hides."""
        visible = not self.isVisible() if visible is None else bool(visible)
        self._fit(self.parent().rect())
        was_visible = self.isVisible()
        self.setVisible(visible)
        self.escape.setEnabled(visible)
        if visible:
            self.raise_()
        elif was_visible:
            self.closed.emit()
