"""`protolabel predict VIDEO` and `protolabel label VIDEO`: per-frame results that carry their frame's identity."""

from __future__ import annotations

import hashlib
import json

import pytest

from protolabel.segmentation.cli import main
from protolabel.segmentation.media.frame_export import read_frame_identity
from protolabel.segmentation.media.reader import VideoReader
from tests.conftest import make_checkpoint
from tests.segmentation.media.videos import make_video

FRAMES = 5


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    make_video(path, FRAMES, durations_ms=[10, 50, 33], gop=3)
    return path


@pytest.fixture(scope="module")
def weights():
    return make_checkpoint("yolact_edge_vid_resnet50_im160", 0)


def _engine_args(weights) -> list[str]:
    return ["--weights", str(weights), "--device", "cpu", "--top-k", "2"]


@pytest.mark.slow
def test_predict_video_records_carry_the_frame_identity(video, weights, tmp_path, capsys):
    out = tmp_path / "p.json"
    assert main(["predict", *_engine_args(weights), "--out", str(out), str(video)]) == 0
    records = json.loads(out.read_text())
    with VideoReader(video) as reader:
        pts = reader.index.pts
    sha = hashlib.sha256(video.read_bytes()).hexdigest()
    assert {r["frame_index"] for r in records} == set(range(FRAMES))
    for r in records:
        assert (r["file_name"], r["video_file"], r["video_sha256"]) == (str(video), str(video), sha)
        assert r["frame_pts"] == pts[r["frame_index"]]
        assert "keyframe" not in r
    assert f"{FRAMES} images processed, 0 skipped" in capsys.readouterr().err


@pytest.mark.slow
def test_predict_video_through_the_keyframe_path(video, weights, tmp_path):
    out = tmp_path / "k.json"
    assert main(["predict", *_engine_args(weights), "--keyframe-interval", "2", "--out", str(out), str(video)]) == 0
    flags: dict[int, set[bool]] = {}
    for r in json.loads(out.read_text()):
        flags.setdefault(r["frame_index"], set()).add(r["keyframe"])
    assert flags == {0: {True}, 1: {False}, 2: {True}, 3: {False}, 4: {True}}


def test_predict_refuses_a_bad_video_before_loading_the_model(tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    assert main(["predict", "--weights", str(tmp_path / "missing.pth"), str(bad)]) == 2
    assert f"{bad}: not a video, or the file is corrupt or cut off" in capsys.readouterr().err


@pytest.mark.slow
def test_label_video_writes_per_frame_coco_with_identity_and_frames(video, weights, tmp_path, capsys):
    out = tmp_path / "labels.json"
    args = ["label", str(video), *_engine_args(weights), "--score-threshold", "0", "--out", str(out)]
    assert main([*args, "--export-frames"]) == 0
    data = json.loads(out.read_text())
    sha = hashlib.sha256(video.read_bytes()).hexdigest()
    with VideoReader(video) as reader:
        pts = reader.index.pts
    images = sorted(data["images"], key=lambda image: image["frame_index"])
    assert [image["frame_index"] for image in images] == list(range(FRAMES))
    for image in images:
        i = image["frame_index"]
        assert image["file_name"] == f"clip.mp4.frames/clip_{i:06d}.png"
        assert (image["video_file"], image["video_sha256"], image["frame_pts"]) == ("clip.mp4", sha, pts[i])
        assert (image["width"], image["height"]) == (96, 64)
        identity = read_frame_identity(tmp_path / image["file_name"])
        assert identity is not None and (identity["frame_index"], identity["video_sha256"]) == (i, sha)
    assert data["annotations"], "the synthetic model at threshold 0 finds something"
    capsys.readouterr()

    assert main(args) == 0  # a re-run keeps what is there
    assert "nothing to label: all 5 frames already have annotations" in capsys.readouterr().err

    other = tmp_path / "other" / "clip.mp4"  # same name, other bytes
    other.parent.mkdir()
    make_video(other, 3)
    assert main(["label", str(other), *_engine_args(weights), "--out", str(out)]) == 2
    assert "holds labels for another version of clip.mp4" in capsys.readouterr().err
    assert json.loads(out.read_text()) == data


def test_video_options_on_a_folder_are_refused(tmp_path, capsys):
    out = tmp_path / "l.json"
    assert main(["label", str(tmp_path), "--weights", "w.pth", "--export-frames", "--out", str(out)]) == 2
    assert "--export-frames is for a video" in capsys.readouterr().err


def test_label_video_refuses_the_keyframe_path_on_onnx_before_loading(video, tmp_path, capsys):
    out = tmp_path / "l.json"
    args = ["label", str(video), "--weights", "m.onnx", "--keyframe-interval", "3", "--out", str(out)]
    assert main(args) == 2
    assert "runs its keyframes on the torch backend" in capsys.readouterr().err


@pytest.mark.slow
def test_label_video_through_the_keyframe_path_records_each_frames_keyframe_flag(video, weights, tmp_path):
    out = tmp_path / "k.json"
    args = ["label", str(video), *_engine_args(weights), "--keyframe-interval", "2", "--out", str(out)]
    assert main(args) == 0
    flags = {image["frame_index"]: image["keyframe"] for image in json.loads(out.read_text())["images"]}
    assert flags == {0: True, 1: False, 2: True, 3: False, 4: True}
