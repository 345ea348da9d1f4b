"""Stored shape text: the fast writer gives exactly json.dumps's text (the oracle), and reads back exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.project.records import shape_from_json, shape_to_json, shapes_to_json


def by_json(shape: Shape) -> str:
    return json.dumps(
        [[ring.ravel().tolist() for ring in (p.exterior, *p.holes)] for p in shape.polygons], separators=(",", ":")
    )


def shapes(seed: int) -> list[Shape]:
    rng = np.random.default_rng(seed)
    out = [Shape(())]
    for i in range(300):
        n = int(rng.integers(3, 40))
        points = np.round(rng.uniform(0, 900, (n, 2)) * 2) / 2  # the half-pixel grid
        if i % 5 == 1:
            points = rng.uniform(-40, 900, (n, 2))  # off the grid, some negative
        holes = (np.round(rng.uniform(1, 60, (4, 2))),) if i % 3 == 0 else ()
        parts = [Polygon(points, holes)] + ([Polygon(points[:3] + 0.25)] if i % 4 == 0 else [])
        out.append(Shape(tuple(parts)))
    return out


EDGES = [
    -0.0,
    0.0,
    0.5,
    16383.5,
    16384.0,
    16384.5,
    -0.5,
    1e17,
    1e-300,
    2.0**53,
    float("nan"),
    float("inf"),
    -float("inf"),
    0.1,
    123.25,
]


def test_same_text_as_json_dumps_for_grid_off_grid_and_edge_values():
    many = shapes(0)
    assert shapes_to_json(many) == [by_json(s) for s in many]
    edge = Shape((Polygon(np.array(EDGES[:14] + [EDGES[14]] * 2).reshape(-1, 2)),))
    assert shape_to_json(edge) == by_json(edge)
    assert "-0.0" in shape_to_json(edge) and "NaN" in shape_to_json(edge)


@pytest.mark.parametrize("seed", [1, 2])
def test_text_reads_back_to_the_same_vertices(seed):
    for shape in shapes(seed):
        assert shape_from_json(shape_to_json(shape)) == shape


def test_rings_without_vertices_and_shapes_without_polygons_among_others():
    """Every way the brackets can follow one another: empty shapes between full ones, holes, several
    polygons, and a ring with no vertex (its brackets follow no number)."""
    square = np.array([[0, 0], [4, 0], [4, 4]], np.float64)
    hole = np.array([[1, 1], [2, 1], [2, 2.5]], np.float64)
    plain = [
        Shape(()),
        Shape((Polygon(square, (hole, hole + 0.5)), Polygon(square + 7))),
        Shape(()),
        Shape((Polygon(square),)),
    ]
    assert shapes_to_json(plain) == [by_json(s) for s in plain]
    with_empty_ring = [*plain, Shape((Polygon(square, (np.empty((0, 2)),)),))]
    assert shapes_to_json(with_empty_ring) == [by_json(s) for s in with_empty_ring]
