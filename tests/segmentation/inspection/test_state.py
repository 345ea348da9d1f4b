"""The inspector state: availability, selection by object, coefficient edits, display choices, derived pictures."""

from __future__ import annotations

import numpy as np
import pytest

from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.inspection.assembly import mask_stages
from protolabel.segmentation.inspection.cache import NO_OBJECT, ImageInference
from protolabel.segmentation.inspection.state import Availability, InspectorState, ScalingMode, SortMode


@pytest.fixture
def state(record):
    state = InspectorState()
    state.show_image("a.png")
    state.set_inference("a.png", ImageInference("a.png", (record,)))
    return state


def _recorder(state):
    seen = []
    for name in (
        "availability_changed",
        "record_changed",
        "detection_changed",
        "coefficients_changed",
        "enlarged_changed",
        "sort_changed",
        "scaling_changed",
        "leakage_changed",
    ):
        getattr(state.events, name).connect(lambda *args, n=name: seen.append(n))
    return seen


def test_availability_follows_the_image_and_its_cache(record):
    state = InspectorState()
    assert state.availability is Availability.NO_IMAGE
    state.show_image("a.png")
    assert state.availability is Availability.LOADING and state.record is None
    state.set_inference("b.png", ImageInference("b.png", (record,)))  # a late answer for another image
    assert state.availability is Availability.LOADING and state.inference is None
    state.set_inference("a.png", None)
    assert state.availability is Availability.MISSING
    state.set_inference("a.png", ImageInference("a.png", (record,)))
    assert state.availability is Availability.READY and state.record is record and state.detection is None


def test_selecting_an_object_selects_the_detection_it_came_from(state, record):
    seen = _recorder(state)
    assert state.select_object(11)
    assert state.detection == 0 and state.selected_object_id == 11
    np.testing.assert_array_equal(state.coefficients, record.coefficients[0])
    assert "detection_changed" in seen and "coefficients_changed" in seen
    assert not state.select_object(99)  # drawn by hand: no model output
    assert state.detection == 0
    state.select_detection(1)
    assert state.selected_object_id is None  # detection 1 became no object
    with pytest.raises(IndexError):
        state.select_detection(2)


def test_editing_coefficients_is_clipped_reported_and_reset(state, record):
    state.select_object(11)
    values = []
    state.events.coefficients_changed.connect(values.append)
    state.set_coefficient(0, 3.0)
    assert state.edited and state.coefficients[0] == pytest.approx(1.0)
    assert record.coefficients[0, 0] == pytest.approx(0.8)  # the cached run is never changed
    state.zero_prototype(2)
    assert state.coefficients.tolist() == pytest.approx([1.0, 0.0, 0.0, 0.0])
    state.set_coefficient(2, 0.0)  # no change, no event
    assert len(values) == 2
    state.reset()
    assert not state.edited and np.array_equal(values[-1], record.coefficients[0])
    state.select_detection(1)
    with pytest.raises(ValueError):
        InspectorState().set_coefficient(0, 1.0)


def test_live_mask_and_edited_shape_follow_the_coefficients(state, record):
    state.select_object(11)
    window = state.live_mask()
    expected = mask_stages(record.prototypes, record.coefficients[0], record.boxes_rel[0], record.frame_size).final
    np.testing.assert_array_equal(window.full(record.frame_size), expected)
    assert expected[30, 15] and not expected[:, 45:].any()  # the left disc, nothing in the right half
    shape = state.edited_shape(tolerance=0)
    np.testing.assert_array_equal(shape_to_mask(shape, 60, 80), expected)

    state.set_coefficient(1, 0.8)  # the right disc, but the box crops it away
    np.testing.assert_array_equal(state.live_mask().full(record.frame_size), expected)
    state.set_coefficient(0, 0.0)  # without its own disc nothing is left
    assert state.live_mask().empty and state.edited_shape().is_empty()


def test_region_runs_give_shapes_in_image_coordinates(make_record):
    region = make_record(object_ids=(NO_OBJECT, NO_OBJECT), frame_size=(30, 40), origin=(100, 50), region=True)
    state = InspectorState()
    state.show_image("a.png")
    state.set_inference("a.png", ImageInference("a.png", (region,)))
    assert state.record is region
    state.select_detection(0)
    shape = state.edited_shape(tolerance=0)
    x1, y1, x2, y2 = shape.bounds()
    assert 100 <= x1 < x2 <= 120 and 50 <= y1 < y2 <= 80
    assert region.box_in_image(0) == pytest.approx((100.0, 56.0, 120.0, 74.0))


def test_sort_orders_by_value_or_contribution(state):
    state.select_object(11)  # coefficients [0.8, 0, -0.4, 0]
    state.set_sort(SortMode.VALUE)
    assert state.coefficient_order().tolist() == [0, 1, 3, 2]
    state.set_sort(SortMode.CONTRIBUTION)  # |c P| in the box: the constant (2.0) beats the disc (mean < 4)
    strengths = state.strengths()
    assert strengths[1] == strengths[3] == 0
    assert state.coefficient_order().tolist()[:2] == sorted([0, 2], key=lambda j: -strengths[j])
    state.set_sort(SortMode.INDEX)
    assert state.coefficient_order().tolist() == [0, 1, 2, 3]


def test_scaling_summary_and_enlarged_prototype(state, record):
    lo, hi = state.prototype_ranges()
    assert lo.tolist() == [0, 0, 5, 0] and hi.tolist() == [5, 5, 5, 0]
    state.set_scaling(ScalingMode.SHARED)
    lo, hi = state.prototype_ranges()
    assert lo.tolist() == [0] * 4 and hi.tolist() == [5] * 4
    summary = state.summary()
    assert summary.dead.tolist() == [False, False, False, True]
    assert summary.ranking[0] == 2  # both masks lean on the constant prototype
    assert state.summary() is summary  # cached for the run
    state.toggle_enlarged(3)
    assert state.enlarged == 3
    state.toggle_enlarged(3)
    assert state.enlarged is None
    with pytest.raises(IndexError):
        state.set_enlarged(4)


def test_selection_survives_a_refresh_of_the_same_run(state, record, make_record):
    state.select_detection(1)
    state.set_coefficient(3, 0.5)
    linked = ImageInference("a.png", (record.with_object(1, 12),))
    state.set_inference("a.png", linked)
    assert state.detection == 1 and state.selected_object_id == 12
    newer = ImageInference("a.png", (make_record(object_ids=(21, 22)),))
    state.set_inference("a.png", newer)  # another run: the detection of object 12 is gone
    assert state.detection is None


def test_unapplied_edits_are_kept_per_detection(state, record):
    state.select_detection(0)
    state.set_coefficient(0, 0.1)
    state.select_detection(1)  # another detection: the edit of detection 0 waits, it is not dropped
    assert not state.edited and state.has_pending_edit(record, 0) and state.pending_count == 1
    np.testing.assert_array_equal(state.coefficients, record.coefficients[1])
    state.select_detection(None)
    state.select_detection(0)
    assert state.edited and state.coefficients[0] == pytest.approx(0.1)
    state.discard()
    assert not state.edited and not state.has_pending_edit(record, 0) and state.pending_count == 0


def test_applied_coefficients_become_the_baseline_until_forgotten(state, record):
    state.select_detection(0)
    state.set_coefficient(0, 0.5)
    key = state.mark_applied()
    assert key == (record.created, 0)
    assert state.applied and not state.edited and state.differs_from_model
    assert state.coefficients[0] == pytest.approx(0.5)
    state.select_detection(1)
    state.select_detection(0)  # still the applied coefficients
    assert state.coefficients[0] == pytest.approx(0.5)
    state.reset()  # back to the model's: an edit against what the object has
    assert state.edited and not state.differs_from_model
    np.testing.assert_array_equal(state.coefficients, record.coefficients[0])
    state.discard()
    state.set_applied(key, None)  # the apply was undone
    assert not state.applied and not state.edited
    np.testing.assert_array_equal(state.coefficients, record.coefficients[0])
