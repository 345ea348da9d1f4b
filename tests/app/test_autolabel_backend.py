"""The auto-label dock's backend: chosen in the dock, remembered per user, and what runs the network."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from protolabel.segmentation.project.autolabel import EngineCache

JOB_TIMEOUT_MS = 300_000


def test_the_chosen_backend_is_remembered_and_a_bad_saved_one_falls_back(make_window, tmp_path):
    window = make_window()
    assert window.options.backend == "torch" and window.autolabel_dock.backend_box.currentText() == "torch"
    window.autolabel_dock.backend_box.setCurrentText("openvino")
    assert window.options.backend == "openvino"
    window.close()
    window.settings.sync()
    again = make_window()
    assert again.options.backend == "openvino" and again.autolabel_dock.backend_box.currentText() == "openvino"
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("backend", "tensorrt")  # not one we have (an older or hand-edited settings file)
    settings.sync()
    third = make_window()
    assert third.options.backend == "torch"


@pytest.mark.slow
def test_an_image_labelled_on_onnx_runtime_gets_the_torch_objects(
    make_window, qtbot, photo_folder, tmp_path, small_checkpoint
):
    """The app's backend switch, not the backends' fidelity (tests/segmentation/backends checks that at 550):
    the small-input checkpoint does."""
    pytest.importorskip("onnxruntime", reason='needs the onnx extra: pip install -e ".[onnx]"')
    window = make_window()
    assert window.projects.open_folder(photo_folder)
    window.projects.wait_for_scan()
    qtbot.waitUntil(lambda: window.projects.project is not None and window.projects.project.current_name is not None)
    window.options.weights = str(small_checkpoint)
    window.options.device = "cpu"
    window.options.score_threshold = 0.05

    window.actions_by_name["ask_before_relabel"].setChecked(False)  # labels the same image twice

    def label_current():
        window.actions_by_name["autolabel_image"].trigger()
        qtbot.waitUntil(lambda: not window.autolabel.busy and not window.canvas.building, timeout=JOB_TIMEOUT_MS)
        return sorted((o.label, round(o.score, 3)) for o in window.projects.project.current.objects)

    on_torch = label_current()
    assert on_torch  # the synthetic model finds objects on the astronaut at this threshold
    window.autolabel_dock.backend_box.setCurrentText("onnxruntime")
    window.projects.project.current.reload()
    on_ort = label_current()
    engine = window.autolabel.engines.get(window.options.settings(window.projects.project.class_mapping))
    assert engine.backend == "onnxruntime fp32"
    assert on_ort == on_torch  # same classes, scores equal to 3 decimals
    exported = list((tmp_path / "model-cache" / "onnx").glob("**/*.onnx"))
    assert exported  # exported once into the window's model cache, not the user's


@pytest.mark.slow
def test_an_exported_onnx_model_labels_in_the_app(make_window, photo_folder, qtbot, small_onnx, small_checkpoint):
    """Open Model takes the .onnx `protolabel export-onnx` writes: the backend box moves from torch (which
    cannot run it) to auto, the class mapping reads its classes, and it labels the image (a small-input
    export: what is checked is the app's way in, not the export's fidelity)."""
    from protolabel.segmentation.project.autolabel import model_class_names
    from protolabel.segmentation.project.records import ImageStatus

    window = make_window()
    assert window.open_folder(photo_folder)
    qtbot.waitUntil(lambda: window.projects.project is not None and window.projects.project.current_name is not None)
    window.options.use_weights(str(small_onnx))
    assert window.options.backend == "auto" and window.autolabel_dock.backend_box.currentText() == "auto"
    assert model_class_names(small_onnx) == model_class_names(small_checkpoint)
    window.options.device, window.options.score_threshold, window.options.top_k = "cpu", 0.0, 10
    window.actions_by_name["autolabel_image"].trigger()
    qtbot.waitUntil(lambda: not window.autolabel.busy and not window.canvas.building, timeout=JOB_TIMEOUT_MS)
    assert window.last_error is None
    assert window.projects.project.images.status("astronaut.png") is ImageStatus.AUTO_LABELED
    assert len(window.canvas.items_by_id) > 0
    window.actions_by_name["train_project"].trigger()  # training starts from a .pth: the .onnx is not offered
    assert window.training.dialog.settings_page.weights_edit.text() == ""
    window.training.dialog.close()


def test_engine_cache_builds_a_new_engine_when_the_backend_changes(monkeypatch, tmp_path):
    from protolabel.segmentation import engine

    built = []

    class FakeEngine:
        def __init__(self, weights, config, device, *, backend, onnx_cache_dir):
            built.append((backend, onnx_cache_dir))

    monkeypatch.setattr(engine, "YolactEngine", FakeEngine)
    from protolabel.segmentation.project.autolabel import AutoLabelSettings

    cache = EngineCache(tmp_path / "onnx")
    torch_settings = AutoLabelSettings(weights=tmp_path / "m.pth")
    first = cache.get(torch_settings)
    assert cache.get(torch_settings) is first
    ort = cache.get(AutoLabelSettings(weights=tmp_path / "m.pth", backend="onnxruntime"))
    assert ort is not first and built == [("torch", tmp_path / "onnx"), ("onnxruntime", tmp_path / "onnx")]
