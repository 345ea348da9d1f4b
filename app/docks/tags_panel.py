"""The tags of the current image: the project's tags as a checklist and a line to add a new one with Enter, in
a small dock of its own (tabbed with the auto-label dock, so the objects list keeps its height). The panel only
shows tags and reports what the person set (`tag_set`); the tag controller writes it."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDockWidget, QLineEdit, QVBoxLayout, QWidget


class TagsPanel(QWidget):
    """One checkbox per tag of the project, checked where the current image has it."""

    tag_set = Signal(str, bool)  # tag, whether the image has it now

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tags_panel")
        self.boxes_layout = QVBoxLayout()
        self.boxes_layout.setContentsMargins(0, 0, 0, 0)
        self.boxes_layout.setSpacing(0)
        self.new_tag = QLineEdit()
        self.new_tag.setObjectName("new_tag")
        self.new_tag.setPlaceholderText("New tag, Enter adds it to this image")
        self.new_tag.returnPressed.connect(self._add_typed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.boxes_layout)
        layout.addWidget(self.new_tag)
        self.boxes: dict[str, QCheckBox] = {}
        self.show_image((), None)

    def show_image(self, project_tags: Iterable[str], image_tags: Iterable[str] | None) -> None:
        """Show `project_tags`, checked where in `image_tags` (None: no image open, nothing to edit)."""
        checked = set(image_tags or ())
        tags = sorted(set(project_tags) | checked)
        if tags != list(self.boxes):
            self._build(tags)
        editable = image_tags is not None
        for tag, box in self.boxes.items():
            box.setEnabled(editable)
            box.blockSignals(True)  # showing a tag is not an edit
            box.setChecked(tag in checked)
            box.blockSignals(False)
        self.new_tag.setEnabled(editable)

    def _build(self, tags: list[str]) -> None:
        for box in self.boxes.values():
            self.boxes_layout.removeWidget(box)
            box.deleteLater()
        self.boxes = {}
        for tag in tags:
            box = QCheckBox(tag)
            box.setObjectName(f"tag_{tag}")
            box.toggled.connect(lambda on, tag=tag: self.tag_set.emit(tag, bool(on)))
            self.boxes[tag] = box
            self.boxes_layout.addWidget(box)
            box.show()  # at once, not when the layout's deferred show comes (the panel may be on screen)

    def _add_typed(self) -> None:
        tag = self.new_tag.text().strip()
        self.new_tag.clear()
        if tag and not (tag in self.boxes and self.boxes[tag].isChecked()):
            self.tag_set.emit(tag, True)


class TagsDock(QDockWidget):
    """The "Image tags" dock: the tags panel and room below it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Image tags", parent)
        self.setObjectName("tags_dock")
        self.panel = TagsPanel()
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.panel)
        layout.addStretch(1)
        self.setWidget(body)
