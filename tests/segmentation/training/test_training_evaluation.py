import numpy as np
import pytest
from pycocotools import mask as mask_utils

from protolabel.segmentation.coco import to_coco_dict
from protolabel.segmentation.detections import Detections
from protolabel.segmentation.training.dataset import TrainingImages
from protolabel.segmentation.training.evaluate import _coco_metrics, _results
from tests.segmentation.training.synthetic_shapes import write_dataset


@pytest.fixture
def ground_truth(tmp_path):
    coco = write_dataset(tmp_path, 3, size=(64, 64))
    return to_coco_dict(TrainingImages.from_file(coco, tmp_path / "images").dataset)


def test_the_ground_truth_itself_scores_ap_one_and_nothing_scores_zero(ground_truth):
    results = []
    for ann in ground_truth["annotations"]:
        image = next(i for i in ground_truth["images"] if i["id"] == ann["image_id"])
        rle = mask_utils.frPyObjects(ann["segmentation"], image["height"], image["width"])
        rle = mask_utils.merge(rle) if isinstance(rle, list) else rle
        rle["counts"] = rle["counts"].decode("ascii")
        results.append(
            {
                "image_id": ann["image_id"],
                "category_id": ann["category_id"],
                "score": 0.9,
                "bbox": ann["bbox"],
                "segmentation": rle,
            }
        )
    box = _coco_metrics(ground_truth, results, "bbox")
    mask = _coco_metrics(ground_truth, results, "segm")
    assert box["AP"] == pytest.approx(1.0) and mask["AP"] == pytest.approx(1.0)
    assert _coco_metrics(ground_truth, [], "segm")["AP"] == 0.0
    empty = dict(ground_truth, annotations=[])
    assert _coco_metrics(empty, results, "bbox")["AP"] is None  # nothing to find: no number, not a zero


def test_detections_become_coco_results_with_the_validation_category_ids():
    masks = np.zeros((2, 8, 10), bool)
    masks[0, 2:5, 3:7] = True
    det = Detections(
        (8, 10),
        np.array([1, 0]),
        np.array([0.9, 0.4], np.float32),
        np.array([[3, 2, 7, 5], [0, 0, 2, 2]], np.float32),
        np.zeros((2, 4), np.float32),
        masks,
        np.zeros((2, 4), np.float32),
        np.zeros((2, 2, 4), np.float32),
        ("disc", "square"),
        (1, 2),
    )
    results = _results(5, det, [None, 12])  # class 0 ("disc") is not in the validation file
    assert len(results) == 1
    assert results[0]["category_id"] == 12 and results[0]["image_id"] == 5
    assert results[0]["bbox"] == [3.0, 2.0, 4.0, 3.0]
    assert mask_utils.area({"size": [8, 10], "counts": results[0]["segmentation"]["counts"].encode()}) == 12
