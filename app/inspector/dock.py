"""The prototype inspector dock: a view of the InspectorState (runs, detections, prototypes, coefficients,
assembly stages, contributions) with the controls that change it. It renders state, never owns it.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from protolabel.app.inspector.controller import InspectorController
from protolabel.app.inspector.pictures import diverging_qimage, diverging_qimages, gray_qimage, heatmap_qimage
from protolabel.app.inspector.widgets import CoefficientChart, CoefficientSliders, Tile, TileGrid
from protolabel.segmentation.geometry.boxes import ordered_box
from protolabel.segmentation.inspection.assembly import contributions
from protolabel.segmentation.inspection.state import Availability, InspectorState, ScalingMode, SortMode

PICTURE_DELAY_MS = 60  # stages and contributions follow a moving slider at ~15 Hz; the canvas follows every move
RELIED_ON = "#f5b82e"
DEAD = "#ef4444"
FINAL_PREVIEW_WIDTH = 240
MIN_GRID_ROWS = 1  # prototype rows the inspector shows however the window's docks are sized
TAB_PADDING = 20  # the tab frame, the scroll area's and the layout's margins and spacing
# No cached model output: an image without objects was simply never run; one with objects got them another way.
MISSING_NEVER_RUN = "The model has not run on this image yet. Run it once to inspect its prototypes."
MISSING_LABELLED = (
    "No model output is cached for this image (its objects were drawn, imported, or labelled before "
    "the cache existed). Run the model once to inspect it; the objects are not changed."
)
HOVER_HINT = "Hover a prototype for its values; click to overlay it."  # one line: the grid needs the room

_SORT_TEXT = {SortMode.VALUE: "coefficient", SortMode.CONTRIBUTION: "|contribution|", SortMode.INDEX: "index"}
_SCALING_TEXT = {ScalingMode.PER_PROTOTYPE: "per prototype", ScalingMode.SHARED: "shared"}


def _heading(text: str) -> QLabel:
    label = QLabel(f"<b>{text}</b>")
    label.setContentsMargins(0, 6, 0, 0)
    return label


def _range_text(low: float, high: float) -> str:
    return f"{low:.2g}–{high:.2g}"


class InspectorDock(QDockWidget):
    """Shows the selected run and detection; its controls call the state or the controller."""

    def __init__(self, state: InspectorState, controller: InspectorController, parent=None) -> None:
        super().__init__("Prototype Inspector", parent)
        self.setObjectName("inspector_dock")
        self.state = state
        self.controller = controller
        self._filling = False
        self._order: list[int] = []
        self._pictures_timer = QTimer(self)
        self._pictures_timer.setSingleShot(True)
        self._pictures_timer.setInterval(PICTURE_DELAY_MS)
        self._pictures_timer.timeout.connect(self._update_pictures)

        # header: where the numbers come from, and the run/detection pickers
        self.status_label = QLabel()
        self.status_label.setObjectName("inspector_status")
        self.status_label.setWordWrap(True)
        self.run_button = QPushButton("Run model on this image")
        self.run_button.setObjectName("run_model_button")
        self.run_button.setToolTip("Run the model once on this image to inspect it (objects are not changed)")
        self.run_button.clicked.connect(controller.run_model)
        self.run_box = QComboBox()
        self.run_box.setObjectName("run_box")
        self.run_box.currentIndexChanged.connect(self._on_run_chosen)
        self.detection_list = QListWidget()
        self.detection_list.setObjectName("detection_list")
        self.detection_list.setMaximumHeight(92)
        # two rows at least (it scrolls): the objects list above shares the column and needs its rows more
        self.detection_list.setMinimumHeight(2 * self.detection_list.fontMetrics().lineSpacing() + 8)
        self.detection_list.currentRowChanged.connect(self._on_detection_chosen)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_prototypes_tab(), "Prototypes")
        self.tabs.addTab(self._build_mask_tab(), "Mask")
        self.tabs.setMinimumHeight(self._tabs_min_height())

        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("apply_button")
        self.apply_button.setToolTip("Make the edited mask the object's polygons (undoable)")
        self.apply_button.clicked.connect(controller.apply_edit)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setObjectName("reset_button")
        self.reset_button.setToolTip(
            "Back to the model's coefficients (after an Apply, Apply again puts the model's mask back)"
        )
        self.reset_button.clicked.connect(controller.reset)
        self.add_all_button = QPushButton("Add all new")
        self.add_all_button.setObjectName("add_all_button")
        self.add_all_button.setToolTip("Add every region detection that duplicates no object (one undo step)")
        self.add_all_button.clicked.connect(controller.add_all_new)
        buttons = QHBoxLayout()
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.reset_button)
        buttons.addStretch(1)
        buttons.addWidget(self.add_all_button)

        runs_row = QHBoxLayout()
        runs_row.addWidget(QLabel("Run:"))
        runs_row.addWidget(self.run_box, 1)
        layout = QVBoxLayout()
        layout.setContentsMargins(6, 4, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.status_label)
        layout.addWidget(self.run_button)
        layout.addLayout(runs_row)
        layout.addWidget(self.detection_list)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)
        body = QWidget()
        body.setLayout(layout)
        self.setWidget(body)

        e = state.events
        e.availability_changed.connect(self._show_availability)
        e.inference_changed.connect(self._fill_runs)
        e.record_changed.connect(self._show_record)
        e.detection_changed.connect(self._show_detection)
        e.coefficients_changed.connect(self._show_coefficients)
        e.scaling_changed.connect(self._show_scaling)
        e.enlarged_changed.connect(lambda j: self.grid.set_highlight(j))
        e.sort_changed.connect(self._show_sort)
        e.leakage_changed.connect(lambda on: self.leakage_box.setChecked(on))
        e.pending_changed.connect(self._refresh_detection_texts)
        controller.candidates_changed.connect(self._refresh_detection_texts)
        controller.candidates_changed.connect(lambda: self._show_availability(self.state.availability))  # objects
        self._show_availability(state.availability)
        self._fill_runs(state.inference)

    # ---------------------------------------------------------------- construction
    def _build_prototypes_tab(self) -> QWidget:
        self.scaling_box = QComboBox()
        self.scaling_box.setObjectName("scaling_box")
        for mode in ScalingMode:
            self.scaling_box.addItem(_SCALING_TEXT[mode], mode)
        self.scaling_box.currentIndexChanged.connect(lambda i: self.state.set_scaling(self.scaling_box.itemData(i)))
        self.hover_label = QLabel(HOVER_HINT)
        self.hover_label.setObjectName("hover_label")
        self.hover_label.setWordWrap(True)
        self.grid = TileGrid(min_tile=48)
        self.grid.setObjectName("prototype_grid")
        self.grid.clicked.connect(self.state.toggle_enlarged)
        self.grid.hovered.connect(self._on_grid_hover)
        self.summary_label = QLabel()
        self.summary_label.setObjectName("summary_label")
        self.summary_label.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Colour scale:"))
        top.addWidget(self.scaling_box)
        top.addStretch(1)
        inner = QVBoxLayout()
        inner.setContentsMargins(2, 2, 2, 2)
        inner.addLayout(top)
        inner.addWidget(self.hover_label)
        inner.addWidget(self.grid)
        inner.addWidget(self.summary_label)
        inner.addStretch(1)
        return self._scrolling(inner)

    def _tabs_min_height(self) -> int:
        """Room for the tab bar, the colour-scale row, the hint and MIN_GRID_ROWS rows of prototypes:
        the main window's docks share the right column, and without a floor the grid began as a thin strip."""
        hint_lines = self.hover_label.fontMetrics().lineSpacing()  # HOVER_HINT; longer texts scroll
        chrome = self.tabs.tabBar().sizeHint().height() + self.scaling_box.sizeHint().height() + hint_lines
        return chrome + self.grid.rows_height(MIN_GRID_ROWS) + TAB_PADDING

    def _build_mask_tab(self) -> QWidget:
        self.no_detection_label = QLabel("Select an object on the canvas, or a detection in the list above.")
        self.no_detection_label.setWordWrap(True)
        self.sort_box = QComboBox()
        self.sort_box.setObjectName("sort_box")
        for mode in (SortMode.VALUE, SortMode.CONTRIBUTION, SortMode.INDEX):
            self.sort_box.addItem(_SORT_TEXT[mode], mode)
        self.sort_box.currentIndexChanged.connect(lambda i: self.state.set_sort(self.sort_box.itemData(i)))
        self.leakage_box = QCheckBox("Leakage view")
        self.leakage_box.setObjectName("leakage_box")
        self.leakage_box.setToolTip("Show the uncropped mask over the image with the box: red is what the crop cut off")
        self.leakage_box.toggled.connect(self.state.set_show_leakage)
        self.chart = CoefficientChart()
        self.chart.setObjectName("coefficient_chart")
        self.chart.clicked.connect(self._scroll_to_slider)
        self.stages = TileGrid(min_tile=84, max_columns=4)
        self.stages.setObjectName("stage_tiles")
        self.contribution_tiles = TileGrid(min_tile=48)
        self.contribution_tiles.setObjectName("contribution_tiles")
        self.contribution_tiles.clicked.connect(self.state.toggle_enlarged)
        self.sliders = CoefficientSliders()
        self.sliders.setObjectName("coefficient_sliders")
        self.sliders.edited.connect(self.state.set_coefficient)
        self.sliders.zero_requested.connect(self.state.zero_prototype)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Sort by"))
        controls.addWidget(self.sort_box)
        controls.addStretch(1)
        controls.addWidget(self.leakage_box)
        self.detail = QWidget()
        detail = QVBoxLayout(self.detail)
        detail.setContentsMargins(0, 0, 0, 0)
        detail.addLayout(controls)
        detail.addWidget(_heading("Coefficients"))
        detail.addWidget(self.chart)
        detail.addWidget(_heading("Assembly: linear → sigmoid → box crop → final"))
        detail.addWidget(self.stages)
        detail.addWidget(_heading("Contributions c·P (blue negative, red positive)"))
        detail.addWidget(self.contribution_tiles)
        detail.addWidget(_heading("Edit coefficients"))
        detail.addWidget(self.sliders)
        inner = QVBoxLayout()
        inner.setContentsMargins(2, 2, 2, 2)
        inner.addWidget(self.no_detection_label)
        inner.addWidget(self.detail)
        inner.addStretch(1)
        self.mask_scroll = self._scrolling(inner)
        return self.mask_scroll

    @staticmethod
    def _scrolling(layout: QVBoxLayout) -> QScrollArea:
        content = QWidget()
        content.setLayout(layout)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        return scroll

    # ---------------------------------------------------------------- state -> widgets
    def _show_availability(self, availability: Availability) -> None:
        state = self.state
        texts = {
            Availability.NO_IMAGE: "No image.",
            Availability.LOADING: "Reading the cached model output…",
            Availability.MISSING: MISSING_LABELLED if self.controller.image_has_objects() else MISSING_NEVER_RUN,
            Availability.RUNNING: "Running the model…",
            Availability.FAILED: state.message,
        }
        text = texts.get(availability, "")
        if availability is Availability.READY:
            text = self._run_summary()
        elif state.message and availability is not Availability.FAILED:
            text = f"{text} {state.message}"
        self.status_label.setText(text)
        self.run_button.setVisible(availability in (Availability.MISSING, Availability.FAILED))
        self.run_button.setEnabled(not self.controller.running)
        self._update_buttons()

    def _run_summary(self) -> str:
        record = self.state.record
        if record is None:
            return ""
        h, w, k = record.prototypes.shape
        source = f" from {record.model}" if record.model else ""
        run = "Region re-inference: " if record.region else ""
        return f"{run}{len(record)} detections{source}; {k} prototypes of {w}×{h}."

    def _fill_runs(self, inference) -> None:
        self._filling = True
        try:
            self.run_box.clear()
            for record in () if inference is None else inference.records:
                if record.region:
                    h, w = record.frame_size
                    text = f"Region {w}×{h} at ({record.origin[0]}, {record.origin[1]}), {len(record)} detections"
                else:
                    text = f"Whole image, {len(record)} detections"
                self.run_box.addItem(text)
            self.run_box.setEnabled(self.run_box.count() > 1)
            if self.state.record_index is not None:
                self.run_box.setCurrentIndex(self.state.record_index)
        finally:
            self._filling = False

    def _show_record(self, record) -> None:
        self._filling = True
        try:
            if self.state.record_index is not None and self.run_box.currentIndex() != self.state.record_index:
                self.run_box.setCurrentIndex(self.state.record_index)
            self.detection_list.clear()
            if record is not None:
                for row in range(len(record)):
                    item = QListWidgetItem()
                    item.setData(Qt.ItemDataRole.UserRole, row)
                    self.detection_list.addItem(item)
                self._refresh_detection_texts()
        finally:
            self._filling = False
        self.hover_label.setText(HOVER_HINT)
        self._show_grid()
        self._show_availability(self.state.availability)

    def _refresh_detection_texts(self) -> None:
        record = self.state.record
        if record is None or self.detection_list.count() != len(record):
            return
        for row in range(len(record)):
            self.detection_list.item(row).setText(
                f"#{row}  {record.label(row)}  {record.scores[row]:.2f}  ·  "
                f"{self.controller.describe_detection(record, row)}"
            )
        self._update_buttons()

    def _show_grid(self) -> None:
        record = self.state.record
        if record is None:
            self.grid.set_tiles([])
            self.summary_label.setText("")
            return
        protos = record.prototypes
        lo, hi = self.state.prototype_ranges()
        summary = self.state.summary()
        relied = set(summary.ranking[:3].tolist()) if len(record) else set()
        tiles = []
        for j in range(protos.shape[2]):
            p = protos[:, :, j]
            dead = bool(summary.dead[j])
            tiles.append(
                Tile(
                    heatmap_qimage(p, float(lo[j]), float(hi[j])),
                    "dead" if dead else _range_text(float(p.min()), float(p.max())),
                    border=QColor(DEAD if dead else RELIED_ON) if dead or j in relied else None,
                    dim=dead,
                    label=f"#{j}",
                )
            )
        self.grid.set_tiles(tiles)
        self.grid.set_highlight(self.state.enlarged)
        self.summary_label.setText(self._summary_text(summary, len(record)))

    @staticmethod
    def _summary_text(summary, detections: int) -> str:
        if detections == 0:
            top = "no detections in this run"
        else:
            top = ", ".join(f"#{j} ({summary.reliance[j]:.2f})" for j in summary.ranking[:5])
            top = f"relied on most (mean |c·P| in the box over {detections} detections): {top}"
        dead = [int(j) for j in np.flatnonzero(summary.dead)]
        dead_text = ", ".join(f"#{j}" for j in dead) if dead else "none"
        return (
            f"<span style='color:{RELIED_ON}'>■</span> {top}<br>"
            f"<span style='color:{DEAD}'>■</span> dead (≈0 everywhere): {dead_text}"
        )

    def _show_scaling(self, mode) -> None:
        index = self.scaling_box.findData(mode)
        if index != self.scaling_box.currentIndex():
            self.scaling_box.setCurrentIndex(index)
        self._show_grid()

    def _show_sort(self, mode) -> None:
        index = self.sort_box.findData(mode)
        if index != self.sort_box.currentIndex():
            self.sort_box.setCurrentIndex(index)
        self._reorder()

    def _show_detection(self, index) -> None:
        self._filling = True
        try:
            self.detection_list.setCurrentRow(-1 if index is None else index)
        finally:
            self._filling = False
        has = index is not None
        self.no_detection_label.setVisible(not has)
        self.detail.setVisible(has)
        if has:
            self._reorder()
        self._update_buttons()

    def _reorder(self) -> None:
        """Row order of the chart and sliders: set when the detection or the sort changes, not while editing."""
        self._order = self.state.coefficient_order().tolist()
        self.sliders.set_order(self._order)
        self._show_coefficients(self.state.coefficients)

    def _show_coefficients(self, coefficients) -> None:
        original = self.state.original_coefficients
        if coefficients is None or len(self._order) != len(coefficients):
            self.chart.set_data(np.zeros(0, np.int64), None, None)
            self._update_buttons()
            return
        self.chart.set_data(np.asarray(self._order), coefficients, original)
        self.sliders.set_values(coefficients, original)
        self._update_buttons()
        if not self._pictures_timer.isActive():
            self._pictures_timer.start()

    def _update_pictures(self) -> None:
        """The assembly stages and the per-prototype contributions for the coefficients now in effect."""
        state = self.state
        record, coeffs = state.record, state.coefficients
        if coeffs is None:
            self.stages.set_tiles([])
            self.contribution_tiles.set_tiles([])
            return
        stages = state.stages()
        rel_box = ordered_box(record.boxes_rel[state.detection])
        fh, fw = record.frame_size
        linear_limit = float(np.abs(stages.linear).max()) or 1.0
        final = stages.final
        small = (
            cv2.resize(
                final.view(np.uint8),
                (FINAL_PREVIEW_WIDTH, max(1, round(FINAL_PREVIEW_WIDTH * fh / fw))),
                interpolation=cv2.INTER_AREA,
            )
            if fw > FINAL_PREVIEW_WIDTH
            else final.view(np.uint8)
        )
        self.stages.set_tiles(
            [
                Tile(diverging_qimage(stages.linear, linear_limit), f"linear ±{linear_limit:.1f}"),
                Tile(heatmap_qimage(stages.sigmoid, 0, 1), "sigmoid", box=rel_box),
                Tile(heatmap_qimage(stages.cropped, 0, 1), "box crop", box=rel_box),
                Tile(gray_qimage(small), f"final {fw}×{fh}", box=rel_box),
            ],
            aspect=fh / fw,
        )
        parts = contributions(record.prototypes, coeffs)[self._order]
        limit = float(np.abs(parts).max()) or 1.0
        self.contribution_tiles.set_tiles(
            [
                Tile(image, f"{coeffs[j]:+.2f}", label=f"#{j}")
                for j, image in zip(self._order, diverging_qimages(parts, limit))
            ]
        )

    def _update_buttons(self) -> None:
        state, controller = self.state, self.controller
        selected = state.detection is not None
        addable = controller.addable(state.record, state.detection)
        self.apply_button.setText("Add as object" if selected and addable else "Apply")
        self.apply_button.setEnabled(selected and (state.edited or addable))
        self.reset_button.setEnabled(state.differs_from_model)
        new = controller.new_candidates(state.record)
        self.add_all_button.setVisible(bool(state.record is not None and state.record.region))
        self.add_all_button.setEnabled(bool(new))
        self.add_all_button.setText(f"Add all new ({len(new)})" if new else "Add all new")

    # ---------------------------------------------------------------- widgets -> state
    def _on_run_chosen(self, index: int) -> None:
        if not self._filling and index >= 0:
            self.state.select_record(index)

    def _on_detection_chosen(self, row: int) -> None:
        if not self._filling:
            self.state.select_detection(None if row < 0 else row)

    def _on_grid_hover(self, j: int, fx: float, fy: float) -> None:
        record = self.state.record
        if record is None or j < 0:
            return
        h, w = record.prototypes.shape[:2]
        x, y = min(int(fx * w), w - 1), min(int(fy * h), h - 1)
        value = float(record.prototypes[y, x, j])
        text = f"Prototype #{j} at ({x}, {y}): {value:.3f}"
        coeffs = self.state.coefficients
        if coeffs is not None:
            text += f";  × coefficient {coeffs[j]:+.3f} = {value * coeffs[j]:+.3f}"
        self.hover_label.setText(text)

    def _scroll_to_slider(self, j: int) -> None:
        self.tabs.setCurrentIndex(1)
        slider = self.sliders.row_widget(j)
        self.mask_scroll.ensureWidgetVisible(slider)
        slider.setFocus()
