"""The inspector's ledger: region offers, applied edits that follow undo and redo, and the reasons cache."""

from __future__ import annotations

import numpy as np

from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.inspection.cache import NO_OBJECT
from protolabel.segmentation.inspection.ledger import AppliedEdit, InspectorLedger, addable_row
from protolabel.segmentation.inspection.reasons import not_kept_reason


def _box(x0, y0, x1, y1) -> Shape:
    return Shape((Polygon(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)),))


def test_region_offers_are_kept_per_run_and_only_rows_not_yet_objects_are_new(make_record):
    ledger = InspectorLedger()
    record = make_record(object_ids=(NO_OBJECT, NO_OBJECT), origin=(10, 20), frame_size=(30, 40), region=True)
    assert ledger.new_offers(record, lambda r, row: True) == [] and not ledger.is_offered(record.created, 0)
    ledger.offer(record.created, (10, 20, 50, 50), {1: _box(0, 0, 5, 5), 0: _box(5, 5, 9, 9)})
    assert ledger.new_offers(record, lambda r, row: True) == [0, 1]
    assert ledger.new_offers(record, lambda r, row: row != 0) == [1]  # row 0 became an object
    assert (
        ledger.offered_shape(record.created, 1) == _box(0, 0, 5, 5) and ledger.offered_shape(record.created, 2) is None
    )
    assert ledger.region_rect(record) == (10, 20, 50, 50)


def test_a_region_run_from_an_earlier_session_covers_its_frame_at_its_origin(make_record):
    record = make_record(origin=(10, 20), frame_size=(30, 40), region=True)  # frame_size is (h, w)
    assert InspectorLedger().region_rect(record) == (10, 20, 50, 50)


def test_a_detection_is_addable_unless_it_is_a_living_object(make_record):
    record = make_record(object_ids=(11, NO_OBJECT))
    assert not addable_row(record, 0, lambda i: i == 11)
    assert addable_row(record, 0, lambda i: False)  # object 11 was deleted
    assert addable_row(record, 1, lambda i: True)  # never linked to an object


def test_an_applied_edit_shows_its_coefficients_only_while_the_object_keeps_its_shape():
    ledger = InspectorLedger()
    coefficients = np.array([0.1, 0.2], np.float32)
    edited = _box(0, 0, 5, 5)
    ledger.remember_applied((1.0, 0), AppliedEdit("a.png", 7, edited, coefficients))
    ledger.remember_applied((2.0, 0), AppliedEdit("b.png", 8, edited, coefficients))
    shapes = {7: edited}
    now = ledger.applied_now("a.png", shapes.get)
    assert [key for key, _ in now] == [(1.0, 0)] and now[0][1] is coefficients
    shapes[7] = _box(0, 0, 6, 6)  # undo took the edited shape away
    assert ledger.applied_now("a.png", shapes.get) == [((1.0, 0), None)]
    del shapes[7]  # the object is gone
    assert ledger.applied_now("a.png", shapes.get) == [((1.0, 0), None)]
    ledger.forget_applied()
    assert ledger.applied_now("a.png", shapes.get) == [] and ledger.applied_now(None, shapes.get) == []


def test_reasons_are_computed_once_per_rule_inputs_and_again_after_the_objects_change(record):
    ledger = InspectorLedger()
    reads = []

    def objects():
        reads.append("objects")
        return [(7, _box(0, 0, 5, 5))]

    def ask(threshold=0.3, mapping="m1"):
        return ledger.reason(
            record,
            1,
            objects=objects,
            rejected=lambda: [],
            label_for=lambda name: name,
            score_threshold=threshold,
            mapping_key=mapping,
        )

    expected = not_kept_reason(record, 1, [(7, _box(0, 0, 5, 5))], label_for=lambda n: n, score_threshold=0.3)
    assert ask() == expected == ask() and reads == ["objects"]
    assert ask(threshold=0.7) == "score 0.70 is not above the threshold 0.70" and reads == ["objects"]
    ledger.forget_objects()
    assert ask() == expected and reads == ["objects", "objects"]
