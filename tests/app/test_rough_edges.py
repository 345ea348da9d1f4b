"""Rough edges a new user hit (issue 11), each checked in the real window."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from segmentation.inspection.cache import NO_OBJECT, ImageInference
from segmentation.inspection.reasons import detection_shape
from segmentation.inspection.state import Availability
from segmentation.project.labels import ClassMapping
from tests.segmentation.inspection.conftest import blob_record


def _inspect_blobs(qtbot, window, photo_folder, object_ids=(NO_OBJECT, NO_OBJECT)):
    """The window on the photo folder with a hand-made model run (two blobs) as the current image's output."""
    window.open_folder(photo_folder)
    state = window.inspector.state
    qtbot.waitUntil(lambda: state.availability is Availability.MISSING, timeout=10_000)
    record = blob_record(object_ids=object_ids, frame_size=(96, 96))
    state.set_inference(state.image_name, ImageInference(state.image_name, (record,)))
    return state, record


def _wheel(widget, delta: int = -120) -> bool:
    """Send a wheel notch to `widget`; True when it took the event (else Qt passes it to the parents)."""
    at = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(at, widget.mapToGlobal(at), QPoint(), QPoint(0, delta), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def test_wheel_over_the_mask_tab_scrolls_and_moves_no_unfocused_slider(make_window, photo_folder, qtbot):
    window = make_window()
    state, record = _inspect_blobs(qtbot, window, photo_folder)
    dock = window.inspector.dock
    dock.show()
    dock.raise_()
    dock.setFixedHeight(300)  # the Mask tab scrolls
    state.select_detection(0)
    dock.tabs.setCurrentIndex(1)
    scroll = dock.mask_scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: scroll.maximum() > 0)
    slider = dock.sliders.sliders[0]
    dock.mask_scroll.ensureWidgetVisible(slider)
    scroll.setValue(0)
    before = slider.value()
    assert not _wheel(slider)  # ignored: a real wheel event goes on to the scroll area
    assert slider.value() == before and not state.edited and not dock.reset_button.isEnabled()
    _wheel(dock.mask_scroll.viewport())  # ... which scrolls the panel
    assert scroll.value() > 0

    slider.setFocus()  # a clicked (focused) slider takes the wheel
    qtbot.waitUntil(slider.hasFocus)
    assert _wheel(slider)
    assert slider.value() != before and state.edited and dock.reset_button.isEnabled()


def test_an_unapplied_edit_stays_with_its_detection_and_the_list_says_so(make_window, photo_folder, qtbot):
    window = make_window()
    state, record = _inspect_blobs(qtbot, window, photo_folder)
    dock = window.inspector.dock
    dock.detection_list.setCurrentRow(0)
    dock.sliders.sliders[0].setValue(100)
    assert state.edited
    dock.detection_list.setCurrentRow(1)  # another detection: nothing is dropped
    assert "edited, not applied" in dock.detection_list.item(0).text()
    assert "edited, not applied" not in dock.detection_list.item(1).text()
    dock.detection_list.setCurrentRow(0)
    assert state.edited and state.coefficients[0] == pytest.approx(0.1)
    assert dock.apply_button.isEnabled() and dock.sliders.sliders[0].value() == 100


def test_a_detection_not_kept_says_why(make_window, photo_folder, qtbot):
    window = make_window()
    state, record = _inspect_blobs(qtbot, window, photo_folder)
    dock = window.inspector.dock
    assert dock.detection_list.item(1).text().endswith("not kept: matches no object")

    # an object drawn over detection 1: it is a duplicate of that object
    shape = detection_shape(record, 1)
    document = window.projects.project.current
    added = window.editing.apply(document.add_object("dog", shape))
    object_id = added.after[0].id
    qtbot.waitUntil(lambda: f"not kept: duplicate of object {object_id} (IoU 1.00)" in dock.detection_list.item(1).text())

    window.projects.project.set_class_mapping(ClassMapping(keep=frozenset({"cat"})))
    window.options.score_threshold = 0.3
    dock._refresh_detection_texts()
    assert dock.detection_list.item(1).text().endswith('not kept: class "dog" is filtered out (Class Filter and Mapping)')
    window.projects.project.set_class_mapping(ClassMapping())
    window.options.score_threshold = 0.75
    dock._refresh_detection_texts()
    assert dock.detection_list.item(1).text().endswith("not kept: score 0.70 is not above the threshold 0.75")
