"""Live editing computes the same final mask as the full assembly, from the box window alone."""

from __future__ import annotations

import numpy as np
import pytest

from protolabel.segmentation.inspection.assembly import mask_stages
from protolabel.segmentation.inspection.live import LiveMask


@pytest.fixture(scope="module")
def detections(resnet50_engine, astronaut_bgr):
    return resnet50_engine.predict_image(np.ascontiguousarray(astronaut_bgr[::2, ::2]))


@pytest.mark.parametrize("frame_size", [(256, 256), (1080, 1920), (97, 61)])
def test_window_mask_equals_the_assembled_final_mask(detections, frame_size):
    rng = np.random.default_rng(0)
    for i in range(0, len(detections), 9):
        live = LiveMask(detections.prototypes, detections.boxes_rel[i], frame_size)
        for edit in range(3):
            coeffs = detections.coefficients[i].copy()
            if edit:
                coeffs[rng.integers(0, 32, 4)] = rng.uniform(-1, 1, 4)
            expected = mask_stages(detections.prototypes, coeffs, detections.boxes_rel[i], frame_size).final
            window = live.compute(coeffs)
            np.testing.assert_array_equal(window.full(frame_size), expected)
            rows, cols = window.mask.shape
            assert not expected[: window.y0].any() and not expected[window.y0 + rows :].any()
            assert not expected[:, : window.x0].any() and not expected[:, window.x0 + cols :].any()


def test_box_outside_the_frame_gives_an_empty_window(detections):
    live = LiveMask(detections.prototypes, np.array([1.2, 1.2, 1.5, 1.5], np.float32), (100, 100))
    window = live.compute(detections.coefficients[0])
    assert window.empty and window.full((100, 100)).shape == (100, 100)
