import numpy as np
import pytest

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.inspection.assembly import (
    contribution_strength,
    contributions,
    mask_stages,
    masks_from_parts,
    pixel_boxes_for_crop,
    summarize_prototypes,
)


@pytest.fixture(scope="module")
def detections(resnet50_engine, astronaut_bgr):
    return resnet50_engine.predict_image(np.ascontiguousarray(astronaut_bgr[::2, ::2]))


def test_rebuilding_from_prototypes_coefficients_and_pixel_boxes_gives_the_same_masks(detections):
    rebuilt = masks_from_parts(
        detections.prototypes, detections.coefficients, pixel_boxes_for_crop(detections), detections.image_size
    )
    np.testing.assert_array_equal(rebuilt.to_dense(), detections.masks.to_dense())
    np.testing.assert_array_equal(rebuilt.offsets, detections.masks.offsets)


def test_stages_end_in_the_detection_mask(detections):
    i = int(np.argmax(detections.masks.areas))
    stages = mask_stages(
        detections.prototypes, detections.coefficients[i], detections.boxes_rel[i], detections.image_size
    )
    np.testing.assert_allclose(stages.sigmoid, 1 / (1 + np.exp(-stages.linear)), rtol=1e-5)
    assert np.all((stages.cropped == 0) | (stages.cropped == stages.sigmoid))
    assert (stages.cropped > 0).sum() < (stages.sigmoid > 0).sum()
    np.testing.assert_array_equal(stages.final, detections.masks.dense(i))


def test_contributions_sum_to_the_linear_combination(detections):
    parts = contributions(detections.prototypes, detections.coefficients[0])
    assert parts.shape == (32, 138, 138)
    np.testing.assert_allclose(parts.sum(axis=0), detections.prototypes @ detections.coefficients[0], atol=1e-3)


def _hand_made_detections(coefficients, boxes_rel) -> Detections:
    """8x8 prototypes whose contributions can be worked out by hand: P0 dead (0), P1 = 1 everywhere,
    P2 = 0.5 on the right half only, P3 = 1e-4 everywhere (below the dead threshold)."""
    protos = np.zeros((8, 8, 4), np.float32)
    protos[..., 1] = 1.0
    protos[:, 4:, 2] = 0.5
    protos[..., 3] = 1e-4
    d = len(coefficients)
    return Detections(
        image_size=(16, 16),
        classes=np.zeros(d, np.int64),
        scores=np.ones(d, np.float32),
        boxes=np.asarray(boxes_rel, np.float32) * 16,
        boxes_rel=np.asarray(boxes_rel, np.float32),
        masks=np.zeros((d, 16, 16), bool),
        coefficients=np.asarray(coefficients, np.float32),
        prototypes=protos,
        class_names=("thing",),
        category_ids=(1,),
    )


def test_summary_flags_dead_prototypes_and_ranks_reliance():
    # A: left half, coefficients (5, 1, 3, 100) -> |c*P| means (0, 1, 0, 0.01) (P2 is 0 on the left).
    # B: whole image, coefficients (0, -0.2, 1, 0) -> (0, 0.2, 0.25, 0) (P2 = 0.5 on half the window).
    det = _hand_made_detections([[5, 1, 3, 100], [0, -0.2, 1, 0]], [[0, 0, 0.5, 1], [0, 0, 1, 1]])
    summary = summarize_prototypes(det)
    np.testing.assert_allclose(summary.reliance, [0.0, 0.6, 0.125, 0.005], rtol=1e-5)
    assert summary.ranking.tolist() == [1, 2, 3, 0]
    assert summary.dead.tolist() == [True, False, False, True]  # P3 is alive only above 1e-4
    assert summarize_prototypes(det, dead_threshold=1e-5).dead.tolist() == [True, False, False, False]


def test_summary_without_detections_relies_on_nothing():
    det = _hand_made_detections(np.zeros((0, 4)), np.zeros((0, 4)))
    summary = summarize_prototypes(det)
    assert summary.reliance.tolist() == [0, 0, 0, 0] and summary.dead.tolist() == [True, False, False, True]


def test_summary_of_a_real_image_ranks_by_reliance(detections):
    summary = summarize_prototypes(detections)
    assert sorted(summary.ranking.tolist()) == list(range(detections.prototypes.shape[2]))
    assert np.all(np.diff(summary.reliance[summary.ranking]) <= 0) and summary.reliance.max() > 0


def test_contribution_strength_is_the_mean_inside_the_box():
    protos = np.zeros((4, 4, 3), np.float32)
    protos[..., 1] = 2.0
    protos[:2, :, 0] = 1.0  # only the top half: outside the box below
    strength = contribution_strength(protos, np.array([0.9, -0.5, 0.1]), np.array([0, 0.5, 1, 1]))
    assert strength.tolist() == pytest.approx([0.0, 1.0, 0.0])
