import numpy as np
import pytest

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.inspection.region import RegionDetections, clamp_region, novel_detections, predict_region


@pytest.fixture(scope="module")
def region(resnet50_engine, astronaut_bgr):
    return predict_region(resnet50_engine, astronaut_bgr, (300.4, 180, 460, 330.6))


def test_region_result_is_in_the_crop_frame_with_its_origin(region, resnet50_engine, astronaut_bgr):
    assert region.origin == (300, 180) and region.rect == (300, 180, 460, 331)
    det = region.detections
    assert det.image_size == (151, 160) and det.masks.image_size == (151, 160)
    direct = resnet50_engine.predict_image(np.ascontiguousarray(astronaut_bgr[180:331, 300:460]))
    np.testing.assert_allclose(det.scores, direct.scores, atol=1e-5)
    boxes = region.boxes_in_image()
    assert np.all(boxes[:, 0] >= 300) and np.all(boxes[:, 2] <= 460)


def test_shapes_map_back_into_image_coordinates(region):
    i = int(np.argmax(region.detections.masks.areas))
    shape = region.shape_in_image(i)
    full = shape_to_mask(shape, 512, 512)
    inside = full[180:331, 300:460]
    mask = region.detections.masks.dense(i)
    assert full.sum() == inside.sum()  # nothing outside the region
    assert np.logical_and(inside, mask).sum() / np.logical_or(inside, mask).sum() > 0.9


def _rectangle(x0, y0, x1, y1) -> Shape:
    """The pixels x0..x1-1, y0..y1-1 (COCO's pixel-square convention)."""
    return Shape((Polygon(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)),))


def _square_masks(size, squares) -> np.ndarray:
    masks = np.zeros((len(squares), size, size), bool)
    for mask, square in zip(masks, squares):
        if square is not None:
            x0, y0, x1, y1 = square
            mask[y0:y1, x0:x1] = True
    return masks


def test_duplicates_of_existing_objects_are_suppressed():
    # A 40x40 region at (100, 200) of the image with four detections (crop coordinates):
    squares = [
        (0, 0, 10, 10),  # 0: exactly an existing object -> IoU 1, dropped
        (4, 0, 14, 10),  # 1: shifted 4 px from it -> IoU 60/140 = 0.43, kept
        (30, 20, 40, 30),  # 2: at the right edge; the existing object goes on outside the region
        None,  # 3: an empty mask is never offered
        (20, 30, 30, 40),
    ]  # 4: an existing object covers 6 of its 10 rows -> IoU 0.6, dropped
    masks = _square_masks(40, squares)
    d = len(squares)
    det = Detections(
        image_size=(40, 40),
        classes=np.zeros(d, np.int64),
        scores=np.linspace(0.9, 0.5, d, dtype=np.float32),
        boxes=np.zeros((d, 4), np.float32),
        boxes_rel=np.zeros((d, 4), np.float32),
        masks=masks,
        coefficients=np.zeros((d, 4), np.float32),
        prototypes=np.zeros((8, 8, 4), np.float32),
        class_names=("thing",),
        category_ids=(1,),
    )
    region = RegionDetections(det, (100, 200))
    existing = [
        _rectangle(100, 200, 110, 210),
        _rectangle(130, 220, 180, 230),  # 50 px wide in the image: IoU 0.2 overall, 1.0 inside the region
        _rectangle(120, 230, 130, 236),
    ]
    assert shape_to_mask(existing[0], 300, 300)[200:210, 100:110].all()  # the convention the squares assume
    assert shape_to_mask(existing[0], 300, 300).sum() == 100
    assert novel_detections(region, []).tolist() == [0, 1, 2, 4]
    assert novel_detections(region, existing).tolist() == [1]
    assert novel_detections(region, existing, iou_threshold=0.7).tolist() == [1, 4]  # 0.6 is under 0.7


def test_a_real_detection_is_a_duplicate_of_its_own_outline(region):
    det = region.detections
    everything = novel_detections(region, [])
    assert len(everything) > 1 and all(det.masks.area(i) > 0 for i in everything)
    first = int(everything[0])
    novel = novel_detections(region, [region.shape_in_image(first)])
    assert first not in novel.tolist()
    dense = det.masks.to_dense()
    apart = {i for i in everything.tolist() if not np.logical_and(dense[i], dense[first]).any()}
    assert apart and set(novel.tolist()) >= apart  # objects elsewhere are still offered


def test_region_is_clamped_and_must_not_be_tiny():
    assert clamp_region((-20, 10.5, 50, 90), (100, 40)) == (0, 10, 40, 90)
    with pytest.raises(ValueError, match="at least 8x8"):
        clamp_region((10, 10, 14, 60), (100, 100))
