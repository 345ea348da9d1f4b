import numpy as np
import pytest

from segmentation.inspection.assembly import (
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
    rebuilt = masks_from_parts(detections.prototypes, detections.coefficients, pixel_boxes_for_crop(detections),
                               detections.image_size)
    np.testing.assert_array_equal(rebuilt, detections.masks)


def test_stages_end_in_the_detection_mask(detections):
    i = int(np.argmax(detections.masks.sum(axis=(1, 2))))
    stages = mask_stages(detections.prototypes, detections.coefficients[i], detections.boxes_rel[i],
                         detections.image_size)
    np.testing.assert_allclose(stages.sigmoid, 1 / (1 + np.exp(-stages.linear)), rtol=1e-5)
    assert np.all((stages.cropped == 0) | (stages.cropped == stages.sigmoid))
    assert (stages.cropped > 0).sum() < (stages.sigmoid > 0).sum()
    np.testing.assert_array_equal(stages.final, detections.masks[i])


def test_contributions_sum_to_the_linear_combination(detections):
    parts = contributions(detections.prototypes, detections.coefficients[0])
    assert parts.shape == (32, 138, 138)
    np.testing.assert_allclose(parts.sum(axis=0), detections.prototypes @ detections.coefficients[0], atol=1e-3)


def test_summary_flags_dead_prototypes_and_ranks_reliance(detections):
    summary = summarize_prototypes(detections)
    assert summary.dead.tolist() == (detections.prototypes.max(axis=(0, 1)) < 1e-3).tolist()
    assert summary.reliance[summary.ranking[0]] == summary.reliance.max()
    protos = np.zeros((4, 4, 3), np.float32)
    protos[..., 1] = 2.0
    strength = contribution_strength(protos, np.array([0.9, -0.5, 0.1]), np.array([0, 0, 1, 1]))
    assert strength.tolist() == pytest.approx([0.0, 1.0, 0.0])
