import numpy as np

from protolabel.segmentation.geometry.box_masks import BoxMasks
from protolabel.segmentation.geometry.outlines import mask_to_shape
from protolabel.segmentation.inspection.matching import match_detections_to_objects


def _box(h, w, x0, y0, x1, y1):
    mask = np.zeros((h, w), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_each_object_goes_to_the_best_scoring_detection_that_overlaps_it_enough():
    a = _box(40, 40, 0, 0, 20, 20)
    b = _box(40, 40, 20, 20, 40, 40)
    masks = BoxMasks.from_dense(
        np.stack([a, _box(40, 40, 1, 0, 20, 20), b, _box(40, 40, 0, 20, 10, 40), np.zeros((40, 40), bool)])
    )
    objects = [(7, mask_to_shape(a, tolerance=0)), (9, mask_to_shape(_box(40, 40, 22, 22, 40, 40), tolerance=0))]
    # row 1 is a near-duplicate of row 0 but object 7 is taken; row 3 overlaps nothing; row 4 is empty
    assert match_detections_to_objects(masks, objects) == {0: 7, 2: 9}
    assert match_detections_to_objects(masks, objects, iou_threshold=0.95) == {0: 7}
    assert match_detections_to_objects(masks.select(slice(0, 0)), objects) == {}


def test_an_object_partly_outside_the_detection_window_counts_whole():
    # the detection's crop covers only its own 10x10 square; the object is twice as wide, so IoU 0.5
    # (not above the threshold) although inside the detection's window they agree pixel for pixel
    det = BoxMasks.from_dense(_box(50, 60, 10, 10, 20, 20)[None])
    wide = mask_to_shape(_box(50, 60, 10, 10, 30, 20), tolerance=0)
    assert det.window(0) == (10, 10, 20, 20)
    assert match_detections_to_objects(det, [(1, wide)]) == {}
    assert match_detections_to_objects(det, [(1, wide)], iou_threshold=0.49) == {0: 1}
