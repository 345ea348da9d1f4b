"""`protolabel export-onnx`, an .onnx as --weights, the export cache, and the one-line refusals."""

import json
import shutil
import sys

import numpy as np
import pytest

from protolabel.segmentation.backends import BackendError
from protolabel.segmentation.cli import main
from protolabel.segmentation.engine import YolactEngine
from protolabel.segmentation.yolact.classes import COCO_CATEGORY_IDS, COCO_CLASSES
from tests.conftest import make_checkpoint
from tests.segmentation.backends.conftest import match_detections, needs_openvino, needs_ort


@pytest.fixture(scope="module")
def photo(tmp_path_factory, astronaut_bgr):
    import cv2

    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    cv2.imwrite(str(path), astronaut_bgr[::2, ::2])
    return path


@pytest.mark.slow
def test_exported_file_carries_what_post_processing_needs(resnet50_onnx, resnet50_checkpoint):
    import onnx

    from protolabel.segmentation.backends.onnx_export import read_onnx_model
    from protolabel.segmentation.files import file_sha256

    model = read_onnx_model(resnet50_onnx)
    assert model.info.config.name == "yolact_resnet50" and model.info.config.num_classes == 81
    assert model.info.class_names == COCO_CLASSES and model.info.category_ids == COCO_CATEGORY_IDS
    assert model.level_sizes == ((69, 69), (35, 35), (18, 18), (9, 9), (5, 5))  # 550 / 8, then halved (ceil)
    proto = onnx.load(str(resnet50_onnx))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["protolabel.source_sha256"] == file_sha256(resnet50_checkpoint)
    batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param and not batch.dim_value  # dynamic batch


@pytest.mark.slow
@needs_ort
def test_onnx_as_weights_round_trip_through_predict(resnet50_onnx, resnet50_checkpoint, photo, tmp_path):
    from_pth, from_onnx = tmp_path / "pth.json", tmp_path / "onnx.json"
    assert (
        main(
            [
                "predict",
                "--weights",
                str(resnet50_checkpoint),
                "--backend",
                "torch",
                "--device",
                "cpu",
                "--top-k",
                "20",
                "--out",
                str(from_pth),
                str(photo),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "predict",
                "--weights",
                str(resnet50_onnx),
                "--backend",
                "onnxruntime",
                "--device",
                "cpu",
                "--top-k",
                "20",
                "--out",
                str(from_onnx),
                str(photo),
            ]
        )
        == 0
    )
    a, b = json.loads(from_pth.read_text()), json.loads(from_onnx.read_text())
    assert len(a) == len(b) == 20
    assert [r["category_id"] for r in a] == [r["category_id"] for r in b]
    assert [r["class_name"] for r in a] == [r["class_name"] for r in b]
    np.testing.assert_allclose([r["score"] for r in a], [r["score"] for r in b], atol=1e-4)
    np.testing.assert_allclose([r["bbox"] for r in a], [r["bbox"] for r in b], atol=1)


@pytest.mark.slow
@needs_ort
def test_dynamic_batch_gives_the_same_detections(resnet50_onnx, astronaut_bgr):
    engine = YolactEngine(resnet50_onnx, device="cpu", backend="onnxruntime")
    images = [np.ascontiguousarray(astronaut_bgr[::4, ::4]), np.ascontiguousarray(astronaut_bgr[::3, ::5])]
    batched = engine.predict(images)
    for image, det in zip(images, batched):
        single = engine.predict_image(image)
        assert len(match_detections(single, det, iou=0.99)) == len(single)


@pytest.mark.slow
@needs_ort
def test_pth_is_exported_once_into_the_cache(resnet50_onnx, resnet50_checkpoint, tmp_path, monkeypatch):
    from protolabel.segmentation.backends import onnx_export

    weights = tmp_path / resnet50_checkpoint.name
    shutil.copy(resnet50_checkpoint, weights)
    exports = []

    def fake_export(model, info, sha=""):  # the session's export stands in for a minute of tracing
        exports.append(sha)
        import onnx

        proto = onnx.load(str(resnet50_onnx))
        for p in proto.metadata_props:
            if p.key == "protolabel.source_sha256":
                p.value = sha
        return proto.SerializeToString()

    monkeypatch.setattr(onnx_export, "export_onnx_bytes", fake_export)
    cache = tmp_path / "cache"
    notes = []
    first = YolactEngine(weights, device="cpu", backend="onnxruntime", onnx_cache_dir=cache, on_export=notes.append)
    second = YolactEngine(weights, device="cpu", backend="onnxruntime", onnx_cache_dir=cache, on_export=notes.append)
    assert len(exports) == 1 and len(notes) == 1 and len(list(cache.glob("*.onnx"))) == 1
    assert first.info.weights_path == weights == second.info.weights_path
    weights.write_bytes(weights.read_bytes())  # same bytes, same config: still the cached export
    YolactEngine(weights, device="cpu", backend="onnxruntime", onnx_cache_dir=cache)
    assert len(exports) == 1
    (tmp_path / f"{weights.stem}.classes.json").write_text(json.dumps(list(COCO_CLASSES)))  # new class names
    YolactEngine(weights, device="cpu", backend="onnxruntime", onnx_cache_dir=cache)
    assert len(exports) == 2 and len(list(cache.glob("*.onnx"))) == 2


def test_export_onnx_refuses_a_bad_output_path_before_any_work(resnet50_checkpoint, tmp_path, capsys, monkeypatch):
    from protolabel.segmentation.backends import onnx_export

    monkeypatch.setattr(onnx_export, "export_checkpoint", lambda *a, **k: pytest.fail("exported despite a bad path"))
    missing = tmp_path / "no such folder" / "model.onnx"
    assert main(["export-onnx", str(resnet50_checkpoint), "--out", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["export-onnx", str(resnet50_checkpoint), "--out", str(tmp_path)]) == 2  # a folder
    assert "is a folder" in capsys.readouterr().err
    size = resnet50_checkpoint.stat().st_size
    assert main(["export-onnx", str(resnet50_checkpoint), "--out", str(resnet50_checkpoint)]) == 2  # the input
    assert "is also an input" in capsys.readouterr().err
    assert resnet50_checkpoint.stat().st_size == size


def test_export_onnx_refuses_missing_weights(tmp_path, capsys):
    assert main(["export-onnx", str(tmp_path / "none.pth"), "--out", str(tmp_path / "m.onnx")]) == 2
    assert "no such weights file" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


@needs_ort
def test_truncated_onnx_is_a_clear_error(resnet50_onnx, photo, tmp_path, capsys):
    truncated = tmp_path / "model.onnx"
    truncated.write_bytes(resnet50_onnx.read_bytes()[:100_000])
    assert main(["predict", "--weights", str(truncated), "--device", "cpu", str(photo)]) == 2
    err = capsys.readouterr().err
    assert "truncated or not an ONNX file" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@needs_ort
def test_foreign_onnx_without_metadata_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(BackendError, match="without Protolabel's metadata"):
        YolactEngine(path, device="cpu", backend="onnxruntime")


def test_torch_backend_refuses_an_onnx_file(tmp_path):
    with pytest.raises(BackendError, match="runs on --backend onnxruntime or openvino"):
        YolactEngine(tmp_path / "model.onnx", device="cpu", backend="torch")


@pytest.mark.parametrize("module, extra", [("openvino", "openvino"), ("onnxruntime", "onnx")])
def test_missing_extra_names_the_pip_extra(module, extra, resnet50_checkpoint, photo, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    backend = module
    assert (
        main(["predict", "--weights", str(resnet50_checkpoint), "--backend", backend, "--device", "cpu", str(photo)])
        == 2
    )
    err = capsys.readouterr().err
    assert f'pip install -e ".[{extra}]"' in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@needs_openvino
def test_openvino_refuses_deformable_convs_before_exporting(tmp_path, monkeypatch):
    from protolabel.segmentation.backends import onnx_export

    monkeypatch.setattr(onnx_export, "export_checkpoint", lambda *a, **k: pytest.fail("exported"))
    with pytest.raises(BackendError, match="openvino cannot run yolact_plus_resnet50: its deformable conv"):
        YolactEngine(
            make_checkpoint("yolact_plus_resnet50", 0), device="cpu", backend="openvino", onnx_cache_dir=tmp_path
        )
