"""The start page: what a bare `protolabel` shows until a folder is open (open a folder, recent folders, get a
model). It covers the canvas and hides itself when a project opens; it shows again when the project closes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

MAX_SHOWN = 8  # recent folders listed


def _action_button(action: QAction, text: str, name: str) -> QPushButton:
    """A button that triggers `action` (so the page and the menus do one thing), with its shortcut in the text."""
    keys = action.shortcut().toString()
    button = QPushButton(f"{text}  ({keys})" if keys else text)
    button.setObjectName(name)
    button.setIcon(action.icon())
    button.setToolTip(action.toolTip())
    button.clicked.connect(action.trigger)
    return button


class StartPage(QFrame):
    """Covers its parent (the canvas) while no folder is open."""

    def __init__(
        self,
        parent: QWidget,
        actions: dict[str, QAction],
        recent_folders: Callable[[], list[str]],
        open_folder: Callable[[str], object],
        model_name: Callable[[], str],
    ) -> None:
        super().__init__(parent)
        self.setObjectName("start_page")
        self.setAutoFillBackground(True)
        self.setStyleSheet(
            "QFrame#start_page { background: #f8fafc; }"
            " QFrame#start_page QLabel { color: #1f2937; }"
            " QLabel[role='heading'] { font-size: 15px; font-weight: bold; margin-top: 14px; }"
            " QLabel[role='note'] { color: #6b7280; }"
            " QPushButton[role='recent'] { text-align: left; padding: 4px 8px; }"
        )
        self._recent_folders = recent_folders
        self._open_folder = open_folder
        self._model_name = model_name

        title = QLabel("<span style='font-size:26px; font-weight:bold'>Protolabel</span>")
        intro = QLabel(
            "Open a folder of images: a YOLACT model pre-labels them, you correct the polygons, "
            "and export COCO. Every edit is saved in the folder as you make it."
        )
        intro.setWordWrap(True)
        self.open_button = _action_button(actions["open_folder"], "Open Folder…", "start_open_folder")
        self.open_button.setDefault(True)
        self.recent_box = QVBoxLayout()
        self.recent_box.setSpacing(2)
        self.no_recent = QLabel("No folder opened yet.")
        self.no_recent.setProperty("role", "note")
        self.model_label = QLabel()
        self.model_label.setObjectName("start_model")
        self.model_label.setWordWrap(True)
        self.model_label.setProperty("role", "note")
        models = QHBoxLayout()
        models.addWidget(_action_button(actions["model_manager"], "Official Models…", "start_official_models"))
        models.addWidget(_action_button(actions["open_weights"], "Open Model…", "start_open_weights"))
        models.addStretch(1)

        column = QVBoxLayout()
        column.addWidget(title)
        column.addWidget(intro)
        column.addSpacing(8)
        open_row = QHBoxLayout()
        open_row.addWidget(self.open_button)
        open_row.addStretch(1)
        column.addLayout(open_row)
        column.addWidget(self._heading("Recent folders"))
        column.addLayout(self.recent_box)
        column.addWidget(self.no_recent)
        column.addWidget(self._heading("A model"))
        model_note = QLabel(
            "Auto-labeling needs YOLACT weights: download an official COCO model (Auto-label ▸ "
            "Official Models…), or open a model file of your own (a .pth, e.g. a fine-tune made with "
            "Auto-label ▸ Train on This Project, or an .onnx from protolabel export-onnx)."
        )
        model_note.setWordWrap(True)
        column.addWidget(model_note)
        column.addLayout(models)
        column.addWidget(self.model_label)
        column.addWidget(self._heading("Help"))
        help_note = QLabel("F1 lists every shortcut; Help ▸ About shows the version and the device the model runs on.")
        help_note.setWordWrap(True)
        help_note.setProperty("role", "note")
        column.addWidget(help_note)
        column.addStretch(1)
        body = QWidget()
        body.setObjectName("start_body")
        body.setMaximumWidth(620)
        body.setLayout(column)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(48, 36, 48, 24)
        outer.addStretch(1)
        outer.addWidget(body, 4)
        outer.addStretch(1)
        self.recent_buttons: list[QPushButton] = []
        parent.installEventFilter(self)
        self.refresh()

    @staticmethod
    def _heading(text: str) -> QLabel:
        label = QLabel(text)
        label.setProperty("role", "heading")
        return label

    def refresh(self) -> None:
        """Re-read the recent folders (kept by the project controller in QSettings) and the model in use."""
        for button in self.recent_buttons:
            self.recent_box.removeWidget(button)
            button.hide()  # deleteLater waits for the event loop; it must not be drawn meanwhile
            button.deleteLater()
        self.recent_buttons = []
        for folder in self._recent_folders()[:MAX_SHOWN]:
            button = QPushButton(f"{Path(folder).name or folder}    {folder}")
            button.setProperty("role", "recent")
            button.setObjectName("start_recent")
            button.setToolTip(f"Open {folder}")
            button.setFlat(True)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, f=folder: self._open_folder(f))
            self.recent_box.addWidget(button)
            self.recent_buttons.append(button)
        self.no_recent.setVisible(not self.recent_buttons)
        model = self._model_name()
        self.model_label.setText(f"Model in use: {model}" if model else "No model chosen yet.")

    def set_shown(self, shown: bool) -> None:
        if shown:
            self.refresh()
            self.setGeometry(self.parent().rect())
            self.raise_()
        self.setVisible(shown)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.parent() and event.type() == event.Type.Resize:
            self.setGeometry(watched.rect())
        return False


def install_start_page(window) -> StartPage:
    """Put the start page over the window's canvas: shown while no folder is open, refreshed when the model
    changes."""
    page = StartPage(
        window.canvas,
        window.actions_by_name,
        window.projects.recent_folders,
        window.open_folder,
        lambda: Path(window.options.weights).name if window.options.weights else "",
    )
    window.projects.project_opened.connect(lambda project: page.set_shown(project is None))
    window.projects.project_closed.connect(lambda: page.set_shown(True))
    window.options.events.weights.connect(lambda _weights: page.refresh())
    page.set_shown(window.projects.project is None)
    return page
