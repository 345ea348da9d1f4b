"""Instances: equal-length fields indexed together, derived boxes/areas, built from engine detections."""

from __future__ import annotations

import numpy as np
import pytest

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.geometry.instances import Instances
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.geometry.shapes import Polygon, Shape

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def rect(x1, y1, x2, y2) -> Shape:
    return Shape((Polygon(np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], float)),))


@pytest.fixture
def three():
    return Instances(
        (100, 200),
        class_names=("cat", "dog"),
        shapes=[rect(0, 0, 10, 10), rect(20, 30, 60, 50), rect(5, 5, 6, 8)],
        classes=[0, 1, 1],
        scores=[0.9, 0.3, 0.7],
        provenance=["auto", "edited", "verified"],
        coefficients=np.arange(12, dtype=np.float32).reshape(3, 4),
    )


def test_boolean_mask_selects_all_fields_together(three):
    picked = three[three.scores > 0.5]
    assert len(picked) == 2
    assert picked.labels == ["cat", "dog"]
    assert picked.provenance.tolist() == ["auto", "verified"]
    assert picked.coefficients[:, 0].tolist() == [0.0, 8.0]
    assert picked.image_size == (100, 200) and picked.class_names == ("cat", "dog")


def test_int_slice_and_index_array(three):
    assert len(three[1]) == 1 and three[1].labels == ["dog"]
    assert three[-1].scores.tolist() == pytest.approx([0.7])
    assert three[1:].classes.tolist() == [1, 1]
    assert three[[2, 0]].scores.tolist() == pytest.approx([0.7, 0.9])
    with pytest.raises(IndexError):
        three[3]
    with pytest.raises(IndexError):
        three[np.array([True, False])]


def test_boxes_and_areas_are_derived_from_shapes(three):
    assert three.boxes.tolist() == [[0, 0, 10, 10], [20, 30, 60, 50], [5, 5, 6, 8]]
    assert three.areas.tolist() == [100, 800, 3]


def test_fields_must_have_equal_length_and_valid_values():
    with pytest.raises(ValueError, match="length"):
        Instances((10, 10), class_names=("a",), shapes=[rect(0, 0, 1, 1)], classes=[0, 0])
    with pytest.raises(ValueError, match="class index"):
        Instances((10, 10), class_names=("a",), shapes=[rect(0, 0, 1, 1)], classes=[1])
    with pytest.raises(ValueError, match="provenance"):
        Instances((10, 10), class_names=("a",), shapes=[rect(0, 0, 1, 1)], classes=[0], provenance="guessed")


def test_defaults_fields_are_read_only_and_cat(three):
    drawn = Instances(
        (100, 200),
        class_names=("cat", "dog"),
        shapes=[rect(1, 1, 4, 4)],
        classes=[1],
        provenance="edited",
        coefficients=np.zeros((1, 4), np.float32),
    )
    assert np.isnan(drawn.scores[0]) and not drawn.crowd[0]
    with pytest.raises(ValueError):
        drawn.scores[0] = 1.0
    both = Instances.cat([three, drawn])
    assert len(both) == 4 and both.provenance.tolist()[-1] == "edited"
    with pytest.raises(ValueError, match="fields"):
        Instances.cat([three, drawn.without_field("coefficients")])
    with pytest.raises(TypeError):
        iter(three)
    assert three.with_fields(scores=np.ones(3, np.float32)).scores.tolist() == [1, 1, 1]
    assert len(Instances.empty((5, 5), ("a",))) == 0


def _detections(masks: np.ndarray, classes, scores) -> Detections:
    d, h, w = masks.shape
    return Detections(
        image_size=(h, w),
        classes=np.asarray(classes, np.int64),
        scores=np.asarray(scores, np.float32),
        boxes=np.zeros((d, 4), np.float32),
        boxes_rel=np.zeros((d, 4), np.float32),
        masks=masks,
        coefficients=np.arange(d * 3, dtype=np.float32).reshape(d, 3),
        prototypes=np.zeros((4, 4, 3), np.float32),
        class_names=("person", "car", "dog"),
        category_ids=(1, 3, 18),
    )


def test_from_detections_converts_masks_and_maps_classes():
    masks = np.zeros((4, 60, 80), bool)
    masks[0, 5:40, 5:30] = True
    masks[1, 10:50, 40:75] = True
    masks[2, 0:1, 0:1] = True  # a speck only: dropped
    masks[3, 20:30, 20:30] = True  # a dog: not mapped, dropped
    det = _detections(masks, [0, 1, 0, 2], [0.9, 0.8, 0.7, 0.6])
    inst = det.to_instances(class_map={"person": "pedestrian", "car": "car"})
    assert inst.class_names == ("pedestrian", "car")
    assert inst.labels == ["pedestrian", "car"]
    assert inst.detection_index.tolist() == [0, 1]
    assert inst.coefficients.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert inst.provenance.tolist() == ["auto", "auto"]
    for shape, i in zip(inst.shapes, inst.detection_index):
        assert np.array_equal(shape_to_mask(shape, 60, 80), masks[i])

    everything = det.to_instances()
    assert everything.class_names == ("person", "car", "dog") and everything.labels == ["person", "car", "dog"]

    with pytest.raises(ValueError, match="not in the class names"):
        det.to_instances(class_map={"person": "rider"}, class_names=("car",))


def test_from_detections_with_no_detections():
    det = _detections(np.zeros((0, 20, 30), bool), [], [])
    inst = det.to_instances()
    assert len(inst) == 0 and inst.image_size == (20, 30) and inst.coefficients.shape == (0, 3)
