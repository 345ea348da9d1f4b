"""A YolactEdge image model exports to ONNX and runs there as YOLACT does (every frame a keyframe)."""

import numpy as np

from protolabel.segmentation.engine import YolactEngine
from tests.conftest import make_checkpoint
from tests.segmentation.backends.conftest import needs_ort


@needs_ort
def test_yolact_edge_runs_on_onnxruntime_like_torch(tmp_path, astronaut_bgr):
    weights = make_checkpoint("yolact_edge_vid_resnet50_im160", 0)
    image = np.ascontiguousarray(astronaut_bgr[::4, ::4])
    torch_det = YolactEngine(weights, device="cpu", backend="torch").predict_image(image)
    onnx_engine = YolactEngine(weights, device="cpu", backend="onnxruntime", onnx_cache_dir=tmp_path)
    assert onnx_engine.info.config.name == "yolact_edge_vid_resnet50_im160"
    onnx_det = onnx_engine.predict_image(image)
    assert len(onnx_det) == len(torch_det) > 0
    np.testing.assert_array_equal(onnx_det.classes[:10], torch_det.classes[:10])
    np.testing.assert_allclose(onnx_det.scores, torch_det.scores, atol=1e-4)
