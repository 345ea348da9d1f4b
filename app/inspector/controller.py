"""The inspector's controller: feeds the InspectorState from the inference cache, keeps it in step
with the canvas selection, runs the model (whole image or a region) off the UI thread, and turns
edited masks and region detections into undoable document changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, Signal

from protolabel.app.inspector.overlays import CanvasOverlay
from protolabel.app.inspector.region_tool import RegionTool
from protolabel.app.qt_bridge import MainThreadInvoker
from protolabel.segmentation.errors import first_line
from protolabel.segmentation.geometry.outlines import DEFAULT_TOLERANCE
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.inspection.cache import NO_OBJECT, InferenceCacheError, InferenceRecord
from protolabel.segmentation.inspection.ledger import AppliedEdit, InspectorLedger, addable_row
from protolabel.segmentation.inspection.live import LiveMask
from protolabel.segmentation.inspection.state import Availability, InspectorState
from protolabel.segmentation.project.document import Change
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStoreError

logger = logging.getLogger(__name__)

FrameReader = Callable[[str, Callable[[np.ndarray | None, str | None], None]], None]


class InspectorController(QObject):
    """Wires the inspector state to the window's project, canvas, selection, edits and engines."""

    message = Signal(str)
    error = Signal(str)
    candidates_changed = Signal()  # region detections offered for adding changed

    def __init__(
        self, state: InspectorState, projects, canvas, selection, editing, autolabel, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.projects = projects
        self.canvas = canvas
        self.selection = selection
        self.editing = editing
        self.autolabel = autolabel
        self.overlay = CanvasOverlay(canvas, state, self)
        self.region_tool = RegionTool(canvas, self.run_region)
        self._invoker = MainThreadInvoker(self)
        self._io = QThreadPool(self)  # cache reads and writes, in order
        self._io.setMaxThreadCount(1)
        self._model = QThreadPool(self)  # model runs; the UI thread never runs one
        self._model.setMaxThreadCount(1)
        self.running: tuple[Path, str] | None = None  # (folder, image) the model is running on
        self.frame_reader: FrameReader | None = None  # decodes a video frame (the video controller sets it)
        self._bound: tuple[Project, object] | None = None
        self._document_bound = None
        self._syncing = False
        self.ledger = InspectorLedger()  # region offers, applied edits, reasons: Qt-free, beside the state
        projects.project_opened.connect(self._bind)
        projects.project_closed.connect(lambda: self._bind(None))
        projects.image_shown.connect(self._on_image_shown)
        selection.events.changed.connect(self._on_selection)
        state.events.detection_changed.connect(self._on_detection)
        state.events.record_changed.connect(self._show_region)
        state.events.inference_changed.connect(lambda *_: self.candidates_changed.emit())

    # ---------------------------------------------------------------- project and image
    @property
    def project(self) -> Project | None:
        return self.projects.project

    @property
    def candidates(self) -> dict[float, dict[int, Shape]]:
        """Region run -> {row: shape in the image} offered for adding (the ledger's)."""
        return self.ledger.offers

    def _bind(self, project: Project | None) -> None:
        self.ledger.forget_applied()
        if self._bound is not None:
            old, slot = self._bound
            old.inference.events.stored.disconnect(slot)
            self._bound = None
        if project is not None:
            slot = self._invoker.wrap(lambda name, folder=project.folder: self._on_stored(folder, name))
            project.inference.events.stored.connect(slot)
            self._bound = (project, slot)

    def _on_image_shown(self, name: str | None) -> None:
        self.ledger.forget_objects()
        if self._document_bound is not None:
            self._document_bound.events.changed.disconnect(self._on_document_changed)
            self._document_bound.events.reloaded.disconnect(self._on_document_changed)
            self._document_bound = None
        self.state.show_image(name)
        self.overlay.refresh()
        if name is not None and self.project is not None:
            self._document_bound = self.project.document(name)
            self._document_bound.events.changed.connect(self._on_document_changed)
            # re-read from the store (an auto-label job wrote it): a new run's objects, with new ids
            self._document_bound.events.reloaded.connect(self._on_document_changed)
            self._load(name)

    def image_has_objects(self) -> bool:
        """Whether the image on screen has objects (without cached model output, they came another way)."""
        return self._document_bound is not None and bool(self._document_bound.objects)

    def _on_document_changed(self, change=None) -> None:
        """An object was added, edited, deleted or restored, or the image's objects were re-read: what is
        offered for adding (and why a detection is no object) may change, and an undone or redone Apply
        changes what the object's coefficients are."""
        self.ledger.forget_objects()
        self._sync_applied()
        self.candidates_changed.emit()
        self._show_region(self.state.record)

    def _on_stored(self, folder: Path, name: str) -> None:
        if self.project is not None and self.project.folder == folder and name == self.state.image_name:
            self._load(name)

    def _load(self, name: str) -> None:
        """Read the image's cached runs in the I/O thread; the answer is dropped if the image changed."""
        project = self.project
        cache, folder = project.inference, project.folder

        def read() -> None:
            try:
                inference, problem = cache.get(name), ""
            except InferenceCacheError as exc:
                inference, problem = None, str(exc)
            self._invoker.call(self._loaded, folder, name, inference, problem)

        self._io.start(read)

    def _loaded(self, folder: Path, name: str, inference, problem: str) -> None:
        if self.project is None or self.project.folder != folder or name != self.state.image_name:
            return
        if self.running == (folder, name):
            return  # the run in progress will bring its own result
        w, h = self.canvas.image_size_wh()
        image_run = None if inference is None else inference.image_record
        if image_run is not None and image_run.frame_size != (h, w) and (w, h) != (0, 0):
            fh, fw = image_run.frame_size
            inference, problem = (
                None,
                (f"The cached model output is for a {fw}×{fh} image, this one is {w}×{h} (changed on disk?)."),
            )
        if problem and inference is None:
            self.state.set_inference(name, None)
            self.state.set_availability(Availability.FAILED, problem)
        else:
            self.state.set_inference(name, inference)
        if self.selection.single is not None:
            self._on_selection(self.selection.ids)

    # ---------------------------------------------------------------- selection, both ways
    def _document(self):
        project = self.project
        return None if project is None else project.current

    @contextmanager
    def _syncing_selection(self):
        """Inside, a selection change made on one side does not echo back through the other side's handler."""
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = False

    def _on_selection(self, ids) -> None:
        if self._syncing:
            return
        with self._syncing_selection():
            single = self.selection.single
            if single is not None:
                if not self.state.select_object(single) and self.state.record is not None:
                    self.state.select_detection(None)
            elif not ids and self.state.selected_object_id is not None:
                self.state.select_detection(None)

    def _on_detection(self, index) -> None:
        if self._syncing:
            return
        with self._syncing_selection():
            object_id = self.state.selected_object_id
            document = self._document()
            if object_id is not None and document is not None and object_id in document:
                self.selection.set([object_id])
            elif index is not None:
                self.selection.clear()

    def describe_detection(self, record: InferenceRecord, row: int) -> str:
        """How a detection stands against the document: an object, offered for adding, or neither (and why);
        an unapplied coefficient edit is named too."""
        text = self._standing(record, row)
        if self.state.has_pending_edit(record, row):
            text += " · edited, not applied"
        return text

    def _standing(self, record: InferenceRecord, row: int) -> str:
        object_id = int(record.object_ids[row])
        document = self._document()
        if object_id != NO_OBJECT and document is not None and object_id in document:
            label = document.get(object_id).label  # the model's class renamed, by the mapping or by a person
            return f"object {object_id}" + ("" if label == record.label(row) else f", now '{label}'")
        if object_id != NO_OBJECT:
            return "object deleted"
        if self.ledger.is_offered(record.created, row):
            return "new: can be added"
        return f"{'not added' if record.region else 'not kept'}: {self.why_not_kept(record, row)}"

    def why_not_kept(self, record: InferenceRecord, row: int) -> str:
        """The auto-label rule that leaves detection `row` out, with the project's mapping and threshold."""
        project, document = self.project, self._document()
        if project is None or document is None:
            return "no image open"

        def rejected():
            try:
                return project.store.rejected_shapes(document.path)
            except ProjectStoreError:  # an unreadable record only costs this reason its words
                return []

        mapping = project.class_mapping
        return self.ledger.reason(
            record,
            row,
            objects=lambda: [(o.id, o.shape) for o in document.objects],
            rejected=rejected,
            label_for=mapping.label_for,
            score_threshold=float(self.autolabel.options.score_threshold),
            mapping_key=repr(mapping),
        )

    def addable(self, record: InferenceRecord | None, row: int | None) -> bool:
        """A detection that is no (living) object of the image can be added."""
        if record is None or row is None:
            return False
        document = self._document()
        return addable_row(record, row, lambda object_id: document is not None and object_id in document)

    def new_candidates(self, record: InferenceRecord | None) -> list[int]:
        """Region detections offered for adding that are not objects yet."""
        return self.ledger.new_offers(record, self.addable)

    # ---------------------------------------------------------------- model runs
    def _settings(self):
        """The auto-label settings for a new model run, or None (with a message) when one cannot start now."""
        project = self.project
        if project is None or project.current_name is None:
            self.message.emit("Open a folder first")
            return None
        if self.running:
            self.message.emit("The model is already running; try again when it is done")
            return None
        try:
            return self.autolabel.options.settings(project.class_mapping)
        except ValueError as exc:
            self.error.emit(str(exc).capitalize())
            return None

    def _start(self, work: Callable[[Callable[[], np.ndarray]], None]) -> None:
        """Run `work(pixels)` on the model worker; `pixels()` gives the current image: read from its file there,
        or, for a video frame, decoded first by the video controller (a frame key is no file)."""
        project = self.project
        folder, name = project.folder, project.current_name
        self.running = (folder, name)
        self.state.set_availability(Availability.RUNNING, "Running the model…")
        if project.images.sequence_of(name) is None:
            path = project.images.absolute(name)

            def read() -> np.ndarray:
                from protolabel.segmentation.images import read_image

                return read_image(path)

            self._model.start(lambda: work(read))
            return
        if self.frame_reader is None:
            self._run_failed(folder, name, f"The model could not run: {name} is a video frame and no video is open")
            return

        def decoded(image: np.ndarray | None, error: str | None) -> None:
            if self.project is None or self.project.folder != folder:  # the folder closed while decoding
                self.running = None
            elif image is None:
                self._run_failed(folder, name, f"The model could not run: the frame was not decoded ({error})")
            else:
                self._model.start(lambda: work(lambda: image))

        self.frame_reader(name, decoded)

    def run_model(self) -> None:
        """Run the model on the current image for the inspector (objects are linked by mask IoU, not changed)."""
        settings = self._settings()
        if settings is None:
            return
        project = self.project
        name, cache, engines, folder = project.current_name, project.inference, self.autolabel.engines, project.folder
        objects = [(o.id, o.shape) for o in project.current.objects]

        def work(pixels: Callable[[], np.ndarray]) -> None:
            from protolabel.segmentation.inspection.matching import match_detections_to_objects

            try:
                engine = engines.get(settings)
                det = engine.predict([pixels()], settings.inference_settings())[0]
                links = match_detections_to_objects(det.masks, objects)
                record = InferenceRecord.from_detections(det, links, model=Path(settings.weights).name)
                cache.record_image_run(name, record)
            except Exception as exc:  # a bad checkpoint, an unreadable image: the user must see why
                logger.exception("the inspector's model run failed")
                self._invoker.call(self._run_failed, folder, name, f"The model could not run: {first_line(exc)}")
                return
            self._invoker.call(
                self._run_done,
                folder,
                name,
                None,
                f"{len(det)} detections, {len(links)} linked to objects of this image",
            )

        self._start(work)

    def run_region(self, rect) -> None:
        """Re-run the model on a rectangle of the current image, scaled up to the model's input size."""
        settings = self._settings()
        if settings is None:
            return
        project = self.project
        name, cache, engines, folder = project.current_name, project.inference, self.autolabel.engines, project.folder
        existing = [o.shape for o in project.current.objects]
        mapping = settings.mapping

        def work(pixels: Callable[[], np.ndarray]) -> None:
            from protolabel.segmentation.inspection.region import novel_detections, predict_region

            try:
                region = predict_region(engines.get(settings), pixels(), rect, settings.inference_settings())
                det = region.detections
                offered = {}
                for row in novel_detections(region, existing):
                    if mapping.label_for(det.class_names[int(det.classes[row])]) is None:
                        continue  # a class the project filters out
                    shape = region.shape_in_image(int(row), tolerance=DEFAULT_TOLERANCE)
                    if not shape.is_empty():
                        offered[int(row)] = shape
                record = InferenceRecord.from_detections(
                    det, origin=region.origin, region=True, model=Path(settings.weights).name
                )
                cache.add_region(name, record)
            except Exception as exc:
                logger.exception("region re-inference failed")
                self._invoker.call(self._run_failed, folder, name, f"Region re-inference failed: {first_line(exc)}")
                return
            self._invoker.call(self._region_done, folder, name, record, region.rect, offered)

        self._start(work)

    def _run_failed(self, folder: Path, name: str, text: str) -> None:
        self.running = None
        if self.project is not None and self.project.folder == folder and name == self.state.image_name:
            self.state.set_availability(Availability.FAILED, text)
            self._load(name)
        self.error.emit(text)

    def _run_done(self, folder: Path, name: str, record: InferenceRecord | None, text: str) -> None:
        self.running = None
        self.message.emit(text)
        if self.project is not None and self.project.folder == folder and name == self.state.image_name:
            self._load(name)

    def _region_done(self, folder: Path, name: str, record: InferenceRecord, rect, offered: dict) -> None:
        self.running = None
        self.ledger.offer(record.created, rect, offered)
        duplicates = len(record) - len(offered)
        self.message.emit(
            f"Region {rect[2] - rect[0]}×{rect[3] - rect[1]}: {len(record)} detections, "
            f"{len(offered)} offered for adding ({duplicates} duplicates or filtered out)"
        )
        project = self.project
        if project is None or project.folder != folder or name != self.state.image_name:
            return
        inference = project.inference.get(name)  # in memory: just stored
        self.state.set_inference(name, inference)
        index = None if inference is None else inference.index_of_run(record.created)
        if index is not None:
            self.state.select_record(index)
        self.candidates_changed.emit()

    def _show_region(self, record: InferenceRecord | None) -> None:
        if record is None or not record.region:
            self.overlay.clear_region()
            return
        offered = self.ledger.offers.get(record.created, {})
        self.overlay.show_region(self.ledger.region_rect(record), [offered[row] for row in self.new_candidates(record)])

    def use_region_tool(self) -> None:
        self.canvas.set_tool(self.region_tool)

    # ---------------------------------------------------------------- edits (undoable)
    def _detection_shape(self, record: InferenceRecord, row: int) -> Shape:
        offered = self.ledger.offered_shape(record.created, row)
        if offered is not None:
            return offered
        window = LiveMask(record.prototypes, record.boxes_rel[row], record.frame_size).compute(record.coefficients[row])
        return window.to_shape(record.origin, tolerance=DEFAULT_TOLERANCE)

    def _label_for(self, record: InferenceRecord, row: int) -> str:
        name = record.label(row)
        project = self.project
        label = None if project is None else project.class_mapping.label_for(name)
        return label or name

    def add_detections(self, rows, shapes: dict[int, Shape] | None = None, text: str | None = None) -> list[int]:
        """Add detections of the selected run as objects (one undo step); returns the new object ids."""
        record, document = self.state.record, self._document()
        if record is None or document is None:
            return []
        rows = [int(r) for r in rows if self.addable(record, int(r))]
        objects, kept_rows = [], []
        for row in rows:
            shape = (shapes or {}).get(row) or self._detection_shape(record, row)
            if shape.is_empty():
                continue
            objects.append(
                AnnotatedObject(self._label_for(record, row), shape, Provenance.EDITED, score=float(record.scores[row]))
            )
            kept_rows.append(row)
        if not objects:
            self.message.emit("Nothing to add: the mask is empty")
            return []
        text = text or ("Add detection" if len(objects) == 1 else f"Add {len(objects)} detections")
        applied = self.editing.apply(Change(text, (), tuple(objects), document.status, ImageStatus.EDITED))
        if applied is None:
            return []
        ids = [o.id for o in applied.after]
        self._link(record, dict(zip(kept_rows, ids)))
        with self._syncing_selection():
            self.selection.set(ids)
        self.message.emit(f"Added {len(ids)} object{'s' if len(ids) > 1 else ''} (Ctrl+Z undoes)")
        return ids

    def add_selected(self) -> list[int]:
        if self.state.detection is None:
            return []
        return self.add_detections([self.state.detection])

    def add_all_new(self) -> list[int]:
        return self.add_detections(self.new_candidates(self.state.record))

    def _link(self, record: InferenceRecord, links: dict[int, int]) -> None:
        """Remember which objects the detections became: shown at once, written in the I/O thread."""
        project = self.project
        cache, name = project.inference, project.current_name
        inference = self.state.inference
        index = None if inference is None else inference.index_of_run(record.created)
        if index is not None:
            for row, object_id in links.items():
                inference = inference.with_link(index, row, object_id)
            self.state.set_inference(name, inference)
        self._io.start(lambda: cache.link(name, record.created, links))

    def apply_edit(self) -> bool:
        """The edited mask becomes the object's polygons (provenance edited, undoable); a detection that is
        no object yet is added with it."""
        state, document = self.state, self._document()
        if state.detection is None or document is None:
            return False
        shape = state.edited_shape(tolerance=DEFAULT_TOLERANCE)
        if shape.is_empty():
            self.error.emit("The edited mask is empty, so there is nothing to apply. Reset brings the original back.")
            return False
        object_id = state.selected_object_id
        if object_id is not None and object_id in document:
            applied = self.editing.apply(document.edit_shape(object_id, shape, "Edit mask in inspector"))
            if applied is None:
                return False
            self._remember_applied(object_id)
            self.message.emit(f"Object {object_id} now follows the edited mask (Ctrl+Z undoes)")
            return True
        added = self.add_detections([state.detection], {state.detection: shape}, "Add edited detection")
        if added:
            self._remember_applied(added[0])
        return bool(added)

    def _remember_applied(self, object_id: int) -> None:
        """The object now has the edited mask: the inspector shows those coefficients for it (and forgets
        them while an undo takes the shape away, shows them again on redo)."""
        document = self._document()
        key = self.state.mark_applied()
        if key is None or document is None or object_id not in document:
            return
        edit = AppliedEdit(
            self.project.current_name, object_id, document.get(object_id).shape, self.state.baseline_coefficients
        )
        self.ledger.remember_applied(key, edit)

    def _sync_applied(self) -> None:
        document, name = self._document(), None if self.project is None else self.project.current_name
        if document is None:
            return

        def shape_of(object_id: int) -> Shape | None:
            return document.get(object_id).shape if object_id in document else None

        for key, coefficients in self.ledger.applied_now(name, shape_of):
            self.state.set_applied(key, coefficients)

    def reset(self) -> None:
        self.state.reset()

    def shutdown(self) -> None:
        """Wait for the inspector's threads (the window is closing)."""
        self._model.waitForDone(-1)
        self._io.waitForDone(-1)
