"""`shapes_to_runs` gives the pixels of `shape_to_mask`, for many shapes of many image sizes at once.

The oracle for shapes without holes is pycocotools itself on the polygons as COCO stores them; shapes
with holes are checked against `shape_to_mask`, whose hole rule test_rasterise_exact.py pins.
"""

from __future__ import annotations

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from protolabel.segmentation.geometry.rasterise import shape_to_mask, shapes_to_runs
from protolabel.segmentation.geometry.shapes import Polygon, Shape

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _random_shapes(seed: int, count: int) -> list[tuple[Shape, tuple[int, int]]]:
    """Star-shaped parts of 0-2 decimals, from sub-pixel to larger than the image, many over its border."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        height, width = (int(v) for v in rng.integers(3, 70, size=2))
        parts = []
        for _ in range(int(rng.integers(1, 3))):
            n = int(rng.integers(3, 9))
            centre = rng.uniform(-4, [width + 4, height + 4])
            radius = rng.uniform(0.05, 0.7 * max(height, width), size=n)
            angle = np.sort(rng.uniform(0, 2 * np.pi, size=n))
            ring = np.round(centre + np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1), rng.integers(0, 3))
            holes = (centre + 0.3 * (ring - centre),) if rng.random() < 0.25 else ()
            parts.append(Polygon(ring, holes))
        out.append((Shape(tuple(parts)), (height, width)))
    return out


def _painted(runs, owner: int, height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    mine = runs.owner == owner
    for column, top, bottom in zip(runs.column[mine], runs.top[mine], runs.bottom[mine]):
        assert not mask[top:bottom, column].any(), "runs of one shape overlap"
        mask[top:bottom, column] = True
    return mask


def test_runs_are_the_pixels_of_pycocotools_and_shape_to_mask():
    cases = _random_shapes(seed=24, count=400)
    cases.insert(7, (Shape(()), (10, 10)))  # no polygon: no runs, later shapes keep their positions
    cases.insert(9, (Shape((Polygon(np.array([[40.0, 40], [50, 40], [45, 48]])),)), (20, 20)))  # outside the image
    runs = shapes_to_runs([shape for shape, _ in cases], [size for _, size in cases])
    assert np.all(np.diff(runs.owner) >= 0)
    empty = holed = 0
    for i, (shape, (height, width)) in enumerate(cases):
        mask = _painted(runs, i, height, width)
        assert np.array_equal(mask, shape_to_mask(shape, height, width)), i
        if not shape.has_holes and shape.polygons:
            rings = [p.exterior.ravel().tolist() for p in shape.polygons]
            coco = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(rings, height, width))).astype(bool)
            assert np.array_equal(mask, coco), i
        empty += not mask.any()
        holed += shape.has_holes
    assert empty >= 3 and holed >= 50  # the sample reaches the cases it is for


def test_no_shapes_no_runs():
    runs = shapes_to_runs([], [])
    assert runs.owner.size == runs.column.size == runs.top.size == runs.bottom.size == 0
