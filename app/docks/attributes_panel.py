"""The attributes of the selected object, one editor per attribute of the project's schema (checkbox, choice,
text, number). The panel only shows values and reports what the person set (`attribute_edited`); the edit
controller makes it an undoable change.

Keyboard: F2 (Edit ▸ Edit Attributes) focuses the first editor; Tab and Shift+Tab go from editor to editor and
the keys an editor types with reach it, not the window's one-key commands (Tab is "next unverified", D "next
image", 1-9 a class); Esc gives the focus back to where it was before F2."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from protolabel.segmentation.project.attributes import AttributeKind, AttributeSpec
from protolabel.segmentation.project.records import AttributeValue

NUMBER_LIMIT = 1e9  # the number editor's range, either side of 0


class AttributesPanel(QWidget):
    """Editors for the attributes of one object; a note instead when there is none to edit."""

    attribute_edited = Signal(str, object)  # name, the value the person set

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attributes_panel")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.form = QFormLayout()
        self.form.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note)
        layout.addLayout(self.form)
        self.schema: tuple[AttributeSpec, ...] = ()
        self.values: dict[str, AttributeValue] = {}
        self.editors: dict[str, QWidget] = {}
        self._editable = False  # an object is shown (its values may be edited where the schema has editors)
        self._came_from: QWidget | None = None  # where the focus was before `focus_first`, for Esc
        self.show_object((), None, "Select an object to see its attributes")

    def show_object(
        self, schema: Sequence[AttributeSpec], values: Mapping[str, AttributeValue] | None, note: str = ""
    ) -> None:
        """Show `values` (None: no object to edit, `note` says why) in editors for `schema`."""
        if tuple(schema) != self.schema:
            self._build(tuple(schema))
        self.values = dict(values or {})
        editable = values is not None and bool(schema)
        self._editable = values is not None
        self.note.setText(note)
        self.note.setVisible(bool(note))
        for spec in self.schema:
            editor = self.editors[spec.name]
            editor.setEnabled(editable)
            editor.blockSignals(True)  # showing a value is not an edit
            try:
                self._show_value(spec, editor, self.values.get(spec.name, spec.default))
            finally:
                editor.blockSignals(False)

    def _build(self, schema: tuple[AttributeSpec, ...]) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.schema, self.editors = schema, {}
        for spec in schema:
            editor = self._editor(spec)
            for widget in (editor, *editor.findChildren(QWidget)):  # a spin box types in its own line edit
                widget.installEventFilter(self)
            editor.setObjectName(f"attribute_{spec.name}")
            editor.setToolTip(f"{spec.name} ({spec.kind.value})")
            self.editors[spec.name] = editor
            self.form.addRow(f"{spec.name}:", editor)

    def _editor(self, spec: AttributeSpec) -> QWidget:
        name = spec.name
        if spec.kind is AttributeKind.CHECKBOX:
            box = QCheckBox()
            box.toggled.connect(lambda on: self._edited(name, bool(on)))
            return box
        if spec.kind is AttributeKind.CHOICE:
            combo = QComboBox()
            combo.addItems(list(spec.choices))
            combo.activated.connect(lambda index: self._edited(name, spec.choices[index]))
            return combo
        if spec.kind is AttributeKind.NUMBER:
            spin = QDoubleSpinBox()
            spin.setRange(-NUMBER_LIMIT, NUMBER_LIMIT)
            spin.setDecimals(3)
            spin.setKeyboardTracking(False)  # one edit when the person is done typing, not one per digit
            spin.valueChanged.connect(lambda value: self._edited(name, int(value) if value.is_integer() else value))
            return spin
        line = QLineEdit()
        line.editingFinished.connect(lambda: self._edited(name, line.text()))
        return line

    @staticmethod
    def _show_value(spec: AttributeSpec, editor: QWidget, value: object) -> None:
        if isinstance(editor, QCheckBox):
            editor.setChecked(value is True)
        elif isinstance(editor, QComboBox):
            editor.setCurrentIndex(spec.choices.index(value) if value in spec.choices else -1)
        elif isinstance(editor, QDoubleSpinBox):
            is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
            editor.setValue(float(value) if is_number else 0.0)  # type: ignore[arg-type]
        elif isinstance(editor, QLineEdit):
            editor.setText(str(value))

    def focus_first(self) -> str | None:
        """Put the keyboard in the first editor (F2). None when it did, else why not, in words."""
        editors = [e for e in self.editors.values() if e.isEnabled()]
        if not self._editable:
            return "Select one object to edit its attributes"
        if not editors:
            return "This project has no attributes yet: define them with Project ▸ Attributes…"
        if not self.isVisible():
            return "Show the Objects dock (View menu) to edit attributes"
        focused = QApplication.focusWidget()
        if focused is None or not self.isAncestorOf(focused):
            self._came_from = focused
        editors[0].setFocus(Qt.FocusReason.ShortcutFocusReason)
        return None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """An editor's keys are its own: the window's shortcuts do not take them (ShortcutOverride accepted),
        and Esc leaves the panel."""
        if (
            isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.ShortcutOverride
            and _typed_here(watched, event)
        ):
            event.accept()
            return True
        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape:
            self._leave()
            return True
        return super().eventFilter(watched, event)

    def _leave(self) -> None:
        came_from, self._came_from = self._came_from, None
        if came_from is not None and came_from.isVisible():
            came_from.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            focused = QApplication.focusWidget()
            if focused is not None:
                focused.clearFocus()

    def _edited(self, name: str, value: AttributeValue) -> None:
        shown = self.values.get(name, next(s.default for s in self.schema if s.name == name))
        if type(shown) is not type(value) or shown != value:  # leaving a field unchanged is no edit
            self.values[name] = value
            self.attribute_edited.emit(name, value)


def _typed_here(editor: QObject, event: QKeyEvent) -> bool:
    """Whether a key belongs to the focused editor: Tab / Shift+Tab (move between editors), and plain keys
    that type (text, numbers, a choice's first letter); a checkbox types nothing, so Y, N... stay the window's."""
    if event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
        return True
    plain = not event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    return plain and not isinstance(editor, QCheckBox) and bool(event.text()) and event.text().isprintable()
