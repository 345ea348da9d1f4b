"""An ONNX model with external data (issue 20): read relative to the model file from any working folder,
and one clear line, before any runtime reads it, when that data is missing, too large, not a regular
file or outside the model's folder (`../`, an absolute path, a symlink)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from protolabel.segmentation.backends.base import BackendError  # noqa: E402
from protolabel.segmentation.backends.onnx_export import read_onnx_model  # noqa: E402

NO_METADATA = "an ONNX model without Protolabel's metadata"  # how far a model with sound data gets


def _model_with_external_data(folder, location: str = "w.bin"):
    """A one-node model (y = x + w) whose 4x4 initializer is kept in `location` beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    weight = numpy_helper.from_array(np.arange(16, dtype=np.float32).reshape(4, 4), "w")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    path = folder / "model.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, location=location, size_threshold=0)
    return path


def _set_location(path, location: str) -> None:
    model = onnx.load(str(path), load_external_data=False)
    for entry in model.graph.initializer[0].external_data:
        if entry.key == "location":
            entry.value = location
    path.write_bytes(model.SerializeToString())


def _refusal(path) -> str:
    with pytest.raises(BackendError) as info:
        read_onnx_model(path)
    return str(info.value)


def test_external_data_is_found_beside_the_model_from_any_working_folder(tmp_path, monkeypatch):
    path = _model_with_external_data(tmp_path / "model")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # the checker used to look for w.bin here
    assert _refusal(path).startswith(f"{path}: {NO_METADATA}")


def test_missing_external_data_is_named(tmp_path):
    path = _model_with_external_data(tmp_path)
    (tmp_path / "w.bin").unlink()
    assert _refusal(path) == f"{path}: external data 'w.bin' of tensor 'w' is missing: copy it beside the .onnx file"


@pytest.mark.parametrize("kind", ["parent", "absolute", "symlink"])
def test_external_data_outside_the_model_folder_is_not_read(tmp_path, kind):
    if kind == "symlink" and sys.platform == "win32":
        pytest.skip("symlinks need privileges on Windows")
    source = _model_with_external_data(tmp_path / "source")
    path = _model_with_external_data(tmp_path / "model")
    (tmp_path / "model" / "w.bin").unlink()
    location = {"parent": "../source/w.bin", "absolute": str(tmp_path / "source" / "w.bin"), "symlink": "w.bin"}[kind]
    if kind == "symlink":
        os.symlink(source.parent / "w.bin", tmp_path / "model" / "w.bin")
    else:
        _set_location(path, location)
    assert _refusal(path) == (
        f"{path}: external data {location!r} of tensor 'w' lies outside the model's folder; "
        "it is not read (external data must be in the .onnx file's folder)"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
def test_a_fifo_as_external_data_is_refused(tmp_path):
    path = _model_with_external_data(tmp_path)
    (tmp_path / "w.bin").unlink()
    os.mkfifo(tmp_path / "w.bin")
    assert _refusal(path) == (
        f"{path}: external data 'w.bin' of tensor 'w' cannot be read (a named pipe (FIFO), not a regular file)"
    )


def test_truncated_and_huge_external_data_are_refused(tmp_path, monkeypatch):
    import protolabel.segmentation.backends.onnx_export as onnx_export

    path = _model_with_external_data(tmp_path)
    data = (tmp_path / "w.bin").read_bytes()
    (tmp_path / "w.bin").write_bytes(data[:10])
    assert _refusal(path) == (
        f"{path}: external data 'w.bin' of tensor 'w': the file holds 10 bytes, the model "
        "wants bytes 0 to 64 (a truncated or mismatched file)"
    )
    (tmp_path / "w.bin").write_bytes(data)
    monkeypatch.setattr(onnx_export, "MAX_ONNX_EXTERNAL_BYTES", 63)
    assert _refusal(path) == (
        f"{path}: its external data is more than 63 bytes, far beyond any YOLACT model; it is not read"
    )
