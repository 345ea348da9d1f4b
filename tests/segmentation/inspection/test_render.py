"""The pictures `protolabel inspect` writes: colours and layout checked against published values and hand sums."""

from __future__ import annotations

import numpy as np
import pytest

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.inspection.render import class_color, detections_overlay, heatmap, prototype_grid

# matplotlib's viridis at 0, 0.5 and 1 (#440154, #21918C, #FDE725), as BGR
VIRIDIS_LOW, VIRIDIS_MID, VIRIDIS_HIGH = (84, 1, 68), (140, 145, 33), (37, 231, 253)
BACKGROUND = 32


def _close(pixel, bgr, tolerance: int = 2) -> bool:
    return bool(np.abs(np.asarray(pixel, int) - np.asarray(bgr, int)).max() <= tolerance)


def test_heatmap_maps_low_to_high_onto_viridis_and_clips_outside():
    values = np.array([[-5.0, 0.0, 1.0, 2.0, 9.0]])
    picture = heatmap(values, 0.0, 2.0)
    assert picture.shape == (1, 5, 3) and picture.dtype == np.uint8
    for pixel, expected in zip(picture[0], [VIRIDIS_LOW, VIRIDIS_LOW, VIRIDIS_MID, VIRIDIS_HIGH, VIRIDIS_HIGH]):
        assert _close(pixel, expected), (pixel, expected)
    flat = heatmap(np.full((2, 2), 3.0), 3.0, 3.0)  # an all-constant prototype: no division by zero
    assert all(_close(p, VIRIDIS_LOW) for p in flat.reshape(-1, 3))


def test_class_colours_are_stable_distinct_and_golden_ratio_hues():
    assert class_color(0) == (63, 63, 255)  # hue 0, saturation 0.75, value 1: RGB (255, 63.75, 63.75)
    colours = [class_color(i) for i in range(80)]
    assert colours == [class_color(i) for i in range(80)]
    assert len(set(colours[:20])) == 20
    assert all(max(c) == 255 and min(c) == 63 for c in colours)  # same saturation and value for every class


def test_prototype_grid_layout_and_per_tile_scale():
    h = w = 6
    protos = np.zeros((h, w, 5), np.float32)
    protos[:, 3:, 0] = 1.0  # #0: left half 0, right half 1
    protos[:, :, 1] = np.linspace(0, 0.5, w)[None, :]  # #1: 0 .. 0.5 (half the global maximum)
    protos[:, :, 4] = 0.25  # #4: constant
    tile = 12
    grid = prototype_grid(protos, tile=tile)
    # ceil(sqrt(5)) = 3 columns, 2 rows; each cell is the tile plus an 18 px label and 4 px padding
    assert grid.shape == (2 * (tile + 18 + 4) + 4, 3 * (tile + 4) + 4, 3)

    def tile_at(j):
        y, x = (j // 3) * (tile + 22) + 4 + 18, (j % 3) * (tile + 4) + 4
        return grid[y : y + tile, x : x + tile]

    first = tile_at(0)
    assert all(_close(p, VIRIDIS_LOW) for p in first[:, : tile // 2].reshape(-1, 3))
    assert all(_close(p, VIRIDIS_HIGH) for p in first[:, tile // 2 :].reshape(-1, 3))
    assert _close(tile_at(1)[0, -1], VIRIDIS_HIGH)  # own scale: its 0.5 is the top colour
    assert (grid[-4:] == BACKGROUND).all() and (tile_at(5) == BACKGROUND).all()  # the sixth cell is empty
    label = grid[4 : 4 + 18, 4 : 4 + tile + 4]
    assert (label > 200).any()  # the "#0 0.00..1.00" caption is written in light grey

    shared = prototype_grid(protos, tile=tile, shared_scale=True)
    y, x = 4 + 18, (tile + 4) + 4
    assert _close(shared[y, x + tile - 1], VIRIDIS_MID)  # shared scale: 0.5 of the maximum 1.0


def _detections(masks, boxes, classes, scores):
    d = len(masks)
    return Detections(
        image_size=masks.shape[1:],
        classes=np.asarray(classes, np.int64),
        scores=np.asarray(scores, np.float32),
        boxes=np.asarray(boxes, np.float32),
        boxes_rel=np.zeros((d, 4), np.float32),
        masks=masks,
        coefficients=np.zeros((d, 4), np.float32),
        prototypes=np.zeros((4, 4, 4), np.float32),
        class_names=("cat", "dog"),
        category_ids=(1, 2),
    )


def test_overlay_blends_each_mask_with_its_class_colour_best_on_top():
    image = np.full((80, 100, 3), 100, np.uint8)
    masks = np.zeros((2, 80, 100), bool)
    masks[0, 30:60, 40:70] = True  # best detection: class 0
    masks[1, 40:70, 50:90] = True  # second: class 1, overlapping the first
    det = _detections(masks, [[40, 30, 70, 60], [50, 40, 90, 70]], [0, 1], [0.9, 0.6])
    out = detections_overlay(image, det, alpha=0.5)
    assert out.shape == image.shape and out.dtype == np.uint8
    # class 0 is (63, 63, 255): half of it and half of 100 -> (81.5, 81.5, 177.5), truncated
    assert out[50, 45].tolist() == [81, 81, 177]
    # where both masks lie, class 1 (255, 119, 63) is blended first, then class 0 over it
    under = np.array([100, 100, 100]) * 0.5 + np.array(class_color(1)) * 0.5
    assert out[55, 65].tolist() == np.floor(under * 0.5 + np.array(class_color(0)) * 0.5).astype(int).tolist()
    assert out[5, 5].tolist() == [100, 100, 100] and out[78, 98].tolist() == [100, 100, 100]  # no mask, no box
    assert _close(out[45, 90], class_color(1), 30) and out[45, 92].tolist() == [100, 100, 100]  # its outline at x2 = 90
    assert (image == 100).all()  # the input is not drawn on


def test_overlay_without_detections_is_the_image():
    image = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    det = _detections(np.zeros((0, 20, 30), bool), np.zeros((0, 4)), [], [])
    assert np.array_equal(detections_overlay(image, det), image)


@pytest.mark.parametrize("k", [1, 32])
def test_grid_fits_any_prototype_count(k):
    grid = prototype_grid(np.random.default_rng(k).random((8, 8, k)).astype(np.float32), tile=8)
    columns = int(np.ceil(np.sqrt(k)))
    rows = int(np.ceil(k / columns))
    assert grid.shape == (rows * (8 + 22) + 4, columns * 12 + 4, 3)
