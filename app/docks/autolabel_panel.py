"""The auto-label dock: model file, device, backend, score threshold, max detections, keyframe interval, class
mapping, run buttons.

A view of `AutoLabelOptions` (Qt-free, evented): widgets write the options, option events update widgets.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from protolabel.segmentation.backends import BACKENDS
from protolabel.segmentation.project.autolabel import AutoLabelOptions
from protolabel.segmentation.project.labels import ClassMapping

DEVICES = ("auto", "cpu", "cuda")
BACKEND_CHOICES = ("torch", "auto", *(name for name in BACKENDS if name != "torch"))  # the default first
BACKEND_TIP = (
    "What runs the network. torch: as trained. onnxruntime / openvino: the network exported to ONNX "
    "once (a minute or more, cached), ~10 % faster on a CPU, same detections; they need their "
    "optional extra. auto: the fastest installed one that keeps the masks."
)
MAX_KEYFRAME_INTERVAL = 30  # past a second of 30 fps video the warped features drift too far to help
KEYFRAME_TIP = (
    "For a YolactEdge video model (yolact_edge_vid*) on a video: the whole network runs on every k-th frame "
    "and the frames between reuse its features, warped by a small flow network (faster). A frame after a gap "
    "runs in full. 1: every frame in full. Other models always run every frame in full."
)


def describe_mapping(mapping: ClassMapping) -> str:
    kept = "all classes" if mapping.keep is None else f"{len(mapping.keep)} classes kept"
    renamed = f", {len(mapping.rename)} renamed" if mapping.rename else ""
    return kept + renamed


class AutoLabelPanel(QDockWidget):
    """Settings for auto-labeling; the buttons trigger the window's actions (so shortcuts and buttons agree)."""

    def __init__(self, options: AutoLabelOptions, actions: dict, parent=None) -> None:
        super().__init__("Auto-label", parent)
        self.setObjectName("autolabel_dock")
        self.options = options
        self.model_label = QLabel()
        self.model_label.setObjectName("model_label")
        self.model_label.setWordWrap(True)
        open_button = QPushButton("Open model…")
        open_button.clicked.connect(actions["open_weights"].trigger)
        official_button = QPushButton("Official models…")
        official_button.clicked.connect(actions["model_manager"].trigger)
        self.device_box = QComboBox()
        self.device_box.setObjectName("device_box")
        self.device_box.setEditable(True)  # cuda:1 and friends
        self.device_box.addItems(DEVICES)
        self.backend_box = QComboBox()
        self.backend_box.setObjectName("backend_box")
        self.backend_box.addItems(BACKEND_CHOICES)
        self.backend_box.setToolTip(BACKEND_TIP)
        self.threshold_box = QDoubleSpinBox()
        self.threshold_box.setObjectName("score_threshold")
        self.threshold_box.setRange(0.0, 1.0)
        self.threshold_box.setSingleStep(0.05)
        self.threshold_box.setDecimals(2)
        self.top_k_box = QSpinBox()
        self.top_k_box.setObjectName("max_detections")
        self.top_k_box.setRange(1, 1000)
        self.keyframe_box = QSpinBox()
        self.keyframe_box.setObjectName("keyframe_interval")
        self.keyframe_box.setRange(1, MAX_KEYFRAME_INTERVAL)
        self.keyframe_box.setPrefix("every ")
        self.keyframe_box.setSuffix(" frames")
        self.keyframe_box.setToolTip(KEYFRAME_TIP)
        self.mapping_label = QLabel("all classes")
        mapping_button = QPushButton("Filter and rename…")
        mapping_button.clicked.connect(actions["class_mapping"].trigger)
        image_button = QPushButton("Label this image  (I)")
        image_button.clicked.connect(actions["autolabel_image"].trigger)
        all_button = QPushButton("Label all unlabeled  (Ctrl+B)")
        all_button.setObjectName("autolabel_all_button")
        all_button.clicked.connect(actions["autolabel_all"].trigger)

        model_buttons = QHBoxLayout()
        model_buttons.addWidget(open_button)
        model_buttons.addWidget(official_button)
        form = QFormLayout()
        form.addRow("Model:", self.model_label)
        form.addRow("", model_buttons)
        form.addRow("Device:", self.device_box)
        form.addRow("Backend:", self.backend_box)
        form.addRow("Score threshold:", self.threshold_box)
        form.addRow("Max detections:", self.top_k_box)
        form.addRow("Video keyframe:", self.keyframe_box)
        # the class filter and its button share a row: a taller dock takes height from the Objects list
        # beside it, a wider one sets the window's narrowest width
        classes = QHBoxLayout()
        classes.addWidget(self.mapping_label, 1)
        classes.addWidget(mapping_button)
        form.addRow("Classes:", classes)
        layout = QVBoxLayout()
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(form)
        layout.addWidget(image_button)
        layout.addWidget(all_button)
        layout.addStretch(1)
        body = QWidget()
        body.setLayout(layout)
        self.setWidget(body)

        self._show_options()
        self.device_box.currentTextChanged.connect(lambda text: setattr(options, "device", text.strip() or "auto"))
        self.backend_box.currentTextChanged.connect(lambda text: setattr(options, "backend", text))
        self.threshold_box.valueChanged.connect(lambda value: setattr(options, "score_threshold", float(value)))
        self.top_k_box.valueChanged.connect(lambda value: setattr(options, "top_k", int(value)))
        self.keyframe_box.valueChanged.connect(lambda value: setattr(options, "keyframe_interval", int(value)))
        options.events.connect(self._show_options)

    def _show_options(self, *args) -> None:
        o = self.options
        self.model_label.setText(Path(o.weights).name if o.weights else "<i>none chosen</i>")
        self.model_label.setToolTip(o.weights)
        if self.device_box.currentText() != o.device:
            self.device_box.setCurrentText(o.device)
        if self.backend_box.currentText() != o.backend:
            self.backend_box.setCurrentText(o.backend)
        if abs(self.threshold_box.value() - o.score_threshold) > 1e-9:
            self.threshold_box.setValue(o.score_threshold)
        if self.top_k_box.value() != o.top_k:
            self.top_k_box.setValue(o.top_k)
        if self.keyframe_box.value() != o.keyframe_interval:
            self.keyframe_box.setValue(o.keyframe_interval)

    def show_mapping(self, mapping: ClassMapping) -> None:
        self.mapping_label.setText(describe_mapping(mapping))
