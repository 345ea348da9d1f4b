"""VideoAutoLabelJob without the app: frames in order into tracks, cancel between frames, a replaced video refused."""

from __future__ import annotations

import numpy as np

from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project.autolabel import AutoLabelSettings, EngineCache
from protolabel.segmentation.project.video_autolabel import VideoAutoLabelJob, frames_to_label
from protolabel.segmentation.project.video_store import VideoStore, frame_key
from tests.segmentation.media.videos import make_video

FRAMES = 3


def indexed_clip(folder) -> None:
    """clip.mp4 in `folder`, recorded in its project store as the app records it."""
    make_video(folder / "clip.mp4", FRAMES, gop=2)
    with VideoReader(folder / "clip.mp4") as reader, VideoStore.open(folder) as store:
        store.record_video("clip.mp4", reader.index)


def test_cancel_stops_between_frames_and_a_replaced_video_is_refused(tmp_path, resnet50_checkpoint):
    indexed_clip(tmp_path)
    settings = AutoLabelSettings(resnet50_checkpoint, device="cpu", score_threshold=0.0, top_k=5, workers=0)
    engines = EngineCache()
    job = VideoAutoLabelJob(tmp_path, "clip.mp4", FRAMES, settings, engines)
    job.events.image_done.connect(lambda *_: job.cancel())  # cancel once the first frame is saved
    summary = job.run()
    assert summary.cancelled and (summary.labelled, summary.failed, summary.error) == (1, 0, None)
    with VideoStore.open(tmp_path) as store:
        first = store.frame_objects(frame_key("clip.mp4", 0))
        assert first and all(o.track_id is not None for o in first)
        assert [store.frame_objects(frame_key("clip.mp4", i)) for i in range(1, FRAMES)] == [[]] * (FRAMES - 1)
        (video,) = store.videos()
        assert {o.track_id for o in first} <= {t.id for t in store.tracks(video.id)}

    make_video(tmp_path / "clip.mp4", FRAMES + 1)  # another video under the same name
    summary = VideoAutoLabelJob(tmp_path, "clip.mp4", FRAMES, settings, engines).run()
    assert summary.labelled == 0 and "not the video this project labelled" in (summary.error or "")


def test_a_run_after_a_cancel_labels_only_the_frames_left_and_continues_the_tracks(tmp_path, resnet50_checkpoint):
    indexed_clip(tmp_path)
    settings = AutoLabelSettings(resnet50_checkpoint, device="cpu", score_threshold=0.0, top_k=5, workers=0)
    engines = EngineCache()
    first = VideoAutoLabelJob(tmp_path, "clip.mp4", FRAMES, settings, engines)
    first.events.image_done.connect(lambda *_: first.cancel())
    assert first.run().labelled == 1
    with VideoStore.open(tmp_path) as store:
        (video,) = store.videos()
        todo = frames_to_label([f.status for f in store.frames(video.id)])
        before = store.frame_objects(frame_key("clip.mp4", 0))
    assert todo == list(range(1, FRAMES))

    again = VideoAutoLabelJob(tmp_path, "clip.mp4", todo, settings, engines)
    totals, done = [], []
    again.events.started.connect(totals.append)
    again.events.image_done.connect(lambda name, _outcome: done.append(name))
    summary = again.run()
    assert totals == [FRAMES - 1] and summary.labelled == FRAMES - 1
    assert done == [frame_key("clip.mp4", i) for i in todo]  # frame 0 is not run again
    with VideoStore.open(tmp_path) as store:
        assert [(o.id, o.track_id) for o in store.frame_objects(frame_key("clip.mp4", 0))] == [
            (o.id, o.track_id) for o in before
        ]
        next_ids = {o.track_id for o in store.frame_objects(frame_key("clip.mp4", 1))}
        assert next_ids & {o.track_id for o in before}  # the stored tracks go on, not new ones beside them
        assert all(store.track_objects(t.id) for t in store.tracks(video.id))  # no track is left empty

    assert VideoAutoLabelJob(tmp_path, "clip.mp4", FRAMES, settings, engines).run().labelled == FRAMES  # all again
    with VideoStore.open(tmp_path) as store:  # the tracks its new objects replaced are deleted, not left empty
        assert all(store.track_objects(t.id) for t in store.tracks(video.id))


def test_a_video_model_runs_its_keyframe_path_and_every_frame_is_kept_for_the_inspector(tmp_path, monkeypatch):
    from protolabel.segmentation.backends.torch_runner import TorchRunner
    from protolabel.segmentation.inspection.cache import NO_OBJECT, InferenceCache
    from tests.conftest import make_checkpoint

    indexed_clip(tmp_path)
    non_keyframes = []
    real_partial = TorchRunner.partial
    monkeypatch.setattr(
        TorchRunner, "partial", lambda self, *a, **k: non_keyframes.append(1) or real_partial(self, *a, **k)
    )
    weights = make_checkpoint("yolact_edge_vid_resnet50_im160", 0)
    settings = AutoLabelSettings(weights, device="cpu", score_threshold=0.0, top_k=5, workers=0, keyframe_interval=2)
    cache = InferenceCache(tmp_path)
    summary = VideoAutoLabelJob(tmp_path, "clip.mp4", FRAMES, settings, EngineCache(), inference_cache=cache).run()
    assert summary.labelled == FRAMES and summary.error is None
    assert len(non_keyframes) == 1  # frames 0 and 2 are keyframes at interval 2, frame 1 is warped
    with VideoStore.open(tmp_path) as store:
        for i in range(FRAMES):
            key = frame_key("clip.mp4", i)
            ids = {o.id for o in store.frame_objects(key)}
            (record,) = cache.get(key).records
            assert ids and set(record.object_ids.tolist()) - {NO_OBJECT} == ids  # each object: the detection it was

    non_keyframes.clear()
    every = AutoLabelSettings(weights, device="cpu", score_threshold=0.0, top_k=5, workers=0, keyframe_interval=1)
    assert VideoAutoLabelJob(tmp_path, "clip.mp4", FRAMES, every, EngineCache()).run().error is None
    assert non_keyframes == []


def test_a_run_keeps_each_frames_output_linked_to_its_tracked_objects_for_the_heat_strip(tmp_path, resnet50_checkpoint):
    from protolabel.segmentation.geometry.provenance import Provenance
    from protolabel.segmentation.inspection.cache import InferenceCache
    from protolabel.segmentation.project.track_strip import track_strip

    indexed_clip(tmp_path)
    settings = AutoLabelSettings(resnet50_checkpoint, device="cpu", score_threshold=0.0, top_k=5, workers=0)
    cache = InferenceCache(tmp_path)
    assert VideoAutoLabelJob(tmp_path, "clip.mp4", FRAMES, settings, EngineCache(), cache).run().labelled == FRAMES
    fresh = InferenceCache(tmp_path)  # from the files
    with VideoStore.open(tmp_path) as store:
        every = set()
        for i in range(FRAMES):
            key = frame_key("clip.mp4", i)
            tracked = {o.id for o in store.frame_objects(key) if o.track_id is not None}
            assert all(o.provenance is Provenance.AUTO for o in store.frame_objects(key))
            record = fresh.get(key).image_record  # a frame without objects keeps its output too
            linked = {int(x) for x in record.object_ids if x >= 0}
            assert linked == tracked  # every tracked object points back at the detection it came from
            every |= tracked
        assert every
        (video,) = store.videos()
        for track in store.tracks(video.id):
            strip = track_strip(store.track_objects(track.id), fresh, track.id)
            assert strip.missing == () and not np.isnan(strip.coefficients[strip.frames == strip.first_frame]).any()
