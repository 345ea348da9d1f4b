import math

import numpy as np
import pytest

from protolabel.segmentation.yolact.anchors import feature_map_sizes, level_anchors, make_anchors
from protolabel.segmentation.yolact.config import CONFIGS


@pytest.mark.parametrize(
    "size,expected", [(400, [50, 25, 13, 7, 4]), (550, [69, 35, 18, 9, 5]), (700, [88, 44, 22, 11, 6])]
)
def test_feature_map_sizes_follow_conv_arithmetic(size, expected):
    assert feature_map_sizes(size) == expected


@pytest.mark.parametrize(
    "name,count",
    [("yolact_im400", 10077), ("yolact_base", 19248), ("yolact_im700", 30963), ("yolact_plus_base", 57744)],
)
def test_anchor_counts(name, count):
    config = CONFIGS[name]
    sizes = [(s, s) for s in feature_map_sizes(config.max_size)]
    assert make_anchors(config, sizes).shape == (count, 4)


def test_v1_anchors_are_square_and_divided_by_input_size():
    anchors = level_anchors(5, 5, (384.0,), 550, square=True)
    # location 0, ratios 1, 1/2, 2: widths scale with sqrt(ratio), heights copy the width (old bug kept)
    w = [384 * math.sqrt(r) / 550 for r in (1, 0.5, 2)]
    np.testing.assert_allclose(anchors[:3, 2], w)
    np.testing.assert_allclose(anchors[:3, 3], w)
    assert anchors[2, 2] == pytest.approx(0.9873, abs=1e-4)  # P7, s=384, r=2 reaches past the image


def test_plus_anchors_are_scale_major_and_not_square():
    anchors = level_anchors(2, 3, (24.0, 30.0), 550, square=False)
    assert anchors.shape == (2 * 3 * 6, 4)
    first = anchors[:6]
    np.testing.assert_allclose(first[:3, 2], [24 * math.sqrt(r) / 550 for r in (1, 0.5, 2)])
    np.testing.assert_allclose(first[3:, 3], [30 / math.sqrt(r) / 550 for r in (1, 0.5, 2)])
    # locations are row-major: the 4th location (index 3) is row 1, column 0
    assert tuple(anchors[3 * 6, :2]) == pytest.approx((0.5 / 3, 1.5 / 2))


def test_im_configs_truncate_scaled_anchor_sizes():
    assert [s[0] for s in CONFIGS["yolact_im400"].scales] == [17, 34, 69, 139, 279]
    assert [s[0] for s in CONFIGS["yolact_im700"].scales] == [30, 61, 122, 244, 488]
