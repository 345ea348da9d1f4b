"""VideoStore.track_summaries: a video's track list in one query, checked against reading each track's objects."""

from __future__ import annotations

import hashlib

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.video_store import TrackSummary, VideoStore
from tests.segmentation.project.test_video_store import add_clip

LOOKED_AT = (ImageStatus.EDITED, ImageStatus.VERIFIED)


def summaries_track_by_track(store: VideoStore, video_id: int) -> list[TrackSummary]:
    """The oracle: every track's objects read one track at a time, the statuses one frame at a time."""
    found = []
    for track in store.tracks(video_id):
        objects = store.track_objects(track.id)
        if not objects:
            continue
        frames = sorted({o.frame_index for o in objects})
        reviewed = len({o.frame_key for o in objects if store.status(o.frame_key) in LOOKED_AT})
        found.append(TrackSummary(track.id, track.label, frames[0], frames[-1], len(frames), reviewed))
    return found


def test_summaries_give_span_length_and_reviewed_frames_of_each_track(tmp_path, square):
    with VideoStore.open(tmp_path) as store:
        video, keys = add_clip(store)  # 6 frames
        other, other_keys = add_clip(store, "other.mp4", hashlib.sha256(b"other").hexdigest())
        cat = store.create_track(video.id, "cat").tracks_after[0]
        dog = store.create_track(video.id, "dog").tracks_after[0]
        store.create_track(video.id, "empty")  # no object anywhere: not listed
        elsewhere = store.create_track(other.id, "cat").tracks_after[0]
        for i in (1, 2, 4):  # hidden on frame 3: a span of 4 frames, 3 with an object
            store.write_change(
                keys[i], saved=[AnnotatedObject("cat", square(i, 0), Provenance.AUTO, 0.9, track_id=cat.id)]
            )
        for i in (2, 5):
            store.write_change(
                keys[i], saved=[AnnotatedObject("dog", square(30, 20), Provenance.AUTO, 0.8, track_id=dog.id)]
            )
        store.write_change(
            other_keys[0], saved=[AnnotatedObject("cat", square(0, 0), Provenance.AUTO, 0.9, track_id=elsewhere.id)]
        )
        store.set_frame_status(keys[2], ImageStatus.VERIFIED)  # both tracks reviewed there
        store.set_frame_status(keys[4], ImageStatus.EDITED)
        store.set_frame_status(keys[5], ImageStatus.AUTO_LABELED)  # a model's frame is not reviewed

        summaries = store.track_summaries(video.id)
        assert summaries == [
            TrackSummary(cat.id, "cat", 1, 4, 3, 2),
            TrackSummary(dog.id, "dog", 2, 5, 2, 1),
        ]
        assert summaries == summaries_track_by_track(store, video.id)
        assert store.track_summaries(other.id) == [TrackSummary(elsewhere.id, "cat", 0, 0, 1, 0)]
        assert store.track_summaries(999) == []


def test_summaries_follow_track_edits(tmp_path, square):
    with VideoStore.open(tmp_path) as store:
        video, keys = add_clip(store)
        cat = store.create_track(video.id, "cat").tracks_after[0]
        for i in range(6):
            saved = [AnnotatedObject("cat", square(i, 0), Provenance.AUTO, 0.9, track_id=cat.id)]
            store.write_change(keys[i], saved=saved, status=ImageStatus.AUTO_LABELED)
        store.set_frame_status(keys[4], ImageStatus.VERIFIED)
        new = store.split_track(cat.id, 3).tracks_after[0]
        store.set_track_class(new.id, "lynx")
        store.delete_track(cat.id, from_frame=2)
        assert store.track_summaries(video.id) == [
            TrackSummary(cat.id, "cat", 0, 1, 2, 0),  # frame 2's object deleted (that frame is edited now)
            TrackSummary(new.id, "lynx", 3, 5, 3, 1),
        ]
        assert store.track_summaries(video.id) == summaries_track_by_track(store, video.id)
