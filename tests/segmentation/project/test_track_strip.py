"""track_strip: a stored track's coefficients and prototype contributions, frame by frame, from the cache."""

from __future__ import annotations

import numpy as np
import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.inspection.cache import NO_OBJECT, ImageInference, InferenceCache
from protolabel.segmentation.project.records import AnnotatedObject
from protolabel.segmentation.project.track_strip import track_strip
from protolabel.segmentation.project.video_store import VideoStore
from tests.segmentation.inspection.conftest import blob_record
from tests.segmentation.project.test_video_store import add_clip

# blob_record's prototypes are 20 x 20 over a 60 x 80 frame (4 px a column, 3 a row); its detection 0 is
# 0.8 * P0 - 0.4 * P2. This square covers the prototype pixels of columns 4-6, rows 9-11: all inside P0's
# disc (value 5), and P2 is 5 everywhere, so by hand: |0.8 * 5| = 4 for P0 and |-0.4 * 5| = 2 for P2.
SQUARE = (17, 27)
BY_HAND = [4.0, 0.0, 2.0, 0.0]
COEFFICIENTS = [0.8, 0.0, -0.4, 0.0]


@pytest.fixture
def cached(tmp_path, square):
    """A track on frames 0, 1, 3, 4, 5 of clip.mp4 (none on 2); the frames' cached runs differ (see the test)."""
    with VideoStore.open(tmp_path) as store:
        video, keys = add_clip(store)
        track = store.create_track(video.id, "cat").tracks_after[0]
        ids = {}
        for i in (0, 1, 3, 4, 5):
            saved = [AnnotatedObject("cat", square(*SQUARE), Provenance.AUTO, 0.9, track_id=track.id)]
            store.write_change(keys[i], saved=saved)
            (obj,) = store.frame_objects(keys[i])
            ids[i] = obj.id
        cache = InferenceCache(tmp_path)
        cache.put(ImageInference(keys[0], (blob_record(object_ids=(ids[0], NO_OBJECT)),)))  # whole image, linked
        # frame 1: never run
        cache.put(ImageInference(keys[3], (blob_record(object_ids=(ids[3], NO_OBJECT), region=True),)))
        cache.put(ImageInference(keys[4], (blob_record(object_ids=(NO_OBJECT, NO_OBJECT)),)))  # not this object
        cache.put(ImageInference(keys[5], (blob_record(object_ids=(ids[5], NO_OBJECT)),)))
        cache.path_for(keys[5]).write_bytes(b"not an npz")  # a damaged file
        yield store, InferenceCache(tmp_path), track.id  # a fresh cache: read from the files


def test_each_frame_gets_its_objects_coefficients_and_contributions_or_is_said_missing(cached):
    store, cache, track_id = cached
    strip = track_strip(store.track_objects(track_id), cache, track_id)
    assert strip.frames.tolist() == [0, 1, 2, 3, 4, 5] and strip.first_frame == 0
    assert strip.missing == (1, 4, 5) and strip.objects == 5 and strip.covered == 2
    np.testing.assert_allclose(strip.coefficients[0], COEFFICIENTS, rtol=1e-6)
    np.testing.assert_allclose(strip.contributions[0], BY_HAND, rtol=1e-6)
    np.testing.assert_allclose(strip.coefficients[3], COEFFICIENTS, rtol=1e-6)  # a region run's coefficients
    assert np.isnan(strip.contributions[3]).all()  # but its prototypes cover its region only
    for empty in (1, 2, 4, 5):
        assert np.isnan(strip.coefficients[empty]).all() and np.isnan(strip.contributions[empty]).all()


def test_a_track_without_any_cached_run_and_a_stopped_read(cached, tmp_path):
    store, cache, track_id = cached
    stopped = track_strip(store.track_objects(track_id), cache, track_id, stop=lambda: True)
    assert stopped.missing == (0, 1, 3, 4, 5) and stopped.coefficients.shape == (6, 0)
    assert track_strip(store.track_objects(track_id), InferenceCache(tmp_path / "elsewhere"), track_id).covered == 0
    with pytest.raises(ValueError, match="track 9 has no object on any frame"):
        track_strip([], cache, 9)


def test_a_memo_spares_the_cache_reads_of_frames_read_before(cached, monkeypatch):
    store, cache, track_id = cached
    reads = []
    get = cache.get
    monkeypatch.setattr(cache, "get", lambda name: reads.append(name) or get(name))
    objects = store.track_objects(track_id)
    memo = {}
    first = track_strip(objects, cache, track_id, memo=memo)
    assert len(reads) == 5  # one per frame with an object
    again = track_strip(objects, cache, track_id, memo=memo)
    assert len(reads) == 5 and again.missing == first.missing
    np.testing.assert_array_equal(again.coefficients, first.coefficients)
    np.testing.assert_array_equal(again.contributions, first.contributions)
    for key in [k for k in memo if k[0] == objects[1].frame_key]:  # frame 1's run changed: read it again
        del memo[key]
    track_strip(objects, cache, track_id, memo=memo)
    assert reads[5:] == [objects[1].frame_key]
