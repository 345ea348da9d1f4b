"""shapes_from_rles: the same shapes as shape_from_rle, vertex for vertex, for a whole batch at once.

Oracles: shape_from_rle (one RLE traced on its own crop) and pycocotools (the RLE's own pixels
against the rasterised shape). The batch must really use its shared canvases, so the equality
tests make the one-object path fail inside shapes_from_rles.
"""

from __future__ import annotations

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest

import protolabel.segmentation.geometry.coco_shapes as coco_shapes
from protolabel.segmentation.geometry import shapes_from_rles
from protolabel.segmentation.geometry.coco_shapes import shape_from_rle
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.geometry.rle import mask_to_rle, rle_counts_batch
from protolabel.segmentation.geometry.shapes import Shape

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _blob(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A smooth random mask (parts, holes, specks) filling a random box of the image."""
    h, w = int(rng.integers(1, height + 1)), int(rng.integers(1, width + 1))
    grid = rng.random((int(rng.integers(2, 7)), int(rng.integers(2, 7)))).astype(np.float32)
    field = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    mask = np.zeros((height, width), bool)
    y, x = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
    mask[y : y + h, x : x + w] = field > rng.uniform(0.3, 0.7)
    return mask


def _masks(seed: int) -> list[np.ndarray]:
    """Every kind of mask the brief names, mixed so slots of different sizes sit side by side."""
    rng = np.random.default_rng(seed)
    masks = []
    for _ in range(60):
        height, width = (int(v) for v in rng.integers(1, 90, size=2))
        masks.append(_blob(rng, height, width))  # blobs, holes, several parts
        # specks and diagonal contacts (small: shapely repairs these, slowly)
        masks.append(rng.random((min(height, 24), min(width, 24))) < rng.uniform(0.05, 0.6))
    ring = np.zeros((9, 9), bool)
    ring[2:7, 2:7] = True
    ring[4, 4] = False  # a one-pixel hole
    pinched = np.zeros((6, 6), bool)
    pinched[1:3, 1:3] = pinched[3:5, 3:5] = True  # two squares meeting at a corner
    hole_at_corner = np.zeros((7, 7), bool)
    hole_at_corner[1:6, 1:6] = True
    hole_at_corner[2, 2] = hole_at_corner[3, 3] = False  # holes meeting each other at a corner
    borders = np.zeros((20, 30), bool)
    borders[0, :] = borders[-1, :] = borders[:, 0] = borders[:, -1] = True  # touches every side
    dots = np.zeros((15, 15), bool)
    dots[::3, ::4] = True  # one-pixel parts
    masks += [
        ring,
        pinched,
        hole_at_corner,
        borders,
        dots,
        np.ones((40, 50), bool),
        np.ones((1, 1), bool),
        np.zeros((1, 1), bool),  # full and empty
        np.zeros((30, 40), bool),
        rng.random((1, 70)) < 0.5,
        rng.random((70, 1)) < 0.5,  # a 1-pixel-high and a 1-pixel-wide image
        np.ones((1, 70), bool),
        np.ones((70, 1), bool),
        _blob(rng, 3000, 120),  # a crop taller than a canvas row is wide
        _blob(rng, 60, 2500),  # and one wider than a canvas row
    ]
    big = np.zeros((1500, 2000), bool)
    big[1400:, 1990:] = True
    big[1450, 1995] = False
    masks.append(big)  # a tiny object in the corner of a big image
    return masks


def _rles(masks: list[np.ndarray]) -> list[dict]:
    rles = [mask_to_rle(m) for m in masks]
    for i in range(0, len(rles), 7):  # some with uncompressed (list) counts, as COCO's crowd annotations
        h, w = masks[i].shape
        counts = mask_utils.encode(np.asfortranarray(masks[i].astype(np.uint8)))
        rles[i] = {"size": [h, w], "counts": _uncompressed(counts["counts"], h, w)}
    return rles


def _uncompressed(counts: bytes, h: int, w: int) -> list[int]:
    """The run lengths of a compressed RLE, read by pycocotools (not by the code under test)."""
    mask = mask_utils.decode({"size": [h, w], "counts": counts}).ravel(order="F")
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask, [0]]).astype(np.int8)))
    bounds = np.concatenate([[0], edges, [h * w]])
    return np.diff(bounds).tolist()  # background first, then alternately object and background


def _assert_same(a: Shape, b: Shape) -> None:
    assert len(a.polygons) == len(b.polygons)
    for p, q in zip(a.polygons, b.polygons):
        assert np.array_equal(p.exterior, q.exterior)  # same start vertex and orientation
        assert len(p.holes) == len(q.holes)
        for g, h in zip(p.holes, q.holes):
            assert np.array_equal(g, h)


@pytest.mark.parametrize("seed", [1, 2])
def test_batch_gives_shape_from_rle_vertex_for_vertex(seed, monkeypatch):
    rles = _rles(_masks(seed))
    expected = [shape_from_rle(r) for r in rles]
    assert any(s.has_holes for s in expected) and any(len(s.polygons) > 1 for s in expected)
    assert any(s.is_empty() for s in expected)
    monkeypatch.setattr(coco_shapes, "shape_from_rle", lambda rle, **_: pytest.fail("fell back"))
    repaired = []  # objects touching themselves take shapely's path, one by one
    crop_to_shape = coco_shapes.crop_to_shape
    monkeypatch.setattr(coco_shapes, "crop_to_shape", lambda *a: repaired.append(a) or crop_to_shape(*a))
    got = shapes_from_rles(rles)
    assert len(got) == len(rles) and 0 < len(repaired) < len(rles) // 2
    for a, b in zip(got, expected):
        _assert_same(a, b)


def test_batch_shapes_rasterise_to_the_rle_pixels():
    masks = _masks(3)
    rles = _rles(masks)
    for mask, rle, shape in zip(masks, rles, shapes_from_rles(rles)):
        h, w = mask.shape
        counts = rle["counts"]
        if isinstance(counts, list):
            coco = mask_utils.frPyObjects(rle, h, w)
        else:
            coco = {"size": [h, w], "counts": counts.encode()}
        pixels = mask_utils.decode(coco).astype(bool)
        assert np.array_equal(pixels, mask)
        assert np.array_equal(shape_to_mask(shape, h, w), pixels)


def test_corrupt_rles_get_their_own_error_and_the_others_their_shapes():
    masks = _masks(4)[:30]
    rles = _rles(masks)
    corrupt = {
        3: {"size": [10, 10], "counts": "PP"},  # truncated in a count
        8: {"size": [10, 10], "counts": "1 2"},  # outside the alphabet
        12: {"size": [10, 10], "counts": "12"},  # does not add up to 10x10
        17: {"size": [3, 3], "counts": [4, -1, 6]},  # a negative count
        21: {"size": [10, 10], "counts": "olé"},  # not ASCII
        25: {"counts": "12"},  # no size
        26: {"size": [-1, -5], "counts": [0, 5]},  # a negative size whose area the counts add up to
        27: {"size": [2**40, 2**40], "counts": [2**80]},  # beyond 64 bits
        28: {"size": [10, 10], "counts": "ooooooooooooooo1"},  # a 16-char count: beyond 64 bits
        29: {"size": [4, 5], "counts": b"<"},  # bytes, as pycocotools gives them
    }
    for i, rle in corrupt.items():
        rles[i] = rle
    got = shapes_from_rles(rles)
    for rle, result in zip(rles, got):
        try:
            expected = shape_from_rle(rle)
        except Exception as error:  # noqa: BLE001 - the error is the expected result
            assert type(result) is type(error) and str(result) == str(error)
        else:
            _assert_same(result, expected)
    assert sum(isinstance(r, Exception) for r in got) >= 7


def test_a_batch_larger_than_one_canvas(monkeypatch):
    rles = _rles(_masks(5))
    expected = [shape_from_rle(r) for r in rles]
    canvases = []
    trace = coco_shapes.trace_contours
    monkeypatch.setattr(coco_shapes, "trace_contours", lambda pixels: canvases.append(pixels.shape) or trace(pixels))
    monkeypatch.setattr(coco_shapes, "CANVAS_WIDTH", 200)  # many rows per canvas
    monkeypatch.setattr(coco_shapes, "CANVAS_PIXELS", 10_000)  # and many canvases (10 here)
    monkeypatch.setattr(coco_shapes, "shape_from_rle", lambda rle, **_: pytest.fail("fell back"))
    got = shapes_from_rles(rles)
    assert len(canvases) > 5
    for a, b in zip(got, expected):
        _assert_same(a, b)


def test_empty_batch_and_empty_counts():
    assert shapes_from_rles([]) == []
    (shape,) = shapes_from_rles([{"size": [4, 5], "counts": ""}])
    assert shape.is_empty() and shape_from_rle({"size": [4, 5], "counts": ""}).is_empty()


def test_batch_counts_are_pycocotools_counts_string_by_string():
    """The delta rule (from a string's 4th count on) restarts in every string of the batch."""
    masks = _masks(6)
    rles = [mask_to_rle(m) for m in masks]
    batch = rle_counts_batch(rles)
    assert batch.index.tolist() == list(range(len(rles)))  # every one read by the batch
    starts = np.cumsum(batch.lengths) - batch.lengths
    for k, rle in enumerate(rles):
        h, w = rle["size"]
        counts = batch.counts[starts[k] : starts[k] + batch.lengths[k]].tolist()
        assert mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)["counts"].decode() == rle["counts"]
