"""How fast a coefficient edit in the prototype inspector reaches the canvas (goal: <= 16 ms per update).

Prototypes 138x138x32 from a real forward pass on a 1920x1080 photo. One update = what a slider
move costs on the UI thread: the state takes the new coefficient, the live mask is recomputed in the
box window at image resolution (exactly as "apply" will trace it) and the canvas overlay's pixmap
is replaced. Reported as the median and 95th percentile over many edits, for a typical object box
(about 580x650 pixels) and for the worst case, a box covering the whole image. Also: the mask
computation alone, a synchronous repaint of the canvas with the overlay, and the dock's pictures
(assembly stages and 32 contribution thumbnails), which follow a moving slider at ~15 Hz.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/inspector.py [--weights W] [--repeats 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QObject, Signal  # noqa: E402

from benchmarks._common import synthetic_checkpoint  # noqa: E402

BOXES = {
    "typical box (580x650 px)": np.array([0.35, 0.2, 0.652, 0.802], np.float32),
    "whole-image box (1920x1080 px)": np.array([0.0, 0.0, 1.0, 1.0], np.float32),
}


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def time_edits(update, repeats: int, before=None) -> list[float]:
    """Milliseconds per `update(value)`, alternating the coefficient across its range; `before(value)` untimed."""
    values = np.linspace(-1, 1, repeats)
    update(0.5)  # warm-up: first pixmap, caches
    times = []
    for value in values:
        if before is not None:
            before(float(value))
        start = time.perf_counter()
        update(float(value))
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=None, help="YOLACT checkpoint (default: a synthetic yolact_resnet50)")
    parser.add_argument("--repeats", type=int, default=60)
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication
    from skimage import data

    app = QApplication(sys.argv[:1])
    from protolabel.app.canvas.view import CanvasView
    from protolabel.app.inspector.dock import InspectorDock
    from protolabel.app.inspector.overlays import CanvasOverlay
    from protolabel.segmentation.engine import InferenceSettings, YolactEngine
    from protolabel.segmentation.inspection.cache import ImageInference, InferenceRecord
    from protolabel.segmentation.inspection.state import InspectorState

    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights or synthetic_checkpoint("yolact_resnet50", Path(tmp))
        engine = YolactEngine(weights, device="cpu", settings=InferenceSettings(top_k=5))
        image = cv2.resize(data.astronaut()[:, :, ::-1], (1920, 1080), interpolation=cv2.INTER_LINEAR)
        det = engine.predict_image(image)
    assert det.prototypes.shape == (138, 138, 32), det.prototypes.shape

    canvas = CanvasView()
    canvas.resize(1200, 800)
    canvas.show()
    canvas.show_image(image, None, None)
    app.processEvents()
    print(
        f"prototypes {det.prototypes.shape}, image {image.shape[1]}x{image.shape[0]}, {args.repeats} edits each; "
        "median / p95 in ms"
    )
    for name, box in BOXES.items():
        record = InferenceRecord(
            frame_size=det.image_size,
            origin=(0, 0),
            prototypes=det.prototypes,
            coefficients=det.coefficients[:1],
            boxes_rel=box[None],
            classes=det.classes[:1],
            scores=det.scores[:1],
            object_ids=np.array([-1]),
            class_names=det.class_names,
        )
        state = InspectorState()
        overlay = CanvasOverlay(canvas, state)
        dock = InspectorDock(state, _NoController(), None)
        state.show_image("bench")
        state.set_inference("bench", ImageInference("bench", (record,)))
        state.select_detection(0)
        j = int(np.argmax(np.abs(det.coefficients[0])))

        def ui_update(value: float) -> None:
            state.set_coefficient(j, value)  # what a slider's valueChanged does (the dock's chart and sliders follow)
            overlay.flush()  # what the coalescing timer runs on the next event-loop turn

        full = time_edits(ui_update, args.repeats)
        compute = time_edits(lambda v: (state.set_coefficient(j, v), state.live_mask()), args.repeats)
        repaint = time_edits(lambda v: (ui_update(v), canvas.viewport().repaint()), args.repeats)
        pictures = time_edits(lambda v: dock._update_pictures(), max(10, args.repeats // 4), before=ui_update)
        window = state.live_mask()
        print(f"\n{name}: mask window {window.mask.shape[1]}x{window.mask.shape[0]}")
        print(
            "  coefficient edit -> canvas overlay updated :"
            f" {statistics.median(full):6.2f} / {percentile(full, 95):6.2f}"
        )
        print(
            f"  of which the mask computation               : {statistics.median(compute):6.2f} / "
            f"{percentile(compute, 95):6.2f}"
        )
        print(
            f"  edit + synchronous canvas repaint           : {statistics.median(repaint):6.2f} / "
            f"{percentile(repaint, 95):6.2f}"
        )
        print(
            f"  dock pictures (stages + 32 contributions)   : {statistics.median(pictures):6.2f} / "
            f"{percentile(pictures, 95):6.2f}   (throttled to ~15 Hz, not per move)"
        )
        dock.deleteLater()
    app.processEvents()


class _NoController(QObject):
    """What the dock asks of the controller, without a project (the benchmark opens no folder)."""

    candidates_changed = Signal()
    running = None

    def run_model(self) -> None: ...

    def apply_edit(self) -> None: ...

    def reset(self) -> None: ...

    def add_all_new(self) -> None: ...

    def addable(self, record, row) -> bool:
        return False

    def new_candidates(self, record) -> list:
        return []

    def describe_detection(self, record, row) -> str:
        return ""


if __name__ == "__main__":
    main()
