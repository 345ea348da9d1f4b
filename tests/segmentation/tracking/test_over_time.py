"""A track's coefficients and prototype contributions frame by frame (the inspector over time)."""

from __future__ import annotations

import numpy as np
import pytest

from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.tracking.edits import correct
from protolabel.segmentation.tracking.over_time import coefficient_strip, contribution_strip, mask_on_prototype_grid
from protolabel.segmentation.tracking.tracks import Track, TrackFrame, TrackSet
from tests.segmentation.tracking.scenes import HEIGHT, WIDTH, K, detections_of


def _box(x0: float, y0: float, x1: float, y1: float) -> Shape:
    return Shape((Polygon(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])),))


def _coefficients(t: int) -> np.ndarray:
    return np.linspace(-1, 1, K, dtype=np.float32) * (t + 1)


def _track() -> Track:
    # frames 2, 3 and 5 (4 missing); left half of the image on 2 and 3, right half on 5
    frames = [TrackFrame(t, _box(0, 0, 64, 64), 0.9, coefficients=_coefficients(t)) for t in (2, 3)]
    frames.append(TrackFrame(5, _box(64, 0, 128, 64), 0.9, coefficients=_coefficients(5)))
    return Track(1, 0, tuple(frames))


def test_coefficient_strip_has_a_row_per_frame_and_nan_where_unseen():
    frames, strip = coefficient_strip(_track())
    assert frames.tolist() == [2, 3, 4, 5] and strip.shape == (4, K)
    np.testing.assert_array_equal(strip[1], _coefficients(3))
    assert np.isnan(strip[2]).all()
    tracks = TrackSet((HEIGHT, WIDTH), ("ball",), (_track(),))
    edited = correct(tracks, 1, 3, _box(0, 0, 10, 10)).apply(tracks).get(1)
    assert np.isnan(coefficient_strip(edited)[1][1]).all()  # a person's shape carries no coefficients
    with pytest.raises(ValueError, match="no frame with model coefficients"):
        coefficient_strip(Track(2, 0, (TrackFrame(0, _box(0, 0, 4, 4), provenance="edited"),)))


def test_contributions_are_mean_abs_coefficient_times_prototype_inside_the_mask():
    # prototype j is j + 1 on the left half of the image and 10 * (j + 1) on the right half
    h, w = HEIGHT // 4, WIDTH // 4
    prototypes = np.zeros((h, w, K), np.float32)
    prototypes[:, : w // 2] = np.arange(1, K + 1)
    prototypes[:, w // 2 :] = 10 * np.arange(1, K + 1)
    frame = detections_of([], [], prototypes=prototypes)
    frames, strip = contribution_strip(_track(), lambda index: frame)
    np.testing.assert_allclose(strip[0], np.abs(_coefficients(2)) * np.arange(1, K + 1), rtol=1e-6)
    np.testing.assert_allclose(strip[3], np.abs(_coefficients(5)) * 10 * np.arange(1, K + 1), rtol=1e-6)
    assert np.isnan(strip[2]).all()


def test_mask_sampled_at_prototype_pixel_centres():
    mask = np.zeros((8, 8), bool)
    mask[0:4, 4:8] = True
    np.testing.assert_array_equal(mask_on_prototype_grid(mask, (2, 2)), [[False, True], [False, False]])
