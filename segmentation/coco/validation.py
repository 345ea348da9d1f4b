"""Checks that a COCO file is what trainers expect: pycocotools loads it, it is self-consistent,
and evaluating it against itself gives AP 1.0."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pycocotools.mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from protolabel.segmentation.coco.reader import MAX_COCO_BYTES
from protolabel.segmentation.geometry.measures import ring_area
from protolabel.segmentation.input_files import read_input_text


@dataclass
class ValidationReport:
    """Problems found (empty when fine) and the self-evaluation APs (None when not run or not possible)."""

    problems: list[str] = field(default_factory=list)
    segm_ap: float | None = None
    bbox_ap: float | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.problems:
            shown = "\n  ".join(self.problems[:10])
            return f"{len(self.problems)} problem(s):\n  {shown}"
        aps = ", ".join(f"{k} AP {v:.3f}" for k, v in (("mask", self.segm_ap), ("box", self.bbox_ap)) if v is not None)
        return f"valid COCO file ({aps or 'no annotations to evaluate'})"


def validate_coco(source: str | os.PathLike | dict, *, self_evaluate: bool = True) -> ValidationReport:
    """Load with pycocotools, check ids/sizes/areas/boxes against the geometry, and self-evaluate."""
    report = ValidationReport()
    if isinstance(source, dict):
        data = source
    else:
        try:
            data = json.loads(read_input_text(source, MAX_COCO_BYTES, what="COCO file"))
        except (OSError, ValueError) as exc:
            report.problems.append(f"cannot read {source}: {exc}")
            return report
        except RecursionError:
            report.problems.append(f"cannot read {source}: lists or objects nested too deeply to be COCO data")
            return report
    try:
        coco = load_with_pycocotools(data)
    except Exception as exc:  # pycocotools asserts and raises KeyError on malformed input
        report.problems.append(f"pycocotools cannot load it: {type(exc).__name__}: {exc}")
        return report
    try:
        report.problems.extend(consistency_problems(data))
    except Exception as exc:  # records of the wrong type (a number where an object belongs, ...)
        report.problems.append(f"malformed records: {type(exc).__name__}: {exc}")
        return report
    if self_evaluate and report.ok and any(not a.get("iscrowd", 0) for a in data.get("annotations", [])):
        report.segm_ap = self_evaluation_ap(coco, "segm")
        report.bbox_ap = self_evaluation_ap(coco, "bbox")
        for name, ap in (("mask", report.segm_ap), ("box", report.bbox_ap)):
            if not math.isclose(ap, 1.0, abs_tol=1e-9):
                report.problems.append(f"evaluating the file against itself gives {name} AP {ap:.4f}, not 1.0")
    return report


def load_with_pycocotools(data: dict) -> COCO:
    """A pycocotools COCO object from a dict (quietly: pycocotools prints)."""
    coco = COCO()
    coco.dataset = copy.deepcopy(data)
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def consistency_problems(data: dict) -> list[str]:
    """Ids unique and resolvable, categories 1-based, sizes, areas and boxes matching the geometry."""
    problems: list[str] = []
    images = {img["id"]: img for img in data.get("images", [])}
    categories = {cat["id"]: cat for cat in data.get("categories", [])}
    for kind, items in (
        ("image", data.get("images", [])),
        ("annotation", data.get("annotations", [])),
        ("category", data.get("categories", [])),
    ):
        dup = [i for i, n in Counter(x.get("id") for x in items).items() if n > 1]
        if dup:
            problems.append(f"duplicate {kind} ids: {dup[:10]}")
    if any(not isinstance(c, int) or c < 1 for c in categories):
        problems.append(f"category ids must be integers >= 1 (no background class): {sorted(categories, key=str)}")
    for img in images.values():
        if not (isinstance(img.get("width"), int) and isinstance(img.get("height"), int)):
            problems.append(f"image {img['id']}: width/height missing or not integers")
    for ann in data.get("annotations", []):
        where = f"annotation {ann.get('id')}"
        img = images.get(ann.get("image_id"))
        if img is None:
            problems.append(f"{where}: unknown image_id {ann.get('image_id')}")
            continue
        if ann.get("category_id") not in categories:
            problems.append(f"{where}: unknown category_id {ann.get('category_id')}")
        seg = ann.get("segmentation")
        h, w = img["height"], img["width"]
        if isinstance(seg, dict):
            if list(seg.get("size", [])) != [h, w]:
                problems.append(f"{where}: RLE size {seg.get('size')} but the image is {h}x{w} (h x w)")
                continue
            rle = seg if isinstance(seg["counts"], str) else mask_utils.frPyObjects(seg, h, w)
            rle = {
                "size": rle["size"],
                "counts": rle["counts"].encode() if isinstance(rle["counts"], str) else rle["counts"],
            }
            area = float(mask_utils.area(rle))
            bbox = [float(v) for v in mask_utils.toBbox(rle)]
        elif isinstance(seg, list) and seg:
            rings = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in seg]
            area = sum(ring_area(r) for r in rings)
            pts = np.concatenate(rings)
            (x1, y1), (x2, y2) = pts.min(axis=0), pts.max(axis=0)
            bbox = [x1, y1, x2 - x1, y2 - y1]
        else:
            problems.append(f"{where}: no segmentation")
            continue
        if not math.isclose(float(ann.get("area", -1)), area, rel_tol=1e-6, abs_tol=1e-6):
            problems.append(f"{where}: area {ann.get('area')} but the geometry gives {area}")
        if len(ann.get("bbox", [])) != 4 or not np.allclose(ann["bbox"], bbox, rtol=1e-6, atol=1e-6):
            problems.append(f"{where}: bbox {ann.get('bbox')} but the geometry gives {[round(v, 3) for v in bbox]}")
        if len(problems) >= 100:
            break
    return problems


def self_evaluation_ap(coco: COCO, iou_type: str) -> float:
    """AP@[.5:.95] of the file's own annotations scored 1.0 against themselves."""
    results: list[dict[str, Any]] = []
    for ann in coco.dataset.get("annotations", []):
        if ann.get("iscrowd", 0):
            continue
        result = {"image_id": ann["image_id"], "category_id": ann["category_id"], "score": 1.0}
        if iou_type == "segm":
            result["segmentation"] = coco.annToRLE(ann)
        else:
            result["bbox"] = list(ann["bbox"])
        results.append(result)
    per_image = Counter(r["image_id"] for r in results)
    with contextlib.redirect_stdout(io.StringIO()):
        detections = coco.loadRes(results)
        evaluator = COCOeval(coco, detections, iou_type)
        evaluator.params.maxDets = [1, 10, max(100, max(per_image.values()))]
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return float(evaluator.stats[0])
