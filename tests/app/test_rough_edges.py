"""Rough edges a new user hit (issue 11), each checked in the real window."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from protolabel.segmentation.inspection.cache import NO_OBJECT, ImageInference
from protolabel.segmentation.inspection.reasons import detection_shape
from protolabel.segmentation.inspection.state import Availability
from protolabel.segmentation.project.labels import ClassMapping
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
    event = QWheelEvent(
        at,
        widget.mapToGlobal(at),
        QPoint(),
        QPoint(0, delta),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
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
    duplicate = f"not kept: duplicate of object {object_id} (IoU 1.00)"
    qtbot.waitUntil(lambda: duplicate in dock.detection_list.item(1).text())

    window.projects.project.set_class_mapping(ClassMapping(keep=frozenset({"cat"})))
    window.options.score_threshold = 0.3
    dock._refresh_detection_texts()
    assert (
        dock.detection_list.item(1).text().endswith('not kept: class "dog" is filtered out (Class Filter and Mapping)')
    )
    window.projects.project.set_class_mapping(ClassMapping())
    window.options.score_threshold = 0.75
    dock._refresh_detection_texts()
    assert dock.detection_list.item(1).text().endswith("not kept: score 0.70 is not above the threshold 0.75")


# ---------------------------------------------------------------- help, About, start page, status bar
def test_shortcut_list_fits_the_canvas_width_and_scrolls(make_window, qtbot):
    from protolabel.app.actions import ACTIONS

    window = make_window()
    window.resize(1000, 420)  # a narrow canvas (the docks take most) and short: the list wraps and scrolls
    qtbot.waitUntil(lambda: window.canvas.width() < 400)
    window.actions_by_name["help"].trigger()
    overlay = window.help_overlay
    assert overlay.isVisible() and overlay.geometry() == window.canvas.rect()
    assert not window.actions_by_name["help"].isCheckable()  # Help ▸ Shortcuts is a command, not a checkbox
    qtbot.waitUntil(lambda: overlay.label.width() <= overlay.viewport().width())
    assert overlay.horizontalScrollBar().maximum() == 0
    assert overlay.verticalScrollBar().maximum() > 0  # what does not fit the height scrolls
    text = overlay.text()
    for spec in ACTIONS:
        for key in spec.shortcuts:
            assert key.replace("&", "&amp;").replace("<", "&lt;") in text
    window.actions_by_name["help"].trigger()
    assert not overlay.isVisible()

    window.resize(1900, 900)  # wide: the sections go into columns
    window.actions_by_name["help"].trigger()
    qtbot.waitUntil(lambda: overlay.columns >= 2)
    assert overlay.text().count("valign='top'") == overlay.columns


def test_about_names_version_torch_device_and_licence(make_window, qtbot, monkeypatch):
    import importlib.metadata

    import torch

    from protolabel.app.dialogs.about import AboutDialog

    window = make_window()
    (help_menu,) = [a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Help"]
    assert window.actions_by_name["about"] in help_menu.actions()
    dialog = AboutDialog("cpu", window.windowIcon(), window)
    text = dialog.text_label.text()
    assert importlib.metadata.version("protolabel") in text
    assert torch.__version__ in text and "CPU" in text and "MIT" in text

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Test GPU 9000")
    assert "CUDA: Test GPU 9000 (cuda:0)" in AboutDialog("auto", None, window).text_label.text()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "CPU (" in AboutDialog("auto", None, window).text_label.text()
    assert "unusable: CUDA was requested" in AboutDialog("cuda", None, window).text_label.text()


def test_bare_window_shows_a_start_page_until_a_folder_opens(make_window, photo_folder, qtbot, tmp_path):
    window = make_window()
    page = window.start_page
    assert page.isVisible() and page.geometry() == window.canvas.rect()
    assert page.no_recent.isVisible() and not page.recent_buttons
    assert "Ctrl+O" in page.open_button.text()
    buttons = {b.objectName(): b for b in page.findChildren(type(page.open_button))}
    assert {"start_open_folder", "start_official_models", "start_open_weights"} <= set(buttons)
    assert page.model_label.text() == "No model chosen yet."

    opened = []
    window.actions_by_name["open_weights"].triggered.disconnect()
    window.actions_by_name["open_weights"].triggered.connect(lambda: opened.append("weights"))
    buttons["start_open_weights"].click()
    assert opened == ["weights"]  # the page triggers the same actions as the menus

    assert window.open_folder(photo_folder)
    assert not page.isVisible()
    window.projects.close()
    qtbot.waitUntil(page.isVisible)
    # the folder is now a recent one: one click opens it again
    assert [b.toolTip() for b in page.recent_buttons] == [f"Open {photo_folder}"]
    page.recent_buttons[0].click()
    assert window.projects.project is not None and window.projects.project.folder == photo_folder
    assert not page.isVisible()


def test_every_status_bar_message_expires():
    """Each showMessage in the app gives a timeout: a message never outlives the next actions."""
    import ast
    from pathlib import Path

    from protolabel import app

    calls = []
    for path in Path(app.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "showMessage":
                calls.append((path.name, node.lineno, len(node.args) + len(node.keywords)))
    assert calls and all(n == 2 for _, _, n in calls), [c for c in calls if c[2] != 2]


def test_region_tool_says_drag_a_rectangle_while_active(make_window, photo_folder, qtbot):
    window = make_window()
    window.open_folder(photo_folder)
    hint = window.inspector.region_hint
    assert not hint.isVisible()
    window.actions_by_name["region_mode"].trigger()
    assert hint.isVisible() and "drag a rectangle" in hint.text()
    assert hint.geometry().right() < window.canvas.width()
    window.actions_by_name["edit_mode"].trigger()
    assert not hint.isVisible()


def test_export_to_a_missing_folder_is_refused_in_the_dialog(make_window, photo_folder, qtbot, tmp_path):
    from protolabel.app.dialogs.export import ExportDialog

    window = make_window()
    window.open_folder(photo_folder)
    missing = tmp_path / "no-such-folder" / "out.json"
    dialog = ExportDialog(missing, window.exporter.counts(), photo_folder, window)
    dialog.show()
    dialog.accept()
    assert dialog.isVisible() and dialog.result() == 0  # not accepted: nothing is exported
    text = dialog.error_label.text()
    assert dialog.error_label.isVisible() and f"the folder {missing.parent} does not exist" in text
    assert "FileNotFoundError" not in text and ".tmp" not in text
    for own in (photo_folder / "astronaut.png", photo_folder / ".protolabel" / "project.db"):
        dialog.path_edit.setText(str(own))  # the project's own files are never export targets
        dialog.accept()
        assert dialog.result() == 0 and dialog.error_label.isVisible()
    assert (
        "image file name inside"
        in ExportDialog(photo_folder / "astronaut.png", window.exporter.counts(), photo_folder, window).problem()
    )
    dialog.path_edit.setText(str(tmp_path / "out.json"))
    assert not dialog.error_label.isVisible()
    dialog.accept()
    assert dialog.result() == 1

    # the controller says the same when the folder disappears after the dialog
    results = []
    window.exporter.finished.connect(lambda summary, report, error: results.append(error))
    window.exporter.export(missing, verified_only=False, validate=False)
    qtbot.waitUntil(lambda: len(results) == 1, timeout=20_000)
    assert f"the folder {missing.parent} does not exist" in results[0] and "Error:" not in results[0]


# ---------------------------------------------------------------- training window
def _training_window(make_window, photo_folder, tmp_path):
    weights = tmp_path / "start.pth"
    weights.write_bytes(b"not read by these tests")
    window = make_window()
    window.open_folder(photo_folder)
    window.options.weights = str(weights)
    window.actions_by_name["train_project"].trigger()
    return window, window.training.dialog


def test_training_device_hint_follows_what_torch_will_use(make_window, photo_folder, tmp_path, monkeypatch):
    import torch

    window, dialog = _training_window(make_window, photo_folder, tmp_path)
    page = dialog.settings_page
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    page.device_box.setCurrentText("cpu")
    page.device_box.setCurrentText("auto")
    assert page.device_hint.text().startswith("CPU (") and "mixed precision" not in page.device_hint.text()
    page.device_box.setCurrentText("cuda")
    assert page.device_hint.text().startswith("unusable: CUDA was requested but no CUDA device is available")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Test GPU")
    page.device_box.setCurrentText("auto")
    assert page.device_hint.text() == "CUDA: Test GPU (cuda:0): trains with mixed precision"


def test_no_validation_images_is_said_once_and_plainly(make_window, photo_folder, tmp_path):
    from protolabel.app.training.progress_view import no_validation_text, validation_hint
    from protolabel.segmentation.training.dataset import validation_count

    # the settings say how many images the split holds out, by the trainer's own rule
    assert validation_hint(1, 0.1) == no_validation_text(1) and "with one image" in no_validation_text(1)
    assert "split of 34% or more" in validation_hint(3, 0.1) and validation_count(3, 0.34) == 1
    assert validation_hint(20, 0.1) == "holds out 2 of 20 images: box and mask AP are measured on them"

    window, dialog = _training_window(make_window, photo_folder, tmp_path)
    page = dialog.settings_page
    page.verified_radio.setChecked(True)
    assert page.val_hint.text() == no_validation_text(0)

    monitor = window.training.monitor
    monitor.begin()
    monitor.feed_stdout(
        b'start iterations=10 start_iteration=0 train_images=1 val_images=0 classes=["cat"] '
        b'config="yolact_resnet50" device="cpu"\n'
        b'note text="no validation images: --val-split 0.1 of 1 image(s) rounds down to none"\n'
    )
    view = dialog.progress_view
    shown = " ".join(
        label.text()
        for label in (view.state_label, view.title_label, view.metrics_label, view.notes_label)
        if label.isVisible()
    )
    assert shown.lower().count("validation") + shown.count("No AP") == 1, shown
    assert view.metrics_label.text() == no_validation_text(1)


def test_a_run_with_its_window_closed_shows_in_the_status_bar(make_window, photo_folder, tmp_path, qtbot):
    window, dialog = _training_window(make_window, photo_folder, tmp_path)
    button = window.statusBar().findChild(object, "training_status")
    assert not button.isVisible()  # no run
    monitor = window.training.monitor
    monitor.begin()
    monitor.feed_stdout(
        b'start iterations=100 start_iteration=0 train_images=3 val_images=0 classes=["cat"] '
        b'config="yolact_resnet50" device="cpu"\n'
    )
    assert not button.isVisible()  # the window shows the run
    dialog.hide()
    assert button.isVisible() and button.text().startswith("Training 0 / 100")
    monitor.feed_stdout(
        b"iteration iteration=40 total=100 epoch=0 loss=1.5 box=0.5 conf=0.5 mask=0.5 lr=0.001 "
        b"images_per_s=2.0 eta_s=30\n"
    )
    assert button.text() == "Training 40 / 100 · 0:30 left"
    button.click()  # reopens the window
    assert dialog.isVisible() and dialog.showing_progress and not button.isVisible()
    dialog.hide()
    monitor.process_finished(0)
    assert button.isVisible() and button.text() in ("Training finished", "Training failed", "Training stopped")
    button.click()
    dialog.hide()
    assert not button.isVisible()  # an ended run, seen once: gone


def test_old_training_runs_are_cleaned_up_after_a_confirmation(make_window, photo_folder, tmp_path):
    from protolabel.app.training.runs import training_dir

    window, dialog = _training_window(make_window, photo_folder, tmp_path)
    base = training_dir(photo_folder)
    runs = {}
    for name in ("2026-01-01_10-00-00", "2026-01-02_10-00-00", "2026-01-03_10-00-00"):
        (base / name).mkdir(parents=True)
        (base / name / "model.pth").write_bytes(b"\0" * 3000)
        runs[name] = base / name
    in_use = runs["2026-01-02_10-00-00"] / "model.pth"
    window.options.weights = str(in_use)  # auto-labeling uses this run's model: it is kept
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (base / "link").symlink_to(outside)  # never followed

    questions = []
    window.training.confirm = lambda title, question: questions.append(question) or False
    assert window.training.clean_up_runs() == 0  # cancelled: nothing deleted
    assert all(p.exists() for p in runs.values()) and "Delete 2 earlier training runs" in questions[0]

    window.training.confirm = lambda title, question: True
    dialog.settings_page.cleanup_button.click()
    assert sorted(p.name for p in base.iterdir()) == ["2026-01-02_10-00-00", "link"]
    assert in_use.exists() and outside.exists()
    window.training.confirm = lambda title, question: pytest.fail("nothing left to ask about")
    assert window.training.clean_up_runs() == 0


def test_the_export_error_is_shown_whole(make_window, photo_folder, qtbot, tmp_path):
    """Issue 20: the dialog kept its size when the message appeared, and cut the message off after two lines."""
    from protolabel.app.dialogs.export import ExportDialog

    window = make_window()
    window.open_folder(photo_folder)
    deep = tmp_path / "no_such_folder_with_a_rather_long_name" / "and_another_level_of_depth" / "export_file.json"
    dialog = ExportDialog(deep, window.exporter.counts(), photo_folder, window)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.accept()
    QApplication.processEvents()
    label = dialog.error_label
    assert label.isVisible() and str(deep.parent) in label.text()
    assert label.height() >= label.heightForWidth(label.width())  # every wrapped line has its room
    assert label.geometry().bottom() < dialog.findChild(QDialogButtonBox).geometry().top()  # not under the buttons
