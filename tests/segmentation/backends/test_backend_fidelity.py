"""Each backend on the reference fixtures within its fidelity goal.

fp32 backends (ONNX Runtime, OpenVINO f32): the network outputs agree with the ORIGINAL implementation's
(tests/fixtures/reference, at the tolerances its README recommends) and the detections with torch fp32's.
bf16 (torch autocast, OpenVINO bf16) is held to the same goal (>= 99% of torch fp32's detections found
again at mask IoU >= 0.98) and misses it on these weights: 77-84% matched, so `auto` never picks bf16.
The xfail is strict: should bf16 ever meet the goal, the test fails and AUTO_ORDER can take it.
"""

import numpy as np
import pytest
import torch

from protolabel.segmentation.engine import YolactEngine
from tests.conftest import fixture_path
from tests.segmentation.backends.conftest import match_detections, needs_openvino, needs_ort
from tests.segmentation.test_reference_fixtures import FIXTURES, _input_image

FP32 = [pytest.param("onnxruntime", "fp32", marks=needs_ort), pytest.param("openvino", "fp32", marks=needs_openvino)]
BF16 = [pytest.param("torch", "bf16"), pytest.param("openvino", "bf16", marks=needs_openvino)]


@pytest.fixture(scope="module")
def engines(resnet50_checkpoint, resnet50_onnx):
    """One engine per backend variant, made on first use (the ONNX ones read the exported file)."""
    made = {}

    def get(backend: str, precision: str) -> YolactEngine:
        if (backend, precision) not in made:
            weights = resnet50_checkpoint if backend == "torch" else resnet50_onnx
            made[backend, precision] = YolactEngine(weights, device="cpu", backend=backend, precision=precision)
        return made[backend, precision]

    return get


@pytest.fixture(scope="module", params=FIXTURES)
def fixture_case(request, resnet50_engine):
    image = _input_image(request.param)
    ref = dict(np.load(fixture_path("reference", f"yolact_resnet50_seed0__{request.param}.npz")))
    return ref, image, resnet50_engine.predict_image(image)


@pytest.mark.slow
@pytest.mark.parametrize("backend, precision", FP32)
def test_fp32_backends_reproduce_the_original_network(engines, fixture_case, backend, precision):
    ref, image, _ = fixture_case
    engine = engines(backend, precision)
    assert engine.backend == f"{backend} fp32"
    with torch.inference_mode():
        raw = engine.network(engine.transform([image]))
    np.testing.assert_allclose(raw.anchors.numpy(), ref["priors"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(raw.loc[0].numpy(), ref["loc"], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(torch.softmax(raw.conf[0], -1).numpy(), ref["conf"], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(raw.coefficients[0].numpy(), ref["mask_coeffs"], rtol=1e-3, atol=1e-3)
    expected = ref["proto_f16"].astype(np.float32)
    assert np.all(np.abs(raw.prototypes[0].numpy() - expected) <= 2e-3 * np.maximum(1, np.abs(expected)))


@pytest.mark.slow
@pytest.mark.parametrize("backend, precision", FP32)
def test_fp32_backends_give_torch_fp32_detections(engines, fixture_case, backend, precision):
    ref, image, torch_det = fixture_case
    det = engines(backend, precision).predict_image(image)
    assert len(det) == len(torch_det) == int(ref["det_count"])
    pairs = match_detections(torch_det, det, iou=0.99)
    assert len(pairs) == len(torch_det)  # near-exact: every detection, masks at IoU >= 0.99
    i, j = map(list, zip(*pairs))
    np.testing.assert_allclose(det.scores[j], torch_det.scores[i], atol=1e-4)
    np.testing.assert_allclose(det.boxes_rel[j], torch_det.boxes_rel[i], atol=1e-4)


@pytest.mark.slow
@pytest.mark.xfail(reason="bf16 finds 77-84% of fp32's detections at mask IoU >= 0.98 here (goal 99%)", strict=True)
@pytest.mark.parametrize("backend, precision", BF16)
def test_bf16_backends_within_the_fidelity_goal(engines, fixture_case, backend, precision):
    _, image, torch_det = fixture_case
    engine = engines(backend, precision)
    assert engine.backend == f"{backend} bf16"
    det = engine.predict_image(image)
    pairs = match_detections(torch_det, det, iou=0.98)
    assert len(pairs) >= 0.99 * len(torch_det), f"{len(pairs)} of {len(torch_det)} matched at IoU >= 0.98"
    i, j = map(list, zip(*pairs))
    assert np.abs(det.scores[j] - torch_det.scores[i]).max() <= 0.05
    assert np.abs(det.boxes_rel[j] - torch_det.boxes_rel[i]).max() <= 0.01  # 1% of the image side


@pytest.mark.slow
@pytest.mark.parametrize("backend, precision", BF16)
def test_bf16_backends_keep_most_detections(engines, fixture_case, backend, precision):
    """What bf16 does keep: at least 3 in 4 detections at IoU >= 0.98, their scores typically within 0.01
    (a mask can match a near-duplicate detection of the same class, so not every pair is the same one)."""
    _, image, torch_det = fixture_case
    det = engines(backend, precision).predict_image(image)
    pairs = match_detections(torch_det, det, iou=0.98)
    assert len(pairs) >= 0.75 * len(torch_det)
    i, j = map(list, zip(*pairs))
    assert np.median(np.abs(det.scores[j] - torch_det.scores[i])) <= 0.01


@pytest.mark.slow
@needs_ort
def test_yolact_plus_runs_on_onnxruntime_with_its_deformable_convs(tmp_path, astronaut_bgr):
    """DeformConv (opset 19) in ONNX Runtime, and the re-scoring net carried in the metadata: torch fp32's
    detections."""
    from protolabel.segmentation.backends.onnx_export import export_checkpoint
    from tests.conftest import make_checkpoint

    weights = make_checkpoint("yolact_plus_resnet50", 0)
    # at 320, not 550: the same deformable convolutions and re-scoring, a third of the time (237 s in CI at 550)
    config = "yolact_plus_resnet50_im320"
    exported = export_checkpoint(weights, tmp_path / "plus.onnx", config)
    assert exported.maskiou_net is not None
    image = np.ascontiguousarray(astronaut_bgr[::2, ::2])
    torch_det = YolactEngine(weights, config, device="cpu").predict_image(image)
    det = YolactEngine(exported.path, device="cpu", backend="onnxruntime").predict_image(image)
    pairs = match_detections(torch_det, det, iou=0.99)
    assert len(det) == len(torch_det) and len(pairs) == len(torch_det)
    i, j = map(list, zip(*pairs))
    np.testing.assert_allclose(det.scores[j], torch_det.scores[i], atol=1e-4)  # re-scored alike
