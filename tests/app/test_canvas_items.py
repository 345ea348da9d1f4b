"""Canvas item helpers: the image conversion and the object path keep every pixel and vertex."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor

from protolabel.app.canvas.items import bgr_to_qimage, ring_polygon


def test_bgr_to_qimage_shows_each_pixel_in_rgb(qapp):
    bgr = np.random.default_rng(3).integers(0, 256, (7, 11, 3), dtype=np.uint8)
    for image in (bgr, bgr[:, ::2], np.asfortranarray(bgr)):  # contiguous, strided and Fortran-ordered input
        qimage = bgr_to_qimage(image)
        assert (qimage.width(), qimage.height()) == (image.shape[1], image.shape[0])
        for y in range(image.shape[0]):
            for x in range(image.shape[1]):
                b, g, r = (int(v) for v in image[y, x])
                assert QColor(qimage.pixel(x, y)).getRgb()[:3] == (r, g, b)


def test_ring_polygon_keeps_every_vertex(qapp):
    for ring in (
        np.array([[0.5, 1.25], [10, 2], [3.75, 8]]),
        np.array([[1, 2], [3, 4]], dtype=np.int32),
        np.array([[1.5, 2.5], [3, 4]], dtype=np.float32),
    ):
        points = [(p.x(), p.y()) for p in ring_polygon(ring)]
        assert points == [(float(x), float(y)) for x, y in ring]


def test_an_objects_tooltip_names_its_class_and_track(qapp):
    from protolabel.app.canvas.items import ObjectItem
    from protolabel.segmentation.geometry.provenance import Provenance
    from protolabel.segmentation.project.records import AnnotatedObject
    from tests.segmentation.project.conftest import make_square

    tracked = AnnotatedObject("cat", make_square(0, 0), Provenance.AUTO, 0.9, track_id=7)
    item = ObjectItem(tracked, QColor("red"))
    assert item.toolTip() == "cat · track 7"
    item.set_object(tracked.with_changes(track_id=None), QColor("red"))
    assert item.toolTip() == "cat"
