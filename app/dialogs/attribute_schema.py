"""Project ▸ Attributes…: define the project's per-object attributes (add, rename, remove, reorder; the kind, a
choice's choices, the default). The rows and their checks are the Qt-free `DraftAttribute`s of
segmentation/project/attributes.py; OK plans the change (attribute_edit.plan_schema_edit), asks first when
objects would lose values, and the window applies it as one project-wide undo step.

Every control has a mnemonic (Alt+letter); in the list, Delete removes and Ctrl+Up / Ctrl+Down move the
attribute, so the dialog needs no mouse."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from protolabel.app.docks.attributes_panel import NUMBER_LIMIT
from protolabel.segmentation.project.attribute_edit import AttributeSchemaEdit, plan_schema_edit
from protolabel.segmentation.project.attributes import (
    AttributeKind,
    AttributeSchemaError,
    AttributeSpec,
    DraftAttribute,
    drafts_of,
    project_attribute_schema,
    schema_from_drafts,
)
from protolabel.segmentation.project.store import ProjectStoreError

KIND_TEXT = {
    AttributeKind.CHECKBOX: "Checkbox (true or false)",
    AttributeKind.CHOICE: "Choice (one of a list)",
    AttributeKind.TEXT: "Text",
    AttributeKind.NUMBER: "Number",
}
KINDS = tuple(KIND_TEXT)

Planner = Callable[[tuple[AttributeSpec, ...], dict[str, str]], AttributeSchemaEdit]


class AttributeSchemaDialog(QDialog):
    """The schema's rows on the left, the selected one's name, kind, choices and default on the right. OK is
    enabled while the rows make a valid schema (else a message says what to fix); `edit` holds the planned
    step once the person confirmed it."""

    def __init__(self, schema: Sequence[AttributeSpec], plan: Planner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Attributes")
        self.setObjectName("attribute_schema_dialog")
        self.rows: list[DraftAttribute] = drafts_of(schema)
        self._plan = plan
        self.edit: AttributeSchemaEdit | None = None
        self.confirm: Callable[[str], bool] = self._ask  # tests answer for the person
        self._showing = False  # filling the editors from a row is not an edit of it

        self.list = QListWidget()
        self.list.setObjectName("attribute_list")
        self.list.currentRowChanged.connect(self._show_row)
        self.add_button = QPushButton("&Add")
        self.remove_button = QPushButton("&Remove")
        self.up_button = QPushButton("Move &Up")
        self.down_button = QPushButton("Move &Down")
        self.add_button.clicked.connect(self.add_row)
        self.remove_button.clicked.connect(self.remove_row)
        self.up_button.clicked.connect(lambda: self.move_row(-1))
        self.down_button.clicked.connect(lambda: self.move_row(1))
        for keys, slot in (
            ("Delete", self.remove_row),
            ("Ctrl+Up", lambda: self.move_row(-1)),
            ("Ctrl+Down", lambda: self.move_row(1)),
        ):
            QShortcut(QKeySequence(keys), self.list, slot, context=Qt.ShortcutContext.WidgetShortcut)

        self.name = QLineEdit()
        self.name.setObjectName("attribute_name")
        self.name.textEdited.connect(lambda text: self._change(name=text))
        self.kind = QComboBox()
        self.kind.setObjectName("attribute_kind")
        self.kind.addItems([KIND_TEXT[k] for k in KINDS])
        self.kind.currentIndexChanged.connect(self._kind_chosen)
        self.choices = QPlainTextEdit()
        self.choices.setObjectName("attribute_choices")
        self.choices.setTabChangesFocus(True)  # Tab leaves the box, as in every other field
        self.choices.setPlaceholderText("One choice a line")
        self.choices.setFixedHeight(90)
        self.choices.textChanged.connect(self._choices_typed)
        self.default_check = QCheckBox("checked")
        self.default_check.toggled.connect(lambda on: self._change(default=bool(on)))
        self.default_choice = QComboBox()
        self.default_choice.activated.connect(lambda _i: self._change(default=self.default_choice.currentText()))
        self.default_text = QLineEdit()
        self.default_text.textEdited.connect(lambda text: self._change(default=text))
        self.default_number = QDoubleSpinBox()
        self.default_number.setRange(-NUMBER_LIMIT, NUMBER_LIMIT)
        self.default_number.setDecimals(3)
        self.default_number.valueChanged.connect(
            lambda v: self._change(default=int(v) if float(v).is_integer() else float(v))
        )
        self.default = QStackedWidget()
        self.default.setObjectName("attribute_default")
        self.default.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)  # one line high
        for editor in (self.default_check, self.default_choice, self.default_text, self.default_number):
            self.default.addWidget(editor)

        form = QFormLayout()
        self.form = form
        for text, editor in (
            ("&Name:", self.name),
            ("&Kind:", self.kind),
            ("&Choices:", self.choices),
            ("De&fault:", self.default),
        ):
            label = QLabel(text)
            label.setBuddy(editor)
            form.addRow(label, editor)
        self.default_label = label  # its buddy is the default editor of the row's kind (_show_default)
        self.editors = QWidget()
        editors_layout = QVBoxLayout(self.editors)
        editors_layout.setContentsMargins(0, 0, 0, 0)
        editors_layout.addLayout(form)
        editors_layout.addStretch(1)

        self.message = QLabel()
        self.message.setObjectName("attribute_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #dc2626")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)

        row_buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            row_buttons.addWidget(button)
        left = QVBoxLayout()
        left.addWidget(self.list)
        left.addLayout(row_buttons)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addWidget(self.editors, 1)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Each object can carry these attributes; the Objects dock edits them. Renaming keeps the objects' "
            "values; removing one takes it from every object (you are asked first). One undo step."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addLayout(body)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.resize(640, 360)
        chain = (self.list, self.name, self.kind, self.choices, self.default_check, self.default_choice)
        chain += (self.default_text, self.default_number, self.add_button, self.remove_button, self.up_button)
        chain += (self.down_button, self.ok_button, self.buttons.button(QDialogButtonBox.StandardButton.Cancel))
        for first, second in zip(chain, chain[1:]):  # from the list to the row's fields, then the buttons
            QWidget.setTabOrder(first, second)
        self._fill_list()
        self.list.setCurrentRow(0 if self.rows else -1)
        self._show_row(self.list.currentRow())

    # ---------------------------------------------------------------- rows
    def add_row(self) -> None:
        """A new checkbox attribute at the end, its name field focused for typing."""
        self.rows.append(DraftAttribute("", AttributeKind.CHECKBOX))
        self._fill_list()
        self.list.setCurrentRow(len(self.rows) - 1)
        self.name.setFocus()

    def remove_row(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.rows):
            del self.rows[row]
            self._fill_list()
            self.list.setCurrentRow(min(row, len(self.rows) - 1))
            self._show_row(self.list.currentRow())

    def move_row(self, step: int) -> None:
        row = self.list.currentRow()
        target = row + step
        if 0 <= row < len(self.rows) and 0 <= target < len(self.rows):
            self.rows[row], self.rows[target] = self.rows[target], self.rows[row]
            self._fill_list()
            self.list.setCurrentRow(target)

    def _fill_list(self) -> None:
        current = self.list.currentRow()
        self.list.blockSignals(True)
        self.list.clear()
        for draft in self.rows:
            self.list.addItem(self._item_text(draft))
        self.list.blockSignals(False)
        if 0 <= current < len(self.rows):
            self.list.setCurrentRow(current)
        self._validate()

    @staticmethod
    def _item_text(draft: DraftAttribute) -> str:
        name = draft.name.strip() or "(no name)"
        renamed = f"  (was {draft.origin})" if draft.origin is not None and draft.origin != draft.name.strip() else ""
        return f"{name} — {draft.kind.value}{renamed}"

    # ---------------------------------------------------------------- the selected row's editors
    def _show_row(self, row: int) -> None:
        editable = 0 <= row < len(self.rows)
        self.editors.setEnabled(editable)
        for button in (self.remove_button, self.up_button, self.down_button):
            button.setEnabled(editable)
        if not editable:
            return
        draft = self.rows[row]
        self._showing = True
        try:
            self.name.setText(draft.name)
            self.kind.setCurrentIndex(KINDS.index(draft.kind))
            self.choices.setPlainText("\n".join(draft.choices))
            self._show_default(draft)
        finally:
            self._showing = False

    def _show_default(self, draft: DraftAttribute) -> None:
        self._showing, was = True, self._showing
        try:
            choice = draft.kind is AttributeKind.CHOICE
            self.choices.setEnabled(choice)
            self.default_choice.clear()
            self.default_choice.addItems(list(draft.choices))
            value = draft.default
            self.default.setCurrentIndex(KINDS.index(draft.kind))
            self.default_label.setBuddy(self.default.currentWidget())
            self.default_check.setChecked(value is True)
            if choice:
                self.default_choice.setCurrentIndex(draft.choices.index(value) if value in draft.choices else 0)
            self.default_text.setText(value if isinstance(value, str) else "")
            is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
            self.default_number.setValue(float(value) if is_number else 0.0)  # type: ignore[arg-type]
        finally:
            self._showing = was

    def _kind_chosen(self, index: int) -> None:
        if not self._showing:
            draft = self._current()
            if draft is not None and draft.kind is not KINDS[index]:
                self._change(kind=KINDS[index], default=None)  # the old default rarely fits the new kind
                self._show_default(self.rows[self.list.currentRow()])

    def _choices_typed(self) -> None:
        if self._showing:
            return
        draft = self._current()
        if draft is None:
            return
        choices = tuple(line.strip() for line in self.choices.toPlainText().splitlines() if line.strip())
        default = draft.default if draft.default in choices else None
        self._change(choices=choices, default=default)
        self._show_default(self.rows[self.list.currentRow()])

    def _current(self) -> DraftAttribute | None:
        row = self.list.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def _change(self, **fields: object) -> None:
        """The person changed a field of the selected row."""
        row = self.list.currentRow()
        if self._showing or not 0 <= row < len(self.rows):
            return
        self.rows[row] = replace(self.rows[row], **fields)  # type: ignore[arg-type]
        item = self.list.item(row)
        if item is not None:
            item.setText(self._item_text(self.rows[row]))
        self._validate()

    # ---------------------------------------------------------------- checks and OK
    def _validate(self) -> tuple[tuple[AttributeSpec, ...], dict[str, str]] | None:
        try:
            result = schema_from_drafts(self.rows)
        except AttributeSchemaError as exc:
            self.message.setText(str(exc))
            self.ok_button.setEnabled(False)
            return None
        self.message.setText("")
        self.ok_button.setEnabled(True)
        return result

    def accept(self) -> None:
        """Plan the change; when objects would lose values, say how many and go on only when the person agrees
        (declining keeps the dialog open with every row as it was)."""
        result = self._validate()
        if result is None:
            return
        schema, carried = result
        try:
            edit = self._plan(schema, carried)
        except (AttributeSchemaError, ValueError, ProjectStoreError) as exc:
            self.message.setText(f"The attributes cannot be changed: {exc}")
            return
        if edit.lost and not self.confirm(loss_text(edit.lost, carried)):
            return
        self.edit = edit
        super().accept()

    def _ask(self, text: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Warning, "Attributes", text, parent=self)
        box.setObjectName("attribute_loss_box")
        go = box.addButton("Remove the values", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)  # Enter keeps the values
        box.exec()
        return box.clickedButton() is go


def loss_text(lost: Mapping[str, int], carried: Mapping[str, str]) -> str:
    """What a schema change takes from objects, one line per attribute, for the confirmation."""
    lines = []
    for name, count in lost.items():
        objects = "1 object loses" if count == 1 else f"{count:,} objects lose"
        why = "it no longer fits the changed attribute" if name in carried else "the attribute is removed"
        lines.append(f"{objects} its '{name}' value: {why}")
    return "\n".join(lines) + "\n\nUndo (Ctrl+Z) brings the values back."


def edit_attribute_schema(window) -> AttributeSchemaEdit | None:
    """Project ▸ Attributes…: the dialog over the open project's schema; the confirmed change is applied in one
    transaction and becomes one project-wide undo step."""
    project = window.projects.project
    if project is None:
        window.show_error("Open a folder first: the attributes belong to its project")
        return None
    try:
        schema = project_attribute_schema(project.store)
    except AttributeSchemaError as exc:
        window.show_error(f"The project's attribute schema cannot be used ({exc}); nothing was changed")
        return None
    dialog = AttributeSchemaDialog(schema, lambda s, r: plan_schema_edit(project.store, s, r), window)
    if not dialog.exec() or dialog.edit is None or not dialog.edit.changes_anything:
        return None
    try:
        edit = project.edit_attribute_schema(dialog.edit)
    except (ProjectStoreError, ValueError) as exc:
        window.show_error(f"The attributes were not changed: {exc}")
        return None
    window.history.push_attribute_edit(project, edit)
    window.statusBar().showMessage(f"{edit.text}: {len(edit.objects):,} objects changed", 8000)
    return edit
