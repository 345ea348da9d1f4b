"""`protolabel label FOLDER` on a project holding a frame folder: its frames are labelled as the image files
they are, under the names the project's sequence keys them by, so the file imports onto those frames."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protolabel.segmentation.cli import main
from protolabel.segmentation.media.frame_folder import frame_sequence_at
from tests.conftest import make_checkpoint
from tests.segmentation.media.frame_folders import make_frame_folder


def test_label_folder_labels_a_frame_folders_frames_under_their_keys(tmp_path, resnet50_checkpoint, capsys):
    project = tmp_path / "shots"
    make_frame_folder(project / "walk", [1, 2, 3, 6, 7])
    out = tmp_path / "labels.json"
    code = main(["label", str(project), "--weights", str(resnet50_checkpoint), "--device", "cpu", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    names = [image["file_name"] for image in json.loads(out.read_text())["images"]]
    assert sorted(names) == sorted(frame_sequence_at(project, "walk/").keys)


@pytest.fixture(scope="module")
def numbered(tmp_path_factory):
    """frame_0001..0008.png: 5 missing, 4 a broken file."""
    folder = tmp_path_factory.mktemp("numbered") / "walk"
    make_frame_folder(folder, [1, 2, 3, 6, 7, 8], name="frame_{:04d}.png")
    (folder / "frame_0004.png").write_bytes(b"\x89PNG broken")
    return folder


def _video_args(weights) -> list[str]:
    args = ["--weights", str(weights), "--device", "cpu", "--top-k", "3", "--score-threshold", "0"]
    return [*args, "--keyframe-interval", "3"]


def test_label_folder_through_the_keyframe_path_gives_predicts_frames(numbered, tmp_path, capsys):
    weights = make_checkpoint("yolact_edge_vid_resnet50_im160", 0)
    out = tmp_path / "labels.json"
    assert main(["label", str(numbered), *_video_args(weights), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "frame_0006.png: frame number 5 missing before it; it runs as a keyframe" in err
    assert "frame_0004.png" in err  # unreadable: said and skipped
    data = json.loads(out.read_text())
    flags = {image["file_name"]: image["keyframe"] for image in data["images"]}
    # K=3: 1 key, 2 and 3 warped; 4 unreadable and 5 missing, so 6 is a key; 7 and 8 warped from it
    assert flags == {
        "frame_0001.png": True,
        "frame_0002.png": False,
        "frame_0003.png": False,
        "frame_0006.png": True,
        "frame_0007.png": False,
        "frame_0008.png": False,
    }
    predicted = tmp_path / "predict.json"
    assert main(["predict", *_video_args(weights), "--out", str(predicted), str(numbered)]) == 0
    records = json.loads(predicted.read_text())
    assert {r["file_name"].rsplit("/", 1)[-1]: r["keyframe"] for r in records} == flags
    scores: dict[str, list[float]] = {}
    for r in records:
        scores.setdefault(r["file_name"].rsplit("/", 1)[-1], []).append(r["score"])
    ids = {image["id"]: image["file_name"] for image in data["images"]}
    assert data["annotations"], "the synthetic model at threshold 0 finds something"
    for ann in data["annotations"]:  # each label is one of predict's detections of the same frame
        assert any(abs(ann["score"] - s) < 1e-5 for s in scores[ids[ann["image_id"]]])

    # a re-run labels only the frame without annotations: it follows no frame run, so it is a keyframe
    for image in data["images"]:
        image["keyframe"] = "kept" if image["file_name"] != "frame_0007.png" else image["keyframe"]
    data["annotations"] = [a for a in data["annotations"] if ids[a["image_id"]] != "frame_0007.png"]
    out.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["label", str(numbered), *_video_args(weights), "--out", str(out)]) == 0
    assert "labeling 2 of 7 images" in capsys.readouterr().err  # frame 7, and the unreadable 4 tried again
    again = {image["file_name"]: image["keyframe"] for image in json.loads(out.read_text())["images"]}
    assert again == {**{name: "kept" for name in flags}, "frame_0007.png": True}


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        (["frame_1.png", "frame_2.png", "cover.png"], "cover.png has no frame number in its name"),
        (["frame_1.png", "frame_2.png", "shot_3.png"], "frame_1.png and shot_3.png are named after two patterns"),
        (["frame_1.png", "frame_01.png"], "have the same frame number"),
        (["frame_1.png", "sub/frame_2.png"], "sub/frame_2.png is in a sub-folder"),
    ],
)
def test_keyframe_interval_on_a_folder_that_is_no_frame_sequence_is_refused(tmp_path, capsys, files, problem):
    folder = tmp_path / "photos"
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        make_frame_folder((folder / name).parent, [1], name=Path(name).name)
    args = ["label", str(folder), "--weights", str(tmp_path / "never-loaded.pth"), "--keyframe-interval", "2"]
    assert main([*args, "--out", str(tmp_path / "l.json")]) == 2
    err = capsys.readouterr().err
    assert "--keyframe-interval runs a folder of numbered frames" in err and problem in err
    assert not (tmp_path / "l.json").exists()


def test_export_frames_on_a_folder_is_refused(numbered, tmp_path, capsys):
    args = ["label", str(numbered), "--weights", str(tmp_path / "w.pth"), "--export-frames"]
    assert main([*args, "--out", str(tmp_path / "l.json")]) == 2
    assert "--export-frames is for a video: the frames of a folder are image files already" in capsys.readouterr().err
