import threading

import numpy as np
import pytest
import torch

from protolabel.segmentation.engine import InferenceSettings, YolactEngine, resolve_device
from protolabel.segmentation.yolact.checkpoint import load_yolact, read_state_dict
from protolabel.segmentation.yolact.nms import NmsSettings
from tests.conftest import make_checkpoint


@pytest.fixture(scope="module")
def small_images(astronaut_bgr):
    import cv2
    from skimage import data

    coffee = cv2.resize(data.coffee()[:, :, ::-1], (150, 100), interpolation=cv2.INTER_AREA)
    return [np.ascontiguousarray(astronaut_bgr[::4, ::4]), np.ascontiguousarray(coffee)]


def _iou(a, b):
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else np.logical_and(a, b).sum() / union


def test_batch_gives_the_same_detections_as_single_images(resnet50_engine, small_images):
    batched = resnet50_engine.predict(small_images)
    for image, det in zip(small_images, batched):
        single = resnet50_engine.predict_image(image)
        assert det.image_size == image.shape[:2] and det.masks.image_size == image.shape[:2]
        assert len(det) == len(single)
        np.testing.assert_allclose(det.scores, single.scores, atol=1e-5)
        assert all(_iou(a, b) > 0.99 for a, b in zip(det.masks.to_dense(), single.masks.to_dense()))


def test_result_fields_are_consistent(resnet50_engine, small_images):
    det = resnet50_engine.predict_image(small_images[1])
    d, k = len(det), det.prototypes.shape[2]
    assert det.prototypes.shape == (138, 138, 32) and det.prototypes.min() >= 0
    assert det.coefficients.shape == (d, k) and np.abs(det.coefficients).max() <= 1
    assert np.all(np.diff(det.scores) <= 0)
    h, w = det.image_size
    assert np.all(det.boxes[:, 0] >= 0) and np.all(det.boxes[:, 2] <= w) and np.all(det.boxes[:, 3] <= h)
    assert det.labels[0] == det.class_names[det.classes[0]]


def test_soft_mask_thresholded_is_the_binary_mask_and_uncropped_reaches_further(resnet50_engine, small_images):
    det = resnet50_engine.predict_image(small_images[0])
    i = int(np.argmax(det.masks.areas))
    cropped = det.soft_mask(i)
    assert (np.count_nonzero((cropped > 0.5) != det.masks.dense(i))) <= 2
    uncropped = det.soft_mask(i, crop=False)
    assert np.all(uncropped >= cropped - 1e-6)
    edited = det.soft_mask(i, coefficients=np.zeros(det.coefficients.shape[1]))
    np.testing.assert_allclose(edited[det.masks.dense(i)], 0.5, atol=1e-6)  # sigmoid(0) inside the box


def test_score_threshold_and_top_k(resnet50_engine, small_images):
    def run(**settings):
        engine = YolactEngine.from_model(
            resnet50_engine.model, resnet50_engine.info, settings=InferenceSettings(**settings)
        )
        return engine.predict_image(small_images[1])  # coffee: some of its 100 detections score under 0.3

    everything = run(score_threshold=0.0, top_k=100)
    above = everything.scores > 0.3
    assert 3 < above.sum() < len(everything)  # the image has what both cuts need to show
    thresholded = run(score_threshold=0.3, top_k=100)
    np.testing.assert_array_equal(thresholded.scores, everything.scores[above])  # exactly those above 0.3
    capped = run(score_threshold=0.3, top_k=3)  # top_k then keeps the best three of those
    assert len(capped) == 3
    np.testing.assert_array_equal(capped.scores, thresholded.scores[:3])
    np.testing.assert_array_equal(capped.classes, thresholded.classes[:3])
    np.testing.assert_array_equal(capped.masks.to_dense(), thresholded.masks.to_dense()[:3])
    assert len(run(score_threshold=0.0, top_k=5)) == 5 < len(everything)


@pytest.mark.parametrize("method", ["traditional", "cross_class"])
def test_other_nms_methods(resnet50_checkpoint, small_images, method):
    engine = YolactEngine(resnet50_checkpoint, device="cpu", settings=InferenceSettings(nms=NmsSettings(method=method)))
    det = engine.predict_image(small_images[0])
    assert len(det) > 0 and np.all(np.diff(det.scores) <= 0)
    if method == "traditional":
        assert det.scores.min() > 0.05  # only scores above the threshold take part


def test_image_without_detections(resnet50_checkpoint, tmp_path, small_images):
    state = read_state_dict(resnet50_checkpoint)
    bias = state["prediction_layers.0.conf_layer.bias"]
    bias[0::81] += 100.0  # background wins everywhere
    path = tmp_path / "yolact_resnet50_1_1.pth"
    torch.save(state, path)
    det = YolactEngine(path, device="cpu").predict_image(small_images[1])
    assert len(det) == 0
    assert (
        len(det.masks) == 0
        and det.masks.image_size == (100, 150)
        and det.boxes.shape == (0, 4)
        and det.coefficients.shape == (0, 32)
    )
    assert det.prototypes.shape == (138, 138, 32)


@pytest.mark.slow
def test_yolact_plus_scores_are_rescored_by_mask_iou(small_images):
    model, info = load_yolact(make_checkpoint("yolact_plus_resnet50", 0))
    engine = YolactEngine.from_model(model, info, device="cpu")
    rescored = engine.predict_image(small_images[0])

    class ConstantIoU(torch.nn.Module):
        def __init__(self, value):
            super().__init__()
            self.value = value

        def forward(self, masks):
            return torch.full((masks.shape[0], 80), self.value)

    engine.maskiou_net = ConstantIoU(1.0)  # the re-scoring net the engine's post-processing calls
    plain = engine.predict_image(small_images[0])
    engine.maskiou_net = ConstantIoU(0.5)
    halved = engine.predict_image(small_images[0])
    np.testing.assert_allclose(halved.scores, plain.scores * 0.5, rtol=1e-6)
    assert not np.allclose(rescored.scores, plain.scores)  # the real net changes the scores
    assert np.all(np.diff(rescored.scores) <= 0)  # and the order follows the rescored scores


@pytest.mark.parametrize("gpus", [0, 2])
def test_device_resolution(monkeypatch, gpus):
    # Both machines are simulated, so each branch runs whatever this machine has.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cuda" if gpus else "cpu")
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    with pytest.raises(ValueError, match="'meta' is not supported"):
        resolve_device("meta")
    if gpus:
        assert resolve_device("cuda:1") == torch.device("cuda", 1)
        with pytest.raises(ValueError, match="no CUDA device 2 .*cuda:0 to cuda:1"):
            resolve_device("cuda:2")
    else:
        with pytest.raises(ValueError, match="no CUDA device is available"):
            resolve_device("cuda")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(resnet50_checkpoint, small_images):
    cpu = YolactEngine(resnet50_checkpoint, device="cpu").predict(small_images)
    gpu = YolactEngine(resnet50_checkpoint, device="cuda").predict(small_images)
    for a, b in zip(cpu, gpu):
        assert len(a) == len(b)
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-3)
        assert np.mean([_iou(x, y) for x, y in zip(a.masks.to_dense(), b.masks.to_dense())]) > 0.98


def test_one_engine_serves_threads_with_different_settings(resnet50_engine, small_images):
    """Two threads share one engine, each with its own settings: each gets what it gets alone."""
    strict, loose = InferenceSettings(score_threshold=0.3, top_k=100), InferenceSettings(top_k=5)
    image = small_images[1]
    alone = {s: resnet50_engine.predict_image(image, s) for s in (strict, loose)}
    assert len(alone[strict]) != len(alone[loose])  # the two settings give different results on this image
    default = resnet50_engine.settings
    start, results, errors = threading.Barrier(2), {strict: [], loose: []}, []

    def work(settings):
        try:
            start.wait()
            for _ in range(3):
                results[settings].append(resnet50_engine.predict([image], settings=settings)[0])
        except Exception as exc:  # noqa: BLE001 reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in (strict, loose)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for settings, runs in results.items():
        assert len(runs) == 3
        for det in runs:
            np.testing.assert_array_equal(det.scores, alone[settings].scores)
            np.testing.assert_array_equal(det.classes, alone[settings].classes)
            np.testing.assert_array_equal(det.boxes, alone[settings].boxes)
            np.testing.assert_array_equal(det.masks.to_dense(), alone[settings].masks.to_dense())
    assert resnet50_engine.settings is default  # per-call settings never change the engine's own
