"""The main window: composes the canvas, docks, controllers, actions and status bar. Holds no data."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QThreadPool
from PySide6.QtGui import QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QToolBar,
)

from protolabel.app.actions import ACTIONS, MENU_ORDER, MODE_ACTIONS, action_icon, build_actions
from protolabel.app.canvas.view import CanvasView
from protolabel.app.controllers.autolabel import AutoLabelController
from protolabel.app.controllers.editing import EditController
from protolabel.app.controllers.export import ExportController
from protolabel.app.controllers.project import ProjectController
from protolabel.app.controllers.propagation import install_propagation
from protolabel.app.controllers.review import ReviewController
from protolabel.app.controllers.tags import TagController
from protolabel.app.controllers.tracks import install_tracks
from protolabel.app.controllers.video import install_video
from protolabel.app.dialogs.about import AboutDialog
from protolabel.app.dialogs.attribute_schema import edit_attribute_schema
from protolabel.app.dialogs.class_mapping import ClassMappingDialog
from protolabel.app.dialogs.export import ExportDialog
from protolabel.app.dialogs.import_coco import choose_and_import
from protolabel.app.dialogs.model_manager import MODEL_FILES, ModelManagerDialog
from protolabel.app.dialogs.relabel_confirm import RelabelConfirmation
from protolabel.app.docks.autolabel_panel import AutoLabelPanel
from protolabel.app.docks.file_list import FileListDock
from protolabel.app.docks.labels import LabelsDock
from protolabel.app.docks.objects import ObjectsDock
from protolabel.app.docks.tags_panel import TagsDock
from protolabel.app.help_overlay import HelpOverlay
from protolabel.app.inspector import install_inspector
from protolabel.app.inspector.track_strip import install_track_strip
from protolabel.app.job_progress import JobProgressWidget
from protolabel.app.qt_bridge import MainThreadInvoker
from protolabel.app.start_page import install_start_page
from protolabel.app.training import TrainingController, TrainingStatusButton
from protolabel.app.undo import UndoHistory
from protolabel.app.window_settings import (
    ASK_RELABEL_KEY,
    BACKEND_KEY,
    KEYFRAME_KEY,
    MIRROR_KEY,
    THRESHOLD_KEY,
    asks_before_relabel,
    remember_new_label,
    restore_layout,
    save_layout,
    saved_backend,
    saved_keyframe_interval,
    saved_new_label,
    saved_threshold,
)
from protolabel.resources import APP_ICON_SIZES, app_icon_path
from protolabel.segmentation.model_manager import ModelManager
from protolabel.segmentation.project.autolabel import AutoLabelOptions, model_class_names
from protolabel.segmentation.project.class_list import ClassList
from protolabel.segmentation.project.labels import DEFAULT_LABEL, ClassMapping
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.session import Session
from protolabel.segmentation.project.store import ProjectStoreError

logger = logging.getLogger(__name__)

TOOLBAR_ACTIONS = (
    "open_folder",
    "previous_image",
    "next_image",
    None,
    "undo",
    "redo",
    None,
    "edit_mode",
    "draw_mode",
    "draw_part",
    "rectangle_mode",
    "ellipse_mode",
    "brush_mode",
    "eraser_mode",
    "delete_object",
    "verify_image",
    None,
    "autolabel_image",
    "autolabel_all",
    "region_mode",
    None,
    "fit",
    "toggle_objects",
    "export_coco",
    "help",
)


def app_icon() -> QIcon:
    """The application icon: the SVG plus the rendered PNG sizes (crisp where SVG support is missing)."""
    icon = QIcon(str(app_icon_path()))
    for size in APP_ICON_SIZES:
        icon.addFile(str(app_icon_path(size)))
    return icon


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, model_manager: ModelManager | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Protolabel")
        self.setWindowIcon(app_icon())
        self.resize(1400, 900)
        self.settings = settings or QSettings("Protolabel", "Protolabel")
        self.model_manager = model_manager or ModelManager()
        if mirror := str(self.settings.value(MIRROR_KEY, "") or ""):
            self.model_manager.mirror = mirror
        self.options = AutoLabelOptions(
            device=str(self.settings.value("device", "auto") or "auto"),
            backend=saved_backend(self.settings),
            score_threshold=saved_threshold(self.settings, AutoLabelOptions.score_threshold),
            keyframe_interval=saved_keyframe_interval(self.settings, AutoLabelOptions.keyframe_interval),
        )
        self.options.use_weights(str(self.settings.value("weights", "") or ""))
        self.session = Session(self.options)  # what the widgets render; the controllers change it
        self.selection, self.visibility = self.session.selection, self.session.visibility
        self.class_list = ClassList()
        self._invoker = MainThreadInvoker(self)
        self.last_error: str | None = None

        self.canvas = CanvasView(self.visibility)
        self.setCentralWidget(self.canvas)
        self.help_overlay = HelpOverlay(self.canvas)
        self.history = UndoHistory(on_error=self.show_error, parent=self)
        self.projects = ProjectController(self.canvas, self.session, self.history, self.settings, self)
        self.editing = EditController(self.session, self.history, self)
        self.progress = JobProgressWidget()
        self.autolabel = AutoLabelController(
            self.options,
            lambda: self.projects.project,
            self.history,
            self.progress,
            self,
            onnx_cache_dir=self.model_manager.cache_dir / "onnx",
        )
        self.exporter = ExportController(lambda: self.projects.project, self)
        self.training = TrainingController(lambda: self.projects.project, self.options, self)

        self.actions_by_name = build_actions(self, self._handlers())
        self._add_undo_actions()
        self.file_dock = FileListDock(self)
        self.objects_dock = ObjectsDock(self.session, self)
        self.labels_dock = LabelsDock(self.class_list, self.visibility, self)
        self.review = ReviewController(
            self.projects, self.canvas, self.objects_dock, self.editing, self.selection, self.visibility, self
        )
        self.review.actions = self.actions_by_name
        self.tags_dock = TagsDock(self)
        self.tags = TagController(self.projects, self.tags_dock.panel, self, history=self.history)
        self.autolabel_dock = AutoLabelPanel(self.options, self.actions_by_name, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.file_dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.labels_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.objects_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.autolabel_dock)
        self.tabifyDockWidget(self.autolabel_dock, self.tags_dock)  # no height taken from the objects list
        self.autolabel_dock.raise_()
        self.setDockNestingEnabled(True)  # room for more docks (the prototype inspector)
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self.inspector = install_inspector(self)
        self.video = install_video(self)
        self.tracks = install_tracks(self, self.video)
        self.propagation = install_propagation(self)
        self.track_strip = install_track_strip(self)
        self.start_page = install_start_page(self)
        self.statusBar().addPermanentWidget(TrainingStatusButton(self.training))
        inspector_toggle = self.inspector.dock.toggleViewAction()
        inspector_toggle.setIcon(action_icon("inspector"))
        self.toolbar.addAction(inspector_toggle)
        self.actions_by_name["edit_mode"].setChecked(True)
        self.actions_by_name["ask_before_relabel"].setChecked(asks_before_relabel(self.settings))
        self.autolabel.confirm_relabel = self._confirm_relabel
        restore_layout(self, self.settings)
        self._update_title()

    # ---------------------------------------------------------------- construction
    def _handlers(self) -> dict:
        return {
            **{f"class_{n}": (lambda _checked=False, n=n: self.give_class_number(n)) for n in range(1, 10)},
            "open_folder": self.choose_folder,
            "save": self.save,
            "import_coco": lambda: choose_and_import(self),
            "export_coco": self.export_coco,
            "quit": self.close,
            "next_image": lambda: self.projects.go(1),
            "previous_image": lambda: self.projects.go(-1),
            "fit": self.canvas.fit,
            "zoom_in": lambda: self.canvas.zoom_by(1.25),
            "zoom_out": lambda: self.canvas.zoom_by(0.8),
            "toggle_objects": lambda hidden: self.visibility.set_all_shown(not hidden),
            "help": lambda: self.help_overlay.toggle(),
            "about": self.show_about,
            **{name: (lambda on, mode=mode: on and self._set_mode(mode)) for name, mode in MODE_ACTIONS.items()},
            "copy_objects": self.editing.copy_selected,
            "paste_objects": lambda: self.editing.paste(self.canvas.image_size_wh()),
            "duplicate_objects": lambda: self.editing.duplicate_selected(self.canvas.image_size_wh()),
            "merge_objects": self.editing.merge_selected,
            "split_object": self.editing.split_selected,
            "delete_object": self.editing.delete_selected,
            "change_class": self.change_class,
            "verify_image": self.editing.verify,
            "accept_object": lambda: self.review.accept_selected(),
            "reject_object": lambda: self.review.reject_selected(),
            "next_unverified": lambda: self.review.go(1),
            "previous_unverified": lambda: self.review.go(-1),
            "zoom_to_object": lambda: self.review.zoom_to(),
            "hide_objects": lambda: self.review.toggle_hidden_selected(),
            "autolabel_image": self.autolabel.label_current,
            "ask_before_relabel": lambda on: self.settings.setValue(ASK_RELABEL_KEY, bool(on)),
            "autolabel_all": self.autolabel.label_unlabeled,
            "autolabel_video": lambda: self.autolabel.label_video(self.video.video),
            "propagate_track": lambda: self.propagation.propagate(),
            "interpolate_track": lambda: self.propagation.interpolate(),
            "cancel_jobs": self.autolabel.cancel,
            "open_weights": self.choose_weights,
            "model_manager": self.open_model_manager,
            "class_mapping": self.edit_class_mapping,
            "train_project": self.training.show_dialog,
            "attribute_schema": lambda: edit_attribute_schema(self),
            "edit_attributes": lambda: self._say(self.objects_dock.attributes.focus_first()),
        }

    def _add_undo_actions(self) -> None:
        specs = {s.name: s for s in ACTIONS}
        self.undo_action, self.redo_action = self.history.create_actions(self)
        for name, action in (("undo", self.undo_action), ("redo", self.redo_action)):
            action.setShortcuts([QKeySequence(k) for k in specs[name].shortcuts])
            action.setIcon(action_icon(name))
            self.addAction(action)
            self.actions_by_name[name] = action

    def _build_menus(self) -> None:
        menus = {name: self.menuBar().addMenu(name.replace("Auto-label", "&Auto-label")) for name in MENU_ORDER}
        for spec in ACTIONS:
            action = self.actions_by_name.get(spec.name)
            if action is not None:
                menus[spec.menu].addAction(action)
            if spec.name == "redo":
                menus["Edit"].addSeparator()
            if spec.name == "open_folder":
                self.recent_menu = QMenu("Open &Recent", self)
                self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
                menus["File"].addMenu(self.recent_menu)
        self.view_menu = menus["View"]
        self.view_menu.addSeparator()
        for dock in (self.file_dock, self.objects_dock, self.autolabel_dock, self.tags_dock):
            self.view_menu.addAction(dock.toggleViewAction())
        self.mode_group = QActionGroup(self)  # exactly one mode is checked, and the toolbar shows which
        for name in MODE_ACTIONS:
            self.mode_group.addAction(self.actions_by_name[name])

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Tools", self)
        toolbar.setObjectName("main_toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)  # names and shortcuts in the tooltips
        for name in TOOLBAR_ACTIONS:
            if name is None:
                toolbar.addSeparator()
            else:
                action = self.actions_by_name[name]
                action.setIconText(action.text().replace("&", "").rstrip("…"))
                toolbar.addAction(action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.toolbar = toolbar

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.position_label = QLabel()
        self.zoom_label = QLabel()
        self.device_label = QLabel(f"Device: {self.options.device}")
        self.device_label.setObjectName("device_label")
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.position_label)
        bar.addPermanentWidget(self.zoom_label)
        bar.addPermanentWidget(self.device_label)

    def _connect(self) -> None:
        c, p = self.canvas, self.projects
        c.shape_edited.connect(self.editing.edit_shape)
        c.polygon_drawn.connect(self.editing.polygon_drawn)
        c.delete_requested.connect(self.editing.delete)
        c.stroke_painted.connect(self.editing.paint_stroke)
        c.leave_mode_requested.connect(self.actions_by_name["edit_mode"].trigger)
        c.zoom_changed.connect(lambda s: self.zoom_label.setText(f"{s * 100:.0f}%"))
        p.project_opened.connect(self._on_project_opened)
        p.project_closed.connect(lambda: self._on_project_opened(None))
        p.image_shown.connect(self._on_image_shown)
        for source in (p, self.editing, self.autolabel, self.training, self.tags):
            source.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
            source.error.connect(self.show_error)
        self.review.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.autolabel.device_changed.connect(lambda d: self.device_label.setText(f"Device: {d}"))
        self.file_dock.image_activated.connect(p.show_image)
        self.exporter.finished.connect(self._on_export_finished)
        d = self.labels_dock
        d.classes_changed.connect(self.history.push_class_edit)  # one undo step over every image
        d.classes_changed.connect(lambda _project, edit: self._follow_class_edit(edit, False))
        d.colors_changed.connect(self._redraw_in_class_colors)
        self.class_list.events.listed.connect(self._show_labels)
        d.error.connect(self.show_error)
        d.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.autolabel.busy_changed.connect(lambda busy: busy or self.class_list.refresh())  # counts after a run
        self.options.events.weights.connect(lambda w: self.settings.setValue("weights", w))
        self.options.events.device.connect(lambda d: self.settings.setValue("device", d))
        self.options.events.backend.connect(lambda b: self.settings.setValue(BACKEND_KEY, b))
        self.options.events.score_threshold.connect(lambda t: self.settings.setValue(THRESHOLD_KEY, float(t)))
        self.options.events.keyframe_interval.connect(lambda k: self.settings.setValue(KEYFRAME_KEY, int(k)))
        self.session.events.new_object_label_chosen.connect(self._remember_new_label)
        self.options.events.device.connect(lambda d: self.device_label.setText(f"Device: {d}"))

    # ---------------------------------------------------------------- project events
    def _redraw_in_class_colors(self) -> None:
        """A class got another colour (chosen, or first given to classes an import brought): draw the
        image's objects and list the classes again in the colours now set."""
        project = self.projects.project
        if project is None:
            return
        self._show_labels(self.class_list.names)
        if project.current is not None:
            project.current.reload()

    def _on_project_opened(self, project: Project | None) -> None:
        self.class_list.set_project(project)
        self.file_dock.set_images(None if project is None else project.images)
        if project is not None:
            project.events.class_mapping_changed.connect(self.autolabel_dock.show_mapping)
            project.images.events.status_changed.connect(self._update_title)
            project.events.class_edit_replayed.connect(self.visibility.follow_class_edit)
            project.events.class_edit_replayed.connect(self._follow_class_edit)
            self._show_labels(self.class_list.names, keep=False)  # not the last project's class
            self._restore_new_label(project)
            try:
                self.autolabel_dock.show_mapping(project.class_mapping)
            except ValueError as exc:  # damaged in the store: say so; the mapping dialog repairs it
                self.show_error(str(exc))
        self._update_title()

    def _on_image_shown(self, name: str | None) -> None:
        project = self.projects.project
        self.objects_dock.set_document(None if name is None or project is None else project.document(name))
        self.file_dock.show_current(name)
        if project is not None and name is not None:
            index = project.images.index_of(name)
            self.position_label.setText(f"{index + 1:,} / {len(project.images):,}  {name}")
        else:
            self.position_label.setText("")
        self._update_title()

    def _update_title(self, *args) -> None:
        project = self.projects.project
        if project is None:
            self.setWindowTitle("Protolabel")
            return
        name = project.current_name or ""
        self.setWindowTitle(f"{name} — {project.folder.name} — Protolabel")

    def _set_mode(self, mode: str) -> None:
        self.editing.add_to_selected = mode == "part"
        if mode == "region":
            self.inspector.use_region_tool()
        else:
            self.canvas.use_tool("draw" if mode == "part" else mode)

    # ---------------------------------------------------------------- commands
    def open_folder(self, folder: str | Path) -> bool:
        return self.projects.open_folder(folder)

    def choose_folder(self) -> None:
        start = (self.projects.recent_folders() or [str(Path.home())])[0]
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images", start)
        if folder:
            self.open_folder(folder)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for folder in self.projects.recent_folders():
            self.recent_menu.addAction(folder, lambda f=folder: self.open_folder(f))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def save(self) -> None:
        project = self.projects.project
        if project is not None:
            project.store.checkpoint()
            self.statusBar().showMessage("Saved. (Every edit is saved as you make it.)", 5000)

    def change_class(self) -> None:
        project = self.projects.project
        if project is None or not self.selection.ids:
            self.statusBar().showMessage("Select an object first", 5000)
            return
        document = project.current
        own = [document.get(i).label for i in sorted(self.selection.ids) if document is not None and i in document]
        labels = list(self.class_list.names) or [DEFAULT_LABEL]
        if own and own[0] not in labels:
            labels.append(own[0])
        current = labels.index(own[0]) if own else 0  # the object's own class: Enter changes nothing
        label, ok = QInputDialog.getItem(self, "Change class", "Class:", labels, current, True)
        if ok and label.strip():
            self.editing.change_class(label)

    def _confirm_relabel(self, auto: int, person: int) -> bool:
        """I on an image with objects: go on unless the person, asked, cancels (or asks no more)."""
        if not self.actions_by_name["ask_before_relabel"].isChecked():
            return True
        box = RelabelConfirmation(auto, person, self)
        go = box.confirmed()
        if go and not box.ask_again:
            self.actions_by_name["ask_before_relabel"].setChecked(False)  # saved by its handler
        return go

    def choose_weights(self) -> None:
        start = str(Path(self.options.weights).parent) if self.options.weights else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open a YOLACT model", start, MODEL_FILES)
        if path:
            self.options.use_weights(path)

    def open_model_manager(self) -> None:
        dialog = ModelManagerDialog(self.model_manager, self)
        dialog.chosen.connect(self.options.use_weights)
        dialog.mirror_changed.connect(lambda url: self.settings.setValue(MIRROR_KEY, url))
        dialog.exec()

    def edit_class_mapping(self) -> None:
        project = self.projects.project
        if project is None or not self.options.weights:
            self.show_error("Open a folder and choose a model first: the mapping is from the model's classes")
            return
        weights, config = self.options.weights, self.options.config
        self.statusBar().showMessage("Reading the model's classes…", 8000)

        def read() -> None:
            try:
                names = model_class_names(weights, config)
            except Exception as exc:
                logger.exception("reading the classes of the model failed")
                self._invoker.call(self.show_error, f"Cannot read the classes of {weights}: {exc}")
                return
            self._invoker.call(self._open_mapping_dialog, names)

        QThreadPool.globalInstance().start(read)

    def _open_mapping_dialog(self, names) -> None:
        project = self.projects.project
        if project is None:
            return
        try:
            mapping = project.class_mapping
        except ValueError as exc:  # damaged: the dialog starts from no mapping, and saving it repairs it
            self.show_error(str(exc))
            mapping = ClassMapping()
        dialog = ClassMappingDialog(names, mapping, self)
        if dialog.exec():
            try:
                project.set_class_mapping(dialog.mapping())
            except ProjectStoreError as exc:  # e.g. another program holds the lock: nothing changed, retry later
                self.show_error(f"The class mapping was not saved: {exc}")

    def export_coco(self) -> None:
        if self.projects.project is None:
            self.show_error("Open a folder first")
            return
        dialog = ExportDialog(self.exporter.default_path(), self.exporter.counts(), self.projects.project.folder, self)
        if dialog.exec():
            self.statusBar().showMessage(f"Exporting to {dialog.path}…", 8000)
            self.exporter.export(
                dialog.path,
                verified_only=dialog.verified_only,
                validate=dialog.validate_box.isChecked(),
                fmt=dialog.format,
                polygons=dialog.polygons,
            )

    def _on_export_finished(self, summary, report, error) -> None:
        if error is not None:
            self.show_error(f"Export failed: {error}")
            return
        text = f"Wrote {summary.counts()} to {summary.path}"
        if summary.note:
            text += f"\n{summary.note}"
        if summary.skipped:
            text += f"\n{summary.skipped_line()}"
        for note in summary.notes:  # what the format could not carry, with counts
            text += f"\n{note}"
        if report is not None:
            text += f"\nCheck: {report.summary()}"
        self.statusBar().showMessage(text.replace("\n", "  ·  "), 15000)

    def _say(self, text: str | None) -> None:
        """A command's reason for doing nothing, in the status bar."""
        if text:
            self.statusBar().showMessage(text, 5000)

    def show_about(self) -> None:
        AboutDialog(self.options.device, self.windowIcon(), self).exec()

    def show_error(self, text: str) -> None:
        """Status bar plus a window-modal message box that does not block the event loop."""
        self.last_error = text
        self.statusBar().showMessage(text.splitlines()[0], 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Protolabel", text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("error_box")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def give_class_number(self, n: int) -> None:
        """Keys 1-9: the selected objects take the n-th class of the Classes dock."""
        classes = self.class_list.names
        if n > len(classes):
            self.statusBar().showMessage(f"There is no class {n} (the project has {len(classes)})", 5000)
            return
        self.editing.change_class(classes[n - 1])

    def _show_labels(self, labels, *, keep: bool = True) -> None:
        """The classes the Classes dock lists (the project's, and those its objects carry, as an auto-label
        run's) in the New polygons box; new polygons get the class the box then shows (the first class
        replaces the stand-in once a project has classes)."""
        self.objects_dock.show_classes(labels)
        self.session.list_classes(labels, keep=keep)

    def _restore_new_label(self, project: Project) -> None:
        """Show (and use) the class for new polygons the person chose in this project, if any."""
        label = saved_new_label(project)
        if label:
            self.session.use_new_object_label(label)

    def _follow_class_edit(self, edit, undone: bool) -> None:
        """A rename or merge of the class for new polygons (or its undo) renames that choice too: new
        polygons would otherwise bring the old class back."""
        old = self.session.new_object_label
        if self.session.follow_class_edit(edit, undone) and saved_new_label(self.projects.project) == old:
            self._remember_new_label(self.session.new_object_label)

    def _remember_new_label(self, label: str) -> None:
        error = remember_new_label(self.projects.project, label)
        if error:
            self.statusBar().showMessage(error, 8000)

    def closeEvent(self, event) -> None:  # noqa: N802
        save_layout(self, self.settings)
        self.autolabel.shutdown()
        self.propagation.shutdown()
        self.training.shutdown()
        self.inspector.shutdown()
        self.exporter.wait()
        self.file_dock.model.loader.shutdown()
        self.projects.close()
        self.video.shutdown()
        super().closeEvent(event)
