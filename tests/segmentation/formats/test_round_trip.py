"""Every format written from a project and read back gives the same objects, classes and pixels (where the format
keeps pixels), checked against masks pycocotools draws from the plain coordinates; what a format cannot carry is
counted in the export's notes."""

from __future__ import annotations

import shutil

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from protolabel.segmentation.formats.registry import all_formats, by_name
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.project.export import export_project
from protolabel.segmentation.project.importing import apply_import, plan_import
from protolabel.segmentation.project.store import ProjectStore
from tests.segmentation.formats.conftest import OBJECTS, SIZE


def _oracle(rings, holes, *, keep_holes: bool) -> np.ndarray:
    """pycocotools' mask of the outer rings, less the holes (or not, for a format without holes)."""
    h, w = SIZE

    def union(polys):
        rles = mask_utils.frPyObjects([np.asarray(p, float).ravel().tolist() for p in polys], h, w)
        return mask_utils.decode(mask_utils.merge(rles)).astype(bool)

    mask = union(rings)
    if holes and keep_holes:
        mask &= ~union(holes)
    return mask


def _objects_by_image(store):
    out = {}
    for name in OBJECTS:
        out[name] = sorted(
            ((o.label, shape_to_mask(o.shape, *SIZE)) for o in store.objects(name)), key=lambda item: item[0]
        )
    return out


@pytest.mark.parametrize("name", [f.name for f in all_formats() if f.name in ("coco", "labelme", "yolo")])
def test_written_and_read_back_gives_the_same_objects_and_pixels(project, tmp_path, name):
    fmt = by_name(name)
    out = tmp_path / ("export.json" if not fmt.writes_folder else "export")
    with ProjectStore.open(project) as store:
        summary = export_project(store, fmt, out, labels=("cup", "plate"))
    assert summary.images == 3
    keeps_holes = name == "coco"
    if not keeps_holes:
        assert any("1 object with holes" in note for note in summary.notes), summary.notes
    if name == "yolo":
        assert any("1 object of several parts joined" in note for note in summary.notes), summary.notes

    shutil.rmtree(project / ".protolabel")  # a fresh project on the same images
    with ProjectStore.open(project) as store:
        plan = plan_import(store, out, fmt=fmt)
        assert plan.skipped == () and plan.notes == ()
        apply_import(store, plan)
        assert store.setting("labels") == ["cup", "plate"]
        got = _objects_by_image(store)
    for image, objects in OBJECTS.items():
        want = sorted(
            ((label, _oracle(rings, holes, keep_holes=keeps_holes)) for label, rings, holes, _ in objects),
            key=lambda item: item[0],
        )
        assert [label for label, _ in got[image]] == [label for label, _ in want], image
        for (_, got_mask), (label, want_mask) in zip(got[image], want):
            # YOLO keeps a millionth of the image per coordinate: the same pixels at this size
            assert np.array_equal(got_mask, want_mask), (image, label, int((got_mask ^ want_mask).sum()))
