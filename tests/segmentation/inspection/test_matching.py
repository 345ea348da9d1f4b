import numpy as np

from segmentation.geometry.polygons import mask_to_shape
from segmentation.inspection.matching import match_detections_to_objects


def _box(h, w, x0, y0, x1, y1):
    mask = np.zeros((h, w), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_each_object_goes_to_the_best_scoring_detection_that_overlaps_it_enough():
    a = _box(40, 40, 0, 0, 20, 20)
    b = _box(40, 40, 20, 20, 40, 40)
    masks = np.stack([a, _box(40, 40, 1, 0, 20, 20), b, _box(40, 40, 0, 20, 10, 40), np.zeros((40, 40), bool)])
    objects = [(7, mask_to_shape(a, tolerance=0)), (9, mask_to_shape(_box(40, 40, 22, 22, 40, 40), tolerance=0))]
    # row 1 is a near-duplicate of row 0 but object 7 is taken; row 3 overlaps nothing; row 4 is empty
    assert match_detections_to_objects(masks, objects) == {0: 7, 2: 9}
    assert match_detections_to_objects(masks, objects, iou_threshold=0.95) == {0: 7}
    assert match_detections_to_objects(masks[:0], objects) == {}
