"""Video frames in the per-frame COCO export and in the training set: each frame written as a PNG carrying its
identity, its record with the identity fields, and the trainer's dataset reads it like any image."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from protolabel.segmentation.folders import image_names
from protolabel.segmentation.formats.registry import by_name
from protolabel.segmentation.media.frame_export import read_frame_identity
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project.export import export_project
from protolabel.segmentation.project.fine_tune import TrainingRequest, default_run_dir, export_training_set
from protolabel.segmentation.project.store import ProjectStore
from protolabel.segmentation.training.dataset import TrainingImages
from tests.segmentation.media.videos import make_video
from tests.segmentation.project.video_project import FRAMES, LABELS, video_project


def _objects_per_frame(expected) -> dict[int, int]:
    return {i: sum(i in frames for frames in expected.values()) for i in range(FRAMES)}


def test_coco_export_writes_each_labelled_frame_with_its_identity_and_training_reads_it(tmp_path):
    expected = video_project(tmp_path / "proj")
    out = tmp_path / "export" / "frames.json"
    out.parent.mkdir()
    with ProjectStore.open(tmp_path / "proj") as store:  # the plain store: frames are found all the same
        summary = export_project(store, by_name("coco"), out, labels=LABELS)
    assert summary.images == FRAMES and summary.annotations == sum(_objects_per_frame(expected).values())
    assert summary.notes == (f"{FRAMES} video frames written as PNG files in {out.parent / 'frames.frames'}",)
    records = json.loads(out.read_text())["images"]
    with VideoReader(tmp_path / "proj" / "clip.mp4") as reader:
        for i, record in enumerate(records):
            assert record["file_name"] == f"frames.frames/clip_mp4/clip_{i:06d}.png"
            assert (record["video_id"], record["video_file"], record["frame_index"]) == (1, "clip.mp4", i)
            assert (record["video_sha256"], record["frame_pts"]) == (reader.sha256, reader.index.pts[i])
            assert read_frame_identity(out.parent / record["file_name"])["frame_index"] == i
        # the trainer's dataset step, on the file as exported: its pixels are the video's frames
        training = TrainingImages.from_file(out, out.parent)
        for i in range(FRAMES):
            sample = training.load(i)
            assert np.array_equal(sample.image, reader.read(i))
            assert len(sample.labels) == _objects_per_frame(expected)[i]


def test_the_training_set_of_a_video_project_holds_its_frames_hidden_from_the_folder(tmp_path):
    folder = tmp_path / "proj"
    expected = video_project(folder)
    request = TrainingRequest(folder, tmp_path / "start.pth", default_run_dir(folder), verified_only=False)
    with ProjectStore.open(folder) as store:
        summary = export_training_set(store, request)
    assert summary.images == FRAMES
    training = TrainingImages.from_file(request.coco_path, folder)  # as `train --images FOLDER` reads it
    assert [len(training.load(i).labels) for i in range(FRAMES)] == list(_objects_per_frame(expected).values())
    assert image_names(folder) == []  # the frames' PNGs never become images of the project


def test_a_replaced_video_costs_its_frames_not_the_export(tmp_path, make_images):
    folder = tmp_path / "proj"
    video_project(folder)
    make_video(folder / "clip.mp4", FRAMES + 2)  # other bytes under the same name
    out = tmp_path / "out.json"
    with ProjectStore.open(folder) as store:
        summary = export_project(store, by_name("coco"), out, labels=LABELS)
    assert summary.images == 0
    assert summary.skipped == (
        "clip.mp4 is not the video this project labelled (its content changed): its frames were left out",
    )
    assert not Path(tmp_path / "out.frames").exists()
