"""Writing a CocoDataset as a COCO instance-segmentation file that trainers accept.

Rules (each one a thing other tools get wrong):
- categories keep their ids (>= 1, no background class); new datasets number them 1..N;
- annotation ids are 1..M in image order, unique;
- an object without holes is written as polygon lists with iscrowd 0 (all parts);
  one with holes as compressed RLE with iscrowd 0 (COCO polygon lists cannot cut holes);
  a crowd region (imported iscrowd 1) as RLE with iscrowd 1;
- `area` and `bbox` are derived from the geometry at write time: the polygon area for
  polygons, the pixel count for RLE (as in COCO itself); bbox from the outline (polygons)
  or the rasterised mask (RLE);
- our own fields stay out of the standard ones: `score` (model score, absent for
  objects a person drew) and `source` (auto / edited / verified);
- the file is written atomically.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np
import pycocotools.mask as mask_utils

from segmentation.coco.dataset import CocoDataset, CocoImage
from segmentation.files import atomic_write_text
from segmentation.geometry.shapes import Shape
from segmentation.geometry.polygons import shape_to_rle

STANDARD_ANNOTATION_KEYS = frozenset(
    {"id", "image_id", "category_id", "segmentation", "area", "bbox", "iscrowd", "score", "source"}
)
STANDARD_IMAGE_KEYS = frozenset({"id", "file_name", "width", "height"})


def write_coco(path: str | os.PathLike, dataset: CocoDataset) -> dict[str, Any]:
    """Write `dataset` to `path` atomically (temp file, fsync, rename); returns the written dict."""
    data = to_coco_dict(dataset)
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
    return data


def to_coco_dict(dataset: CocoDataset) -> dict[str, Any]:
    """The COCO JSON structure of a dataset (see the module docstring for the rules)."""
    category_ids = [c.id for c in dataset.categories]
    images, annotations = [], []
    image_ids = _image_ids(dataset.images)
    for image, image_id in zip(dataset.images, image_ids):
        inst = image.instances
        if inst.class_names != dataset.category_names:
            raise ValueError(
                f"{image.file_name}: objects use classes {list(inst.class_names)}, "
                f"the dataset's categories are {list(dataset.category_names)}"
            )
        record = {k: v for k, v in image.extra.items() if k not in STANDARD_IMAGE_KEYS}
        record.update(id=image_id, file_name=image.file_name, width=image.width, height=image.height)
        images.append(record)
        attributes = inst.attributes if inst.has("attributes") else None
        for i in range(len(inst)):
            shape: Shape = inst.shapes[i]
            if shape.is_empty():
                continue
            ann = {"id": len(annotations) + 1, "image_id": image_id, "category_id": category_ids[inst.classes[i]]}
            ann.update(_annotation(shape, bool(inst.crowd[i]), image))
            score = float(inst.scores[i])
            if not math.isnan(score):
                ann["score"] = round(score, 6)
            ann["source"] = str(inst.provenance[i])
            if attributes is not None and attributes[i]:
                ann.update({k: v for k, v in attributes[i].items() if k not in STANDARD_ANNOTATION_KEYS})
            annotations.append(ann)
    out: dict[str, Any] = {}
    if dataset.info is not None:
        out["info"] = dict(dataset.info)
    if dataset.licenses is not None:
        out["licenses"] = list(dataset.licenses)
    out["images"] = images
    out["annotations"] = annotations
    out["categories"] = [
        {"id": c.id, "name": c.name, "supercategory": c.supercategory} for c in dataset.categories
    ]
    return out


def _annotation(shape: Shape, crowd: bool, image: CocoImage) -> dict[str, Any]:
    """segmentation, area, bbox and iscrowd of one object, all from its geometry."""
    if crowd or shape.has_holes:
        rle = shape_to_rle(shape, image.height, image.width)
        encoded = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
        x, y, w, h = (float(v) for v in mask_utils.toBbox(encoded))
        return {
            "segmentation": rle,
            "area": int(mask_utils.area(encoded)),
            "bbox": [x, y, w, h],
            "iscrowd": int(crowd),
        }
    polygons, area = [], 0.0
    x1 = y1 = math.inf
    x2 = y2 = -math.inf
    for part in shape.polygons:
        ring = part.exterior
        if len(ring) < 3:
            continue
        xs, ys = ring[:, 0], ring[:, 1]
        area += abs(float(xs @ np.roll(ys, -1) - ys @ np.roll(xs, -1))) / 2.0
        lo, hi = ring.min(axis=0), ring.max(axis=0)
        x1, y1, x2, y2 = min(x1, lo[0]), min(y1, lo[1]), max(x2, hi[0]), max(y2, hi[1])
        polygons.append(_coords(ring))
    return {
        "segmentation": polygons,
        "area": area,
        "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
        "iscrowd": 0,
    }


def _coords(ring: np.ndarray) -> list:
    """Flat [x1, y1, x2, y2, ...]; whole-pixel coordinates as ints (shorter files, same values)."""
    flat = ring.ravel()
    as_int = flat.astype(np.int64)
    return as_int.tolist() if np.array_equal(as_int, flat) else flat.tolist()


def _image_ids(images: list[CocoImage]) -> list[int]:
    """Given ids are kept; images without one get the next free ids."""
    given = [img.id for img in images if img.id is not None]
    if len(set(given)) != len(given):
        dup = sorted({i for i in given if given.count(i) > 1})
        raise ValueError(f"duplicate image ids {dup[:10]}")
    next_id = max(given, default=0) + 1
    out = []
    for img in images:
        if img.id is None:
            out.append(next_id)
            next_id += 1
        else:
            out.append(int(img.id))
    return out
