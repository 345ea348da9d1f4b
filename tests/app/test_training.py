"""Train on this project: the real dialog starts a real `protolabel train` process on a small project,
shows its progress, AP and checkpoint, switches auto-labeling to the new model; Cancel and Resume."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from protolabel.app.help_overlay import shortcuts_html
from protolabel.app.training.loss_chart import CURVE, LossChart, log_ticks, nice_ticks, smoothed
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.project.autolabel import model_class_names
from protolabel.segmentation.project.labels import ClassMapping
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject
from protolabel.segmentation.training.run_monitor import RunState

PHOTO = 80
RUN_TIMEOUT_MS = 240_000  # a 2-core machine shared with other work: starting torch alone can take seconds


def _polygon(points) -> Shape:
    return Shape((Polygon(np.asarray(points, dtype=np.float64)),))


@pytest.fixture
def training_folder(tmp_path) -> Path:
    """Four 80 px scikit-image photos; three verified (a cat or a mug each), one only auto-labeled."""
    from skimage import data

    folder = tmp_path / "project"
    folder.mkdir()
    photos = {
        "chelsea.png": data.chelsea(),
        "coffee.png": data.coffee(),
        "astronaut.png": data.astronaut(),
        "rocket.png": data.rocket(),
    }
    for name, rgb in photos.items():
        cv2.imwrite(str(folder / name), cv2.resize(rgb[:, :, ::-1], (PHOTO, PHOTO), interpolation=cv2.INTER_AREA))
    objects = {
        "chelsea.png": [("cat", [(20, 8), (62, 10), (70, 60), (40, 76), (14, 58)])],
        "coffee.png": [("mug", [(12, 6), (68, 6), (70, 50), (40, 62), (10, 50)])],
        "astronaut.png": [
            ("person", [(24, 6), (56, 6), (70, 78), (10, 78)]),
            ("mug", [(2, 50), (14, 50), (14, 66), (2, 66)]),
        ],
    }
    project = Project.open(folder)
    try:
        for name, items in objects.items():
            doc = project.document(name)
            for label, points in items:
                doc.apply(doc.add_object(label, _polygon(points)))
            doc.apply(doc.verify())
        project.store.replace_auto_objects(
            "rocket.png",
            [AnnotatedObject("rocket", _polygon([(30, 5), (50, 5), (50, 75), (30, 75)]), score=0.8)],
            image_size=(PHOTO, PHOTO),
        )
    finally:
        project.close()
    return folder


def _open_training(make_window, folder, weights):
    window = make_window()
    assert window.open_folder(folder)
    window.options.weights = str(weights)
    window.actions_by_name["train_project"].trigger()
    dialog = window.training.dialog
    assert dialog is not None and dialog.isVisible() and not dialog.showing_progress
    return window, dialog


def _set_small_run(page, iterations: int, batch: int, max_size: int, val_percent: int) -> None:
    page.iterations_box.setValue(iterations)
    page.batch_box.setValue(batch)
    page.max_size_own.setChecked(False)
    page.max_size_box.setValue(max_size)
    page.val_split_box.setValue(val_percent)
    page.device_box.setCurrentText("cpu")


def test_the_action_is_in_the_shortcut_help():
    assert "Train on This Project" in shortcuts_html() and "Ctrl+Shift+T" in shortcuts_html()


@pytest.mark.slow
def test_train_on_this_project_end_to_end(make_window, training_folder, resnet50_checkpoint, qtbot):
    window, dialog = _open_training(make_window, training_folder, resnet50_checkpoint)
    page, view, monitor = dialog.settings_page, dialog.progress_view, window.training.monitor
    # defaults: the auto-label panel's model, verified images only, a new folder under .protolabel/training
    assert page.weights_edit.text() == str(resnet50_checkpoint)
    assert (
        page.verified_radio.isChecked()
        and "in 3 images)" in page.verified_radio.text()
        and "(4" in page.all_radio.text()
    )
    run_dir = Path(page.run_dir_edit.text())
    assert run_dir.parent == training_folder / ".protolabel" / "training" and not run_dir.exists()
    _set_small_run(page, iterations=3, batch=2, max_size=96, val_percent=34)
    seen_iterations, states = [], []
    monitor.events.iteration.connect(seen_iterations.append)
    monitor.events.state.connect(states.append)

    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.showing_progress, timeout=30_000)
    assert view.cancel_button.isVisible() and not view.use_model_button.isVisible()
    qtbot.waitUntil(lambda: monitor.state is RunState.RUNNING, timeout=RUN_TIMEOUT_MS)
    assert "training images" in view.title_label.text() and "mug" in view.title_label.text()
    assert "'person'" in view.notes_label.text()  # the start model's note (kept classes), quotes as they are
    qtbot.waitUntil(lambda: not monitor.state.active, timeout=RUN_TIMEOUT_MS)

    assert monitor.state is RunState.FINISHED, (monitor.error, list(monitor.stderr_tail))
    assert states == [RunState.STARTING, RunState.RUNNING, RunState.FINISHED]
    assert seen_iterations == [1, 2, 3] and monitor.total == 3  # 3 iterations: a progress line each
    assert (monitor.train_images, monitor.val_images) == (2, 1) and set(monitor.classes) == {"cat", "mug", "person"}
    # what the training saw: the verified images only, through the project's COCO export
    coco = json.loads((run_dir / "train.json").read_text())
    assert sorted(i["file_name"] for i in coco["images"]) == ["astronaut.png", "chelsea.png", "coffee.png"]
    assert len(coco["annotations"]) == 4 and "rocket" not in {c["name"] for c in coco["categories"]}
    # the progress view: bar, live loss, chart, AP, checkpoint
    assert view.progress_bar.value() == 3 == view.progress_bar.maximum()
    assert view.state_label.text() == "Finished: 3 iterations"
    assert float(view.loss_labels["loss"].text()) == pytest.approx(monitor.loss, abs=1e-3)
    for key in ("box", "conf", "mask", "semantic"):
        assert float(view.loss_labels[key].text()) == pytest.approx(monitor.losses[key], abs=1e-3)
    assert [i for i, _ in view.chart.points] == [1, 2, 3]
    result = monitor.final_evaluation
    assert result is not None and result.images == 1
    assert 0.0 <= result.box_ap <= 1.0 and 0.0 <= result.mask_ap <= 1.0
    assert "Box AP" in view.metrics_label.text() and "Mask AP" in view.metrics_label.text()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["final"]["box"]["AP"] == pytest.approx(result.box_ap, abs=1e-5)
    checkpoint = monitor.final_checkpoint
    assert checkpoint.parent == run_dir and checkpoint.is_file() and str(checkpoint) in view.checkpoint_label.text()
    assert not view.cancel_button.isVisible() and not view.resume_button.isVisible()
    # use it for auto-labeling: the panel's model becomes the new checkpoint, which predicts the project's labels
    assert view.use_model_button.isVisible() and view.use_model_button.isEnabled()
    project = window.projects.project
    project.set_class_mapping(ClassMapping(keep=frozenset({"person"}), rename={"person": "astronaut"}))
    qtbot.mouseClick(view.use_model_button, Qt.MouseButton.LeftButton)
    assert window.options.weights == str(checkpoint)
    assert project.class_mapping == ClassMapping()  # it was for the old model's classes
    assert window.autolabel_dock.model_label.text() == checkpoint.name
    assert not view.use_model_button.isEnabled() and view.use_model_button.text() == "Auto-labeling uses this model"
    assert set(model_class_names(window.options.weights)) == {"cat", "mug", "person"}
    # another run starts from fresh settings (a new folder), which start from the new model
    qtbot.mouseClick(view.new_run_button, Qt.MouseButton.LeftButton)
    assert not dialog.showing_progress and page.weights_edit.text() == str(checkpoint)
    assert Path(page.run_dir_edit.text()) != run_dir


@pytest.mark.slow
def test_cancel_stops_with_a_checkpoint_and_resume_goes_on(make_window, training_folder, resnet50_checkpoint, qtbot):
    window, dialog = _open_training(make_window, training_folder, resnet50_checkpoint)
    page, view, monitor = dialog.settings_page, dialog.progress_view, window.training.monitor
    _set_small_run(page, iterations=1000, batch=1, max_size=64, val_percent=0)
    run_dir = Path(page.run_dir_edit.text())
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.showing_progress, timeout=30_000)
    qtbot.waitUntil(lambda: monitor.iteration >= 1 or not monitor.state.active, timeout=RUN_TIMEOUT_MS)
    assert monitor.state is RunState.RUNNING, (monitor.error, list(monitor.stderr_tail))
    assert monitor.eta_seconds > 0 and "left" in view.eta_label.text()

    qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
    assert monitor.state is RunState.STOPPING and view.cancel_button.text() == "Stopping…"
    assert not view.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not monitor.state.active, timeout=RUN_TIMEOUT_MS)
    assert monitor.state is RunState.STOPPED and monitor.exit_code == 130
    stopped_at = monitor.iteration
    assert 1 <= stopped_at < 1000 and monitor.can_resume
    assert monitor.checkpoint.is_file() and (run_dir / "training_state.pt").is_file()
    assert view.resume_button.isVisible() and not view.use_model_button.isVisible()
    assert view.state_label.text().startswith(f"Stopped at iteration {stopped_at}")

    qtbot.mouseClick(view.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: monitor.iteration > stopped_at or not monitor.state.active, timeout=RUN_TIMEOUT_MS)
    assert monitor.state is RunState.RUNNING and monitor.start_iteration == stopped_at
    assert any("resuming" in note for note in monitor.notes)
    assert [i for i, _ in monitor.loss_history][0] == 1  # the history of the first part is kept
    # closing the window stops the run the same way (a resumable checkpoint) and leaves no process behind
    process = window.training.process
    window.close()
    assert process.state() == process.ProcessState.NotRunning
    assert monitor.state is RunState.STOPPED and monitor.iteration > stopped_at and monitor.can_resume
    assert monitor.checkpoint.is_file() and f"_{monitor.iteration}.pth" in monitor.checkpoint.name


def test_no_verified_objects_is_said_plainly_and_nothing_runs(make_window, photo_folder, resnet50_checkpoint, qtbot):
    window, dialog = _open_training(make_window, photo_folder, resnet50_checkpoint)
    page = dialog.settings_page
    assert "(0 in 0 images)" in page.verified_radio.text()
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.error_label.text() != "", timeout=10_000)
    assert "No verified objects to train on" in page.error_label.text()
    assert not dialog.showing_progress and window.training.process is None
    assert window.training.monitor.state is RunState.IDLE and page.start_button.isEnabled()
    assert not Path(page.run_dir_edit.text()).exists()
    page.weights_edit.setText("")
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert "Choose a start model" in page.error_label.text()


def test_a_failing_run_shows_the_reason(make_window, training_folder, tmp_path, qtbot):
    not_a_model = tmp_path / "notes.pth"
    not_a_model.write_text("not a checkpoint")
    window, dialog = _open_training(make_window, training_folder, not_a_model)
    view, monitor = dialog.progress_view, window.training.monitor
    qtbot.mouseClick(dialog.settings_page.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: monitor.state is RunState.FAILED, timeout=RUN_TIMEOUT_MS)
    assert monitor.exit_code == 2 and "notes.pth" in monitor.error
    assert view.state_label.text() == "Training failed" and view.error_text.isVisible()
    assert monitor.error in view.error_text.toPlainText()
    assert not view.resume_button.isVisible() and not view.use_model_button.isVisible()
    assert view.new_run_button.isEnabled()


def test_loss_chart_draws_the_curve_and_switches_to_log_scale(qtbot):
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.resize(400, 200)
    chart.set_points([(1, 4.0), (10, 3.0), (20, 2.5)], total=100)
    assert not chart.log_scale
    image = chart.grab().toImage()
    last = chart.map_point(20, 2.5)
    assert image.pixelColor(int(last.x()), int(last.y())) == CURVE  # the dot on the latest value
    assert chart.map_point(100, 2.5).x() == pytest.approx(chart.plot_rect().right())  # x spans the whole run
    assert chart.map_point(1, 4.0).y() < chart.map_point(20, 2.5).y()  # higher loss, higher on screen
    chart.set_points([(1, 55.0), (50, 3.0), (100, 2.0)], total=100)
    assert chart.log_scale
    assert smoothed([10.0, 0.0]) == pytest.approx([10.0, 3.75]) and smoothed([]) == []
    assert nice_ticks(0, 1000, 5) == [0, 200, 400, 600, 800, 1000] and log_ticks(1.5, 60) == [2, 5, 10, 20, 50]


def test_a_settings_error_goes_when_what_caused_it_changes(make_window, photo_folder, resnet50_checkpoint, qtbot):
    """Issue 20: a red error stayed in the training dialog after its cause was changed (or the dialog reopened)."""
    window, dialog = _open_training(make_window, photo_folder, resnet50_checkpoint)
    page = dialog.settings_page
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)  # verified only, and none verified
    qtbot.waitUntil(lambda: page.error_label.text() != "", timeout=10_000)
    assert page.error_label.isVisible()
    page.all_radio.setChecked(True)  # the choice the message was about changed
    assert not page.error_label.isVisible() and page.error_label.text() == ""

    page.weights_edit.setText("")
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert "Choose a start model" in page.error_label.text()
    dialog.hide()  # closed, then opened again: the project may have changed meanwhile
    window.actions_by_name["train_project"].trigger()
    assert dialog.isVisible() and not page.error_label.isVisible()
