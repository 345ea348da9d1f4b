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

import contextlib
import gc
import json
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pycocotools.mask as mask_utils

from protolabel.segmentation.coco.dataset import CocoDataset, CocoImage
from protolabel.segmentation.files import write_output_text
from protolabel.segmentation.geometry.rasterise import shape_to_rle
from protolabel.segmentation.geometry.shapes import Shape

STANDARD_ANNOTATION_KEYS = frozenset(
    {"id", "image_id", "category_id", "segmentation", "area", "bbox", "iscrowd", "score", "source"}
)
STANDARD_IMAGE_KEYS = frozenset({"id", "file_name", "width", "height"})


def write_coco(path: str | os.PathLike, dataset: CocoDataset) -> dict[str, Any]:
    """Write `dataset` to `path` atomically (temp file, fsync, rename), or through to a stream (a pipe,
    /dev/stdout) that the caller accepted; returns the written dict."""
    data = to_coco_dict(dataset)
    with gc_paused():
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False)
    write_output_text(path, text)
    return data


CHUNK_IMAGES = 256  # images whose polygons are measured together (vectorised, bounded memory)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large acyclic structures: its repeated
    full scans of a growing heap would otherwise cost more than the work itself."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def to_coco_dict(dataset: CocoDataset) -> dict[str, Any]:
    """The COCO JSON structure of a dataset (see the module docstring for the rules)."""
    with gc_paused():
        return _to_coco_dict(dataset)


def _to_coco_dict(dataset: CocoDataset) -> dict[str, Any]:
    category_ids = [c.id for c in dataset.categories]
    images, annotations = [], []
    image_ids = _image_ids(dataset.images)
    for first in range(0, len(dataset.images), CHUNK_IMAGES):
        chunk = list(zip(dataset.images[first : first + CHUNK_IMAGES], image_ids[first : first + CHUNK_IMAGES]))
        columns = []
        polygon_shapes: list[Shape] = []
        for image, _ in chunk:
            inst = image.instances
            if inst.class_names != dataset.category_names:
                raise ValueError(
                    f"{image.file_name}: objects use classes {list(inst.class_names)}, "
                    f"the dataset's categories are {list(dataset.category_names)}"
                )
            shapes, crowd = inst.shapes.tolist(), inst.crowd.tolist()
            as_polygons = [not (c or s.has_holes) for s, c in zip(shapes, crowd)]
            polygon_shapes.extend(s for s, flag in zip(shapes, as_polygons) if flag)
            columns.append((shapes, crowd, as_polygons))
        polygon_geometry = iter(_polygon_geometry(polygon_shapes))
        for (image, image_id), (shapes, crowd, as_polygons) in zip(chunk, columns):
            record = {k: v for k, v in image.extra.items() if k not in STANDARD_IMAGE_KEYS}
            record.update(id=image_id, file_name=image.file_name, width=image.width, height=image.height)
            images.append(record)
            inst = image.instances
            attributes = inst.attributes.tolist() if inst.has("attributes") else None
            classes, scores, sources = inst.classes.tolist(), inst.scores.tolist(), inst.provenance.tolist()
            for i, shape in enumerate(shapes):
                geometry = next(polygon_geometry) if as_polygons[i] else _rle_geometry(shape, crowd[i], image)
                if geometry is None:  # an empty shape has nothing to write
                    continue
                ann = {"id": len(annotations) + 1, "image_id": image_id, "category_id": category_ids[classes[i]]}
                ann.update(geometry)
                if scores[i] == scores[i]:  # not NaN: a model score
                    ann["score"] = round(scores[i], 6)
                ann["source"] = sources[i]
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
    out["categories"] = [{"id": c.id, "name": c.name, "supercategory": c.supercategory} for c in dataset.categories]
    return out


def _rle_geometry(shape: Shape, crowd: bool, image: CocoImage) -> dict[str, Any] | None:
    """segmentation (RLE), area (pixel count), bbox and iscrowd of an object with holes or a crowd region."""
    if shape.is_empty():
        return None
    rle = shape_to_rle(shape, image.height, image.width)
    encoded = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
    x, y, w, h = (float(v) for v in mask_utils.toBbox(encoded))
    return {"segmentation": rle, "area": int(mask_utils.area(encoded)), "bbox": [x, y, w, h], "iscrowd": int(crowd)}


def _polygon_geometry(shapes: list[Shape]) -> list[dict[str, Any] | None]:
    """segmentation (polygon lists), area (polygon area) and bbox of each shape, computed for all
    rings at once (per-ring numpy calls would dominate a large export)."""
    rings = [(k, part.exterior) for k, shape in enumerate(shapes) for part in shape.polygons if len(part.exterior) >= 3]
    out: list[dict[str, Any] | None] = [None] * len(shapes)
    if not rings:
        return out
    lengths = np.fromiter((len(r) for _, r in rings), np.int64, len(rings))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    pts = np.concatenate([r for _, r in rings])
    nxt = np.arange(1, len(pts) + 1)
    nxt[ends - 1] = starts
    cross = pts[:, 0] * pts[nxt, 1] - pts[:, 1] * pts[nxt, 0]
    ring_areas = (np.abs(np.add.reduceat(cross, starts)) / 2.0).tolist()
    boxes = np.concatenate([np.minimum.reduceat(pts, starts), np.maximum.reduceat(pts, starts)], axis=1).tolist()
    flat = pts.ravel()
    as_int = flat.astype(np.int64)
    ring_is_int = np.logical_and.reduceat(as_int == flat, 2 * starts)
    all_int = bool(ring_is_int.all())
    ints = as_int.tolist() if ring_is_int.any() else None  # whole pixels as ints: shorter files
    floats = None if all_int else flat.tolist()
    ring_is_int = ring_is_int.tolist()
    bounds = (2 * np.stack([starts, ends], axis=1)).tolist()
    for r, (k, _) in enumerate(rings):
        a, b = bounds[r]
        coords = ints[a:b] if ring_is_int[r] else floats[a:b]
        entry = out[k]
        if entry is None:
            out[k] = {"segmentation": [coords], "area": ring_areas[r], "bbox": boxes[r], "iscrowd": 0}
        else:
            entry["segmentation"].append(coords)
            entry["area"] += ring_areas[r]
            x1, y1, x2, y2 = entry["bbox"]
            u1, v1, u2, v2 = boxes[r]
            entry["bbox"] = [min(x1, u1), min(y1, v1), max(x2, u2), max(y2, v2)]
    for entry in out:
        if entry is not None:
            x1, y1, x2, y2 = entry["bbox"]
            entry["bbox"] = [x1, y1, x2 - x1, y2 - y1]
    return out


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
