"""Vertex edits on shapes with holes and several parts."""

from __future__ import annotations

import numpy as np

from protolabel.segmentation.geometry import shape_edits as se
from protolabel.segmentation.geometry.shapes import Polygon, Shape

OUTER = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], float)
HOLE = np.array([[40, 40], [60, 40], [60, 60], [40, 60]], float)
ISLAND = np.array([[200, 0], [220, 0], [210, 20]], float)
SHAPE = Shape((Polygon(OUTER, (HOLE,)), Polygon(ISLAND)))


def test_move_vertex_in_a_hole_touches_only_that_ring():
    moved = se.move_vertex(SHAPE, se.VertexRef(0, 1, 2), (65.0, 66.0))
    assert moved.polygons[0].holes[0][2].tolist() == [65.0, 66.0]
    assert np.array_equal(moved.polygons[0].exterior, OUTER) and moved.polygons[1] == SHAPE.polygons[1]


def test_insert_vertex_on_edge_and_find_it():
    hit = se.nearest_edge(SHAPE, (50.0, 2.0), tolerance=5)
    assert hit.edge == se.VertexRef(0, 0, 0) and hit.point == (50.0, 0.0)
    shape, vertex = se.insert_vertex(SHAPE, hit.edge, hit.point)
    assert vertex == se.VertexRef(0, 0, 1)
    assert shape.polygons[0].exterior.tolist()[:3] == [[0, 0], [50, 0], [100, 0]]
    assert se.nearest_vertex(shape, (51.0, 1.0), tolerance=3) == vertex
    assert se.nearest_vertex(shape, (30.0, 30.0), tolerance=3) is None


def test_delete_vertex_drops_rings_that_become_too_small():
    square_minus_one = se.delete_vertex(SHAPE, se.VertexRef(0, 0, 1))
    assert len(square_minus_one.polygons[0].exterior) == 3
    no_island = se.delete_vertex(SHAPE, se.VertexRef(1, 0, 0))
    assert len(no_island.polygons) == 1
    triangle_hole = Shape((Polygon(OUTER, (HOLE[:3],)),))
    assert se.delete_vertex(triangle_hole, se.VertexRef(0, 1, 0)).polygons[0].holes == ()
    single = Shape((Polygon(ISLAND),))
    assert se.delete_vertex(single, se.VertexRef(0, 0, 0)).is_empty()


def test_contains_respects_holes_and_parts():
    assert se.contains(SHAPE, (10, 10))
    assert not se.contains(SHAPE, (50, 50))  # in the hole
    assert se.contains(SHAPE, (210, 5))
    assert not se.contains(SHAPE, (150, 50))


def test_add_ring_makes_a_hole_inside_and_a_part_outside():
    ring = np.array([[10, 10], [20, 10], [15, 20]], float)
    with_hole = se.add_ring(Shape((Polygon(OUTER),)), ring)
    assert len(with_hole.polygons) == 1 and len(with_hole.polygons[0].holes) == 1
    with_part = se.add_ring(Shape((Polygon(OUTER),)), ring + 500)
    assert len(with_part.polygons) == 2
