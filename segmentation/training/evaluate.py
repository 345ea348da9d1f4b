"""Box and mask AP of a model on validation images, with pycocotools, through the inference engine.

Predictions come from `YolactEngine.from_model`, so they are exactly what `protolabel
predict` would give for the same weights. The ground truth is the validation data written
by our COCO export (areas, boxes, crowd regions as pycocotools expects them).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from protolabel.segmentation.coco import to_coco_dict
from protolabel.segmentation.detections import Detections
from protolabel.segmentation.engine import YolactEngine
from protolabel.segmentation.training.dataset import TrainingImages
from protolabel.segmentation.yolact.checkpoint import ModelInfo
from protolabel.segmentation.yolact.model import Yolact

# COCOeval.stats positions and the names written to metrics.json
METRIC_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
REPORTED = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR100")


@dataclass(frozen=True)
class Evaluation:
    """COCO metrics on the validation images; a value is None where no ground truth falls in that range."""

    box: dict[str, float | None]
    mask: dict[str, float | None]
    images: int
    detections: int

    def as_dict(self) -> dict:
        return {"box": self.box, "mask": self.mask, "images": self.images, "detections": self.detections}


def evaluate(
    model: Yolact,
    info: ModelInfo,
    images: TrainingImages,
    device: torch.device | str = "cpu",
    batch_size: int = 4,
    should_stop: Callable[[], bool] | None = None,
) -> Evaluation | None:
    """Run the model on every validation image and score it; None when stopped early."""
    engine = YolactEngine.from_model(model, info, device)
    ground_truth = to_coco_dict(images.dataset)
    ids = [record["id"] for record in ground_truth["images"]]
    category_of_class = _category_ids(info.class_names, ground_truth["categories"])
    results: list[dict] = []
    for start in range(0, len(images), batch_size):
        if should_stop is not None and should_stop():
            return None
        batch = list(range(start, min(start + batch_size, len(images))))
        detections = engine.predict([images.read(i) for i in batch])
        for i, det in zip(batch, detections):
            results.extend(_results(ids[i], det, category_of_class))
    box = _coco_metrics(ground_truth, results, "bbox")
    mask = _coco_metrics(ground_truth, results, "segm")
    return Evaluation(box, mask, len(images), len(results))


def _category_ids(class_names: tuple[str, ...], categories: list[dict]) -> list[int | None]:
    """Validation category id of each model class (None for classes the validation file lacks)."""
    by_name = {c["name"]: c["id"] for c in categories}
    return [by_name.get(name) for name in class_names]


def _results(image_id: int, det: Detections, category_of_class: list[int | None]) -> list[dict]:
    out = []
    for k in range(len(det)):
        category = category_of_class[int(det.classes[k])]
        if category is None:
            continue
        x1, y1, x2, y2 = (float(v) for v in det.boxes[k])
        rle = det.masks.to_rle(k)  # from the box-local crop, `counts` already a str
        out.append(
            {
                "image_id": image_id,
                "category_id": category,
                "score": float(det.scores[k]),
                "bbox": [x1, y1, max(0.0, x2 - x1), max(0.0, y2 - y1)],
                "segmentation": rle,
            }
        )
    return out


def _coco_metrics(ground_truth: dict, results: list[dict], iou_type: str) -> dict[str, float | None]:
    has_objects = any(not a.get("iscrowd", 0) for a in ground_truth["annotations"])
    if not results or not has_objects:
        value = 0.0 if has_objects else None
        return {name: value for name in REPORTED}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress; our stdout is a protocol
        gt = COCO()
        gt.dataset = ground_truth
        gt.createIndex()
        # One result list per type: with both keys pycocotools would take a mask's area from its box.
        drop = "segmentation" if iou_type == "bbox" else "bbox"
        dt = gt.loadRes([{k: v for k, v in r.items() if k != drop} for r in results])
        evaluator = COCOeval(gt, dt, iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = dict(zip(METRIC_NAMES, evaluator.stats.tolist()))
    return {name: (None if stats[name] < 0 else round(float(stats[name]), 6)) for name in REPORTED}
