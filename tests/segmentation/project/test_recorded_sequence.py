"""One check for every reader of a recorded sequence: a video or frame folder that is not the one the project
labelled is refused, each caller saying what it did instead."""

from __future__ import annotations

import pytest

from protolabel.segmentation.media.errors import VideoError
from protolabel.segmentation.media.frame_folder import frame_sequence_at
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project.frame_images import FrameFiles, FrameWriter
from protolabel.segmentation.project.recorded_sequence import open_recorded
from protolabel.segmentation.project.store import ProjectStoreError
from protolabel.segmentation.project.video_autolabel import open_recorded_sequence
from protolabel.segmentation.project.video_store import VideoStore
from tests.segmentation.media.frame_folders import make_frame_folder
from tests.segmentation.media.videos import make_video

CHANGED = "clip.mp4 is not the video this project labelled (its content changed)"


def test_a_changed_video_is_refused_by_the_export_and_the_job_each_in_its_words(tmp_path):
    make_video(tmp_path / "clip.mp4", 3)
    with VideoReader(tmp_path / "clip.mp4") as reader, VideoStore.open(tmp_path) as store:
        record, _ = store.record_video("clip.mp4", reader.index)
    with open_recorded(tmp_path, record) as reader:
        assert len(reader) == 3  # the recorded bytes open
    make_video(tmp_path / "clip.mp4", 4)  # other bytes under the same name
    with pytest.raises(VideoError) as refused:
        open_recorded(tmp_path, record)
    assert str(refused.value) == CHANGED
    with pytest.raises(ProjectStoreError) as job:
        open_recorded_sequence(tmp_path, "clip.mp4", record)
    assert str(job.value) == f"{CHANGED}: nothing was run"
    with FrameWriter(tmp_path, FrameFiles(tmp_path / "out", tmp_path / "out")) as writer:
        for index in (0, 1):  # the same refusal for every frame, the file opened once
            with pytest.raises(VideoError) as export:
                writer.write(record, index)
            assert str(export.value) == f"{CHANGED}: its frames were left out"
    assert not (tmp_path / "out").exists()


def test_a_frame_folder_named_otherwise_now_is_refused(tmp_path):
    make_frame_folder(tmp_path / "walk", range(1, 7), name="frame_{:04d}.png")
    sequence = frame_sequence_at(tmp_path, "walk/")
    with VideoStore.open(tmp_path) as store:
        record = store.record_frame_folder(
            "walk/", sequence.keys, sequence.numbers, sha256=sequence.sha256, width=96, height=64, size_bytes=0
        )
    with open_recorded(tmp_path, record) as reader:
        assert reader.read(0).shape[:2] == (64, 96)
    for path in (tmp_path / "walk").iterdir():
        path.rename(path.with_name(path.name.replace("frame_", "shot_")))
    with pytest.raises(ProjectStoreError, match=r"walk/ is not the video this project labelled.*: nothing was run"):
        open_recorded_sequence(tmp_path, "walk/", record)
