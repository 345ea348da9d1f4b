"""The open reference fixtures: the original implementation's outputs on yolact_resnet50 seed 0.

Tolerances are those recommended in tests/fixtures/reference/README.md.
"""

import cv2
import numpy as np
import pytest
import torch

from protolabel.segmentation.images import read_image
from protolabel.segmentation.yolact.box_coder import decode_boxes
from tests.conftest import fixture_path

FIXTURES = ["synthetic_noise_240x320", "synthetic_blocks_600x400", "astronaut_png"]


def _input_image(name: str) -> np.ndarray:
    if name == "astronaut_png":
        from skimage import data

        return np.ascontiguousarray(data.astronaut()[:, :, ::-1])  # RGB -> BGR, as cv2.imread
    return cv2.imread(str(fixture_path("reference", f"{name}.png")))


@pytest.fixture(scope="module", params=FIXTURES)
def case(request, resnet50_engine):
    ref = dict(np.load(fixture_path("reference", f"yolact_resnet50_seed0__{request.param}.npz")))
    image = _input_image(request.param)
    x = resnet50_engine.transform([image])
    with torch.inference_mode():
        raw = resnet50_engine.model(x)
    return ref, image, x, raw, resnet50_engine.predict_image(image)


def test_input_is_the_fixture_image(case):
    import hashlib

    ref, image, *_ = case
    assert hashlib.sha256(image.tobytes()).hexdigest() == str(ref["image_sha256"])


def test_preprocessing(case):
    ref, _, x, _, _ = case
    x = x.double()
    assert tuple(x.shape) == tuple(ref["input_shape"])
    assert abs(x.mean().item() - float(ref["input_mean"])) < 1e-5
    np.testing.assert_allclose(x.mean(dim=(0, 2, 3)).numpy(), ref["input_channel_mean"], atol=1e-4)
    np.testing.assert_allclose(x.std(dim=(0, 2, 3)).numpy(), ref["input_channel_std"], atol=1e-4)
    np.testing.assert_allclose(x[0, :, 0:8, 0:8].numpy(), ref["input_patch_00"], atol=1e-4)
    np.testing.assert_allclose(x[0, :, 271:279, 271:279].numpy(), ref["input_patch_mid"], atol=1e-4)


def test_raw_outputs(case):
    ref, _, _, raw, _ = case
    np.testing.assert_allclose(raw.anchors.numpy(), ref["priors"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(raw.loc[0].numpy(), ref["loc"], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(torch.softmax(raw.conf[0], -1).numpy(), ref["conf"], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(raw.coefficients[0].numpy(), ref["mask_coeffs"], rtol=1e-3, atol=1e-3)
    proto = raw.prototypes[0].numpy()
    expected = ref["proto_f16"].astype(np.float32)
    assert np.all(np.abs(proto - expected) <= 2e-3 * np.maximum(1, np.abs(expected)))
    boxes = decode_boxes(raw.loc[0], raw.anchors)
    assert boxes.shape == (ref["loc"].shape[0], 4)


def test_candidates(case):
    ref, _, _, raw, _ = case
    best = torch.softmax(raw.conf[0], -1)[:, 1:].max(dim=1).values
    assert int((best > 0.05).sum()) == int(ref["num_candidates"])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else np.logical_and(a, b).sum() / union


def test_final_detections(case):
    ref, _, _, _, det = case
    count = int(ref["det_count"])
    assert len(det) == count
    h, w = (int(v) for v in ref["image_hw"])
    ref_masks = np.unpackbits(ref["det_masks_packed"])[: count * h * w].reshape(count, h, w).astype(bool)
    # Same order, except swaps between detections whose scores differ by < 1e-5: match greedily.
    unmatched = list(range(count))
    for i in range(count):
        candidates = [
            j
            for j in unmatched
            if abs(float(ref["det_scores"][j]) - float(det.scores[i])) <= 1e-4
            and ref["det_classes"][j] == det.classes[i]
        ]
        assert candidates, f"detection {i} (class {det.classes[i]}, score {det.scores[i]}) not in reference"
        j = min(candidates, key=lambda j: abs(j - i))
        assert abs(j - i) <= 1 or abs(float(ref["det_scores"][j]) - float(ref["det_scores"][i])) < 1e-5
        unmatched.remove(j)
        assert det.detection_category_ids[i] == ref["det_coco_category_id"][j]
        assert np.abs(det.integer_boxes[i] - ref["det_boxes"][j]).max() <= 1
        np.testing.assert_allclose(det.boxes_rel[i], ref["det_boxes_rel"][j], atol=1e-5)
        np.testing.assert_allclose(det.coefficients[i], ref["det_coeffs"][j], atol=1e-3)
        assert _iou(det.masks.dense(i), ref_masks[j]) > 0.99
        assert abs(int(det.masks.area(i)) - int(ref["det_mask_areas"][j])) <= max(2, 0.01 * ref["det_mask_areas"][j])


def test_read_image_matches_cv2_imread():
    path = fixture_path("reference", "synthetic_blocks_600x400.png")
    np.testing.assert_array_equal(read_image(path), cv2.imread(str(path)))


@pytest.fixture(scope="module")
def cuda_engine(resnet50_checkpoint):
    from protolabel.segmentation.engine import YolactEngine

    return YolactEngine(resnet50_checkpoint, device="cuda")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", FIXTURES)
def test_final_detections_on_cuda(name, cuda_engine):
    """The engine on CUDA against the original's CPU outputs. Looser than the CPU test: cuDNN picks other
    convolution algorithms (TF32 on Ampere and later), so scores move by ~1e-3 and near-ties may swap."""
    ref = dict(np.load(fixture_path("reference", f"yolact_resnet50_seed0__{name}.npz")))
    det = cuda_engine.predict_image(_input_image(name))
    count = int(ref["det_count"])
    assert abs(len(det) - count) <= max(1, count // 50)  # a detection at the top_k edge may trade places
    h, w = (int(v) for v in ref["image_hw"])
    ref_masks = np.unpackbits(ref["det_masks_packed"])[: count * h * w].reshape(count, h, w).astype(bool)
    unmatched, matched = list(range(count)), 0
    for i in range(len(det)):
        candidates = [
            j
            for j in unmatched
            if abs(float(ref["det_scores"][j]) - float(det.scores[i])) <= 5e-3
            and ref["det_classes"][j] == det.classes[i]
            and np.abs(det.boxes_rel[i] - ref["det_boxes_rel"][j]).max() <= 5e-3
        ]
        if not candidates:
            continue
        j = min(candidates, key=lambda j: abs(float(ref["det_scores"][j]) - float(det.scores[i])))
        unmatched.remove(j)
        matched += _iou(det.masks.dense(i), ref_masks[j]) >= 0.98
    assert matched >= 0.99 * count - 1
