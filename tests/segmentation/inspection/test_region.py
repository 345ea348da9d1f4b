import numpy as np
import pytest

from segmentation.geometry.polygons import shape_to_mask
from segmentation.inspection.region import clamp_region, novel_detections, predict_region


@pytest.fixture(scope="module")
def region(resnet50_engine, astronaut_bgr):
    return predict_region(resnet50_engine, astronaut_bgr, (300.4, 180, 460, 330.6))


def test_region_result_is_in_the_crop_frame_with_its_origin(region, resnet50_engine, astronaut_bgr):
    assert region.origin == (300, 180) and region.rect == (300, 180, 460, 331)
    det = region.detections
    assert det.image_size == (151, 160) and det.masks.shape[1:] == (151, 160)
    direct = resnet50_engine.predict_image(np.ascontiguousarray(astronaut_bgr[180:331, 300:460]))
    np.testing.assert_allclose(det.scores, direct.scores, atol=1e-5)
    boxes = region.boxes_in_image()
    assert np.all(boxes[:, 0] >= 300) and np.all(boxes[:, 2] <= 460)


def test_shapes_map_back_into_image_coordinates(region):
    i = int(np.argmax(region.detections.masks.sum(axis=(1, 2))))
    shape = region.shape_in_image(i)
    full = shape_to_mask(shape, 512, 512)
    inside = full[180:331, 300:460]
    mask = region.detections.masks[i]
    assert full.sum() == inside.sum()  # nothing outside the region
    assert np.logical_and(inside, mask).sum() / np.logical_or(inside, mask).sum() > 0.9


def test_duplicates_of_existing_objects_are_suppressed(region):
    det = region.detections
    everything = novel_detections(region, [])
    assert everything.tolist() == [i for i in range(len(det)) if det.masks[i].any()]
    first = int(everything[0])
    existing = [region.shape_in_image(first)]
    novel = novel_detections(region, existing)
    assert first not in novel.tolist()
    assert set(novel.tolist()) >= {i for i in everything.tolist()
                                   if not np.logical_and(det.masks[i], det.masks[first]).any()}


def test_region_is_clamped_and_must_not_be_tiny():
    assert clamp_region((-20, 10.5, 50, 90), (100, 40)) == (0, 10, 40, 90)
    with pytest.raises(ValueError, match="at least 8x8"):
        clamp_region((10, 10, 14, 60), (100, 100))
