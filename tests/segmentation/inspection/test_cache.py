"""The inference cache: exact round trips on disk, LRU in memory and on disk, links to objects, damaged files."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.inspection.assembly import masks_from_parts, pixel_boxes_for_crop
from protolabel.segmentation.inspection.cache import (
    NO_OBJECT,
    ImageInference,
    InferenceCache,
    InferenceCacheError,
    InferenceRecord,
)
from protolabel.segmentation.project.autolabel import AutoLabelJob, AutoLabelSettings
from protolabel.segmentation.project.store import ProjectStore


def _same(a: InferenceRecord, b: InferenceRecord) -> None:
    for key in ("prototypes", "coefficients", "boxes_rel", "classes", "scores", "object_ids"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
        assert getattr(a, key).dtype == getattr(b, key).dtype
    assert (a.frame_size, a.origin, a.class_names, a.region, a.model, a.created) == (
        b.frame_size,
        b.origin,
        b.class_names,
        b.region,
        b.model,
        b.created,
    )


def test_runs_survive_a_new_cache_instance_bit_for_bit(tmp_path, record, make_record):
    cache = InferenceCache(tmp_path)
    name = "sub dir/ünïcode photo.png"
    cache.record_image_run(name, record)
    region = make_record(object_ids=(NO_OBJECT, NO_OBJECT), frame_size=(30, 40), origin=(7, 9), region=True)
    _, index = cache.add_region(name, region)
    assert index == 1
    path = cache.path_for(name)
    assert path.parent == tmp_path / ".protolabel" / "inference" and path.is_file()
    assert not list(path.parent.glob("*.tmp"))  # written atomically

    again = InferenceCache(tmp_path).get(name)
    assert again.name == name and len(again.records) == 2
    _same(again.records[0], record)
    _same(again.records[1], region)
    assert InferenceCache(tmp_path).get("other.png") is None


def test_objects_are_found_in_the_latest_run_and_links_persist(tmp_path, record, make_record):
    cache = InferenceCache(tmp_path)
    cache.record_image_run("a.png", record)
    assert cache.get("a.png").find_object(11) == (0, 0)
    assert cache.get("a.png").find_object(12) is None
    region = make_record(object_ids=(NO_OBJECT, NO_OBJECT), region=True)
    cache.add_region("a.png", region)
    assert cache.link("a.png", region.created, {1: 12}) is not None
    assert cache.link("a.png", -1.0, {0: 13}) is None  # that run is gone
    reopened = InferenceCache(tmp_path).get("a.png")
    assert reopened.find_object(12) == (1, 1)
    assert reopened.records[1].object_ids.tolist() == [NO_OBJECT, 12]


def test_a_new_image_run_replaces_the_old_one_and_keeps_only_linked_regions(record, make_record):
    linked = make_record(object_ids=(NO_OBJECT, 40), region=True)
    unlinked = make_record(object_ids=(NO_OBJECT, NO_OBJECT), region=True)
    inference = ImageInference("a.png", (record, linked, unlinked))
    newer = make_record(object_ids=(50, 51))
    updated = inference.with_image_record(newer)
    assert updated.records == (newer, linked)
    assert updated.image_record is newer
    fresh_region = make_record(object_ids=(NO_OBJECT, NO_OBJECT), region=True)
    assert inference.with_region(fresh_region).records == (record, linked, fresh_region)


def test_memory_lru_and_disk_budget_evict_the_least_recently_used(tmp_path, record):
    cache = InferenceCache(tmp_path, memory_items=2)
    for name in ("a.png", "b.png", "c.png"):
        cache.record_image_run(name, record)
    assert list(cache._memory) == ["b.png", "c.png"]
    assert cache.get("a.png") is not None  # read back from disk, now the most recent
    assert list(cache._memory) == ["c.png", "a.png"]

    size = cache.path_for("a.png").stat().st_size
    small = InferenceCache(tmp_path, disk_budget=int(size * 2.5))
    small.record_image_run("d.png", record)  # four files, room for two
    left = {p.name for p in small.directory.glob("*.npz")}
    assert left == {small.path_for("a.png").name, small.path_for("d.png").name}


def test_damaged_file_is_a_clear_error_and_a_new_run_replaces_it(tmp_path, record):
    cache = InferenceCache(tmp_path)
    cache.path_for("a.png").parent.mkdir(parents=True)
    cache.path_for("a.png").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InferenceCacheError, match="damaged cache file"):
        cache.get("a.png")
    cache.record_image_run("a.png", record)
    assert InferenceCache(tmp_path).get("a.png").find_object(11) == (0, 0)


def test_stored_event_names_the_image_and_a_write_failure_keeps_the_result_in_memory(tmp_path, record):
    cache = InferenceCache(tmp_path)
    stored, failed = [], []
    cache.events.stored.connect(stored.append)
    cache.events.write_failed.connect(lambda name, reason: failed.append((name, reason)))
    (tmp_path / ".protolabel").mkdir()
    (tmp_path / ".protolabel" / "inference").write_text("a file where the folder should be")
    cache.record_image_run("a.png", record)
    assert stored == ["a.png"]
    assert failed and failed[0][0] == "a.png" and "cannot save" in failed[0][1]
    assert cache.get("a.png").records[0] is record


def test_concurrent_writers_and_readers_do_not_corrupt_files(tmp_path, record):
    cache = InferenceCache(tmp_path, memory_items=1)
    errors = []

    def work(offset):
        try:
            for i in range(6):
                cache.record_image_run(f"{(i + offset) % 3}.png", record)
                cache.get(f"{(i + offset + 1) % 3}.png")
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(3):
        _same(InferenceCache(tmp_path).get(f"{i}.png").records[0], record)


def _record_masks(record):
    """The final masks [D, H, W] rebuilt from what the record stores (prototypes, coefficients, crop boxes)."""
    h, w = record.frame_size
    pixel_boxes = record.boxes_rel.astype(np.float64) * np.array([w, h, w, h], dtype=np.float64)
    return masks_from_parts(record.prototypes, record.coefficients, pixel_boxes, record.frame_size).to_dense()


def test_record_rebuilds_the_engine_masks(resnet50_engine, astronaut_bgr):
    det = resnet50_engine.predict_image(np.ascontiguousarray(astronaut_bgr[::4, ::4]))
    record = InferenceRecord.from_detections(det, {0: 5}, model="w.pth")
    assert record.object_ids[0] == 5 and np.all(record.object_ids[1:] == NO_OBJECT)
    np.testing.assert_array_equal(_record_masks(record), det.masks.to_dense())
    np.testing.assert_array_equal(record.boxes_rel, det.boxes_rel)
    np.testing.assert_array_equal(
        masks_from_parts(record.prototypes, record.coefficients, pixel_boxes_for_crop(det), det.image_size).to_dense(),
        det.masks.to_dense(),
    )


def test_auto_label_job_keeps_each_detection_with_the_object_it_became(tmp_path, astronaut_bgr, resnet50_checkpoint):
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), cv2.resize(astronaut_bgr, (80, 80), interpolation=cv2.INTER_AREA))
    cache = InferenceCache(folder)
    settings = AutoLabelSettings(weights=resnet50_checkpoint, device="cpu", score_threshold=0.0, top_k=12)
    summary = AutoLabelJob(folder, ["a.png"], settings, inference_cache=cache).run()
    assert summary.labelled == 1

    record = InferenceCache(folder).get("a.png").image_record
    assert record is not None and record.model == resnet50_checkpoint.name and record.frame_size == (80, 80)
    with ProjectStore.open(folder) as store:
        objects = {o.id: o for o in store.objects("a.png")}
    assert objects and all(o.provenance is Provenance.AUTO for o in objects.values())
    linked = record.object_ids[record.object_ids != NO_OBJECT]
    assert sorted(linked.tolist()) == sorted(objects)  # every object is one detection's, none twice
    masks = _record_masks(record)
    for row in np.flatnonzero(record.object_ids != NO_OBJECT):
        obj = objects[int(record.object_ids[row])]
        assert obj.label == record.label(row) and obj.score == pytest.approx(float(record.scores[row]))
        assert masks[row].any()
