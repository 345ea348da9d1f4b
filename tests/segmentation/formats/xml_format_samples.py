"""Shared setup of the VOC and CVAT tests: a small dataset with the hard cases, masks through pycocotools alone (the
oracle), the Datumaro fixtures' source, and running Datumaro where it is installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils

from protolabel.segmentation.coco.dataset import Category, CocoDataset, CocoImage
from protolabel.segmentation.geometry.instances import Instances
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from tests.conftest import fixture_path

WIDTH, HEIGHT = 40, 32
FORMATS = fixture_path("formats")
SOURCE_COCO = FORMATS / "voc_cvat_source" / "annotations" / "instances_default.json"


def square(x: float, y: float, side: float) -> np.ndarray:
    return np.array([[x, y], [x + side, y], [x + side, y + side], [x, y + side]], float)


def sample_dataset() -> CocoDataset:
    """Two images: an object with a hole, a two-part object, a triangle with fractional vertices (with attributes
    and a tag), and an empty image."""
    holed = Shape((Polygon(square(2, 2, 10), (square(5, 5, 3),)),))
    two_parts = Shape((Polygon(square(20, 2, 4)), Polygon(square(26, 10, 3))))
    triangle = Shape((Polygon(np.array([[3.3, 20.1], [15.7, 21.2], [8.2, 29.9]])),))
    names = ("cat", "dog")
    attributes = np.empty(3, object)
    attributes[:] = [{"attributes": {"occluded": True, "color": "red"}}, None, {"attributes": {"occluded": False}}]
    objects = Instances(
        (HEIGHT, WIDTH),
        class_names=names,
        shapes=[holed, two_parts, triangle],
        classes=[0, 1, 1],
        provenance=["edited", "auto", "edited"],
        attributes=attributes,
    )
    images = [
        CocoImage("sub/a.jpg", WIDTH, HEIGHT, objects, extra={"tags": ["night"]}),
        CocoImage("b.png", WIDTH, HEIGHT, Instances.empty((HEIGHT, WIDTH), names)),
    ]
    return CocoDataset((Category(1, "cat"), Category(2, "dog")), images)


def coco_mask(shape: Shape, height: int, width: int) -> np.ndarray:
    """bool [H, W] of a shape rasterised by pycocotools alone: each part's exterior minus its holes."""
    out = np.zeros((height, width), bool)
    for part in shape.polygons:
        inside = mask_utils.decode(mask_utils.frPyObjects([part.exterior.ravel().tolist()], height, width))[..., 0]
        for hole in part.holes:
            inside &= ~mask_utils.decode(mask_utils.frPyObjects([hole.ravel().tolist()], height, width))[..., 0]
        out |= inside.astype(bool)
    return out


def source_masks() -> dict[str, list[tuple[str, np.ndarray]]]:
    """Per image file of the Datumaro fixtures' COCO source: (class, bool mask) of each annotation, by pycocotools."""
    data = json.loads(SOURCE_COCO.read_text())
    names = {c["id"]: c["name"] for c in data["categories"]}
    images = {i["id"]: i for i in data["images"]}
    out: dict[str, list[tuple[str, np.ndarray]]] = {i["file_name"]: [] for i in data["images"]}
    for ann in data["annotations"]:
        image = images[ann["image_id"]]
        h, w = image["height"], image["width"]
        rles = mask_utils.frPyObjects(ann["segmentation"], h, w)
        mask = mask_utils.decode(mask_utils.merge(rles) if isinstance(rles, list) else rles).astype(bool)
        out[image["file_name"]].append((names[ann["category_id"]], mask))
    return out


_DATUMARO_DUMP = r"""
import json, sys
import numpy as np
from datumaro.components.annotation import AnnotationType
from datumaro.components.dataset import Dataset
dataset = Dataset.import_from(sys.argv[1], sys.argv[2])
labels = dataset.categories()[AnnotationType.label]
out = {}
for item in dataset:
    anns = []
    for ann in item.annotations:
        entry = {"type": ann.type.name, "label": labels[ann.label].name if ann.label is not None else None,
                 "attributes": {k: v for k, v in ann.attributes.items()}}
        if ann.type == AnnotationType.mask:
            entry["pixels"] = np.flatnonzero(ann.image).tolist()
        elif hasattr(ann, "points"):
            entry["points"] = [float(p) for p in ann.points]
        anns.append(entry)
    out[item.id] = anns
print(json.dumps(out))
"""


def datumaro_python() -> str | None:
    """An interpreter with Datumaro: this one, or the one PROTOLABEL_DATUMARO_PYTHON names; None when neither."""
    try:
        import datumaro  # noqa: F401
    except ImportError:
        candidate = os.environ.get("PROTOLABEL_DATUMARO_PYTHON")
        return candidate if candidate and Path(candidate).exists() else None
    return sys.executable


def datumaro_read(python: str, path: Path, format_name: str) -> dict[str, list[dict]]:
    """What Datumaro's importer `format_name` reads at `path`: per item id, its annotations (type, label, pixels)."""
    result = subprocess.run(
        [python, "-c", _DATUMARO_DUMP, str(path), format_name], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
