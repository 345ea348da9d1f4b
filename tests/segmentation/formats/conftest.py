"""A small project for the format tests: three images, objects with holes, several parts and two classes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore

SIZE = (48, 64)  # (height, width) of every image

SQUARE = [[4, 4], [20, 4], [20, 20], [4, 20]]
DONUT = ([[24, 6], [60, 6], [60, 42], [24, 42]], [[34, 16], [50, 16], [50, 32], [34, 32]])
TWO_PARTS = ([[2, 30], [14, 30], [14, 44], [2, 44]], [[40, 30], [58, 30], [58, 45], [40, 45]])


def _shape(*rings, holes=()) -> Shape:
    if holes:
        return Shape((Polygon(np.array(rings[0], float), tuple(np.array(h, float) for h in holes)),))
    return Shape(tuple(Polygon(np.array(r, float)) for r in rings))


# (image, objects as (label, outer rings, holes, provenance)), the plain data the oracle rasterises
OBJECTS = {
    "a.png": [("cup", [SQUARE], [], Provenance.EDITED), ("plate", [DONUT[0]], [DONUT[1]], Provenance.EDITED)],
    "sub/b.jpg": [("plate", list(TWO_PARTS), [], Provenance.VERIFIED)],
    "c.png": [("cup", [[[10.5, 10.25], [30.75, 12], [20, 40.5]]], [], Provenance.AUTO)],
}


def write_images(folder: Path) -> None:
    rng = np.random.default_rng(0)
    for name in OBJECTS:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), rng.integers(0, 255, (*SIZE, 3), dtype=np.uint8))


@pytest.fixture
def project(tmp_path) -> Path:
    """A folder of three images whose project holds OBJECTS (statuses edited/verified/auto-labeled)."""
    return make_project(tmp_path)


def make_project(tmp_path: Path) -> Path:
    """tmp_path/photos: three images whose project holds OBJECTS (the `project` fixture, for other test folders)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    write_images(folder)
    with ProjectStore.open(folder) as store:
        for name, objects in OBJECTS.items():
            saved = [AnnotatedObject(label, _shape(*rings, holes=holes), prov) for label, rings, holes, prov in objects]
            if name == "c.png":
                store.replace_auto_objects(name, saved, image_size=SIZE)
            else:
                status = ImageStatus.VERIFIED if name == "sub/b.jpg" else ImageStatus.EDITED
                store.write_change(name, saved=saved, status=status)
        store.set_setting("labels", ["cup", "plate"])
    return folder
