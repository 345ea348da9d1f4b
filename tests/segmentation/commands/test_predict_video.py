"""`protolabel predict --keyframe-interval K`: a folder of frames through YolactEdge's keyframe path."""

import json

import cv2
import pytest

from protolabel.segmentation.cli import main
from tests.conftest import fixture_path, make_checkpoint


@pytest.fixture(scope="module")
def frame_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("frames")
    clip = fixture_path("yolactedge", "clip_A")
    for i in range(5):  # frame_10 sorts after frame_9: name order is natural order
        image = cv2.resize(cv2.imread(str(clip / f"frame_{i:03d}.png")), (160, 120), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(root / f"frame_{8 + i}.png"), image)
    (root / "frame_11.png").write_bytes(b"\x89PNG broken")  # replaces the third frame: skipped
    return root


def _flags(records) -> dict[str, set[bool]]:
    flags: dict[str, set[bool]] = {}
    for r in records:
        flags.setdefault(r["file_name"].rsplit("/", 1)[-1], set()).add(r["keyframe"])
    return flags


def test_folder_runs_as_one_sequence_with_keyframes_every_k(frame_folder, tmp_path, capsys):
    weights = make_checkpoint("yolact_edge_vid_resnet50_im160", 0)
    out = tmp_path / "video.json"
    assert (
        main(
            [
                "predict",
                "--weights",
                str(weights),
                "--device",
                "cpu",
                "--keyframe-interval",
                "2",
                "--top-k",
                "5",
                "--out",
                str(out),
                str(frame_folder),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "frame_11.png" in err and "4 images processed, 1 skipped" in err
    records = json.loads(out.read_text())
    # frame 8 key, 9 warped, 10 key, 11 unreadable, 12 key: never warped across a frame not seen, as in a video
    assert _flags(records) == {
        "frame_8.png": {True},
        "frame_9.png": {False},
        "frame_10.png": {True},
        "frame_12.png": {True},
    }
    assert {r["class_name"] for r in records} <= {"person", "hand", "motorbike", "tiger"}

    plain = tmp_path / "plain.json"
    assert (
        main(
            [
                "predict",
                "--weights",
                str(weights),
                "--device",
                "cpu",
                "--top-k",
                "5",
                "--out",
                str(plain),
                str(frame_folder / "frame_10.png"),
            ]
        )
        == 0
    )
    keyframe = [{k: v for k, v in r.items() if k != "keyframe"} for r in records if r["file_name"].endswith("10.png")]
    assert [r["score"] for r in keyframe] == [r["score"] for r in json.loads(plain.read_text())]


def test_a_model_without_flow_net_is_refused_in_one_line(frame_folder, resnet50_checkpoint, capsys):
    code = main(
        [
            "predict",
            "--weights",
            str(resnet50_checkpoint),
            "--device",
            "cpu",
            "--keyframe-interval",
            "5",
            str(frame_folder),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("protolabel predict: ") and "has no flow net" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("extra", [["--backend", "onnxruntime"], ["--backend", "auto"]])
def test_the_keyframe_path_on_another_backend_is_refused_before_loading(frame_folder, tmp_path, capsys, extra):
    code = main(
        [
            "predict",
            "--weights",
            str(tmp_path / "never-loaded.pth"),
            "--keyframe-interval",
            "5",
            *extra,
            str(frame_folder),
        ]
    )
    assert code == 2
    assert "runs its keyframes on the torch backend" in capsys.readouterr().err


def test_a_gap_in_frame_numbers_is_said_and_the_frame_after_it_is_a_keyframe(tmp_path, capsys):
    clip = fixture_path("yolactedge", "clip_A")
    folder = tmp_path / "gappy"
    folder.mkdir()
    for i, number in enumerate((1, 2, 3, 6, 7)):  # 4 and 5 are missing
        image = cv2.resize(cv2.imread(str(clip / f"frame_{i:03d}.png")), (160, 120), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"frame_{number:04d}.png"), image)
    out = tmp_path / "gap.json"
    weights = make_checkpoint("yolact_edge_vid_resnet50_im160", 0)
    args = ["predict", "--weights", str(weights), "--device", "cpu", "--keyframe-interval", "10", "--top-k", "2"]
    assert main([*args, "--out", str(out), str(folder)]) == 0
    assert "frame_0006.png: frame numbers 4-5 missing before it; it runs as a keyframe" in capsys.readouterr().err
    assert _flags(json.loads(out.read_text())) == {
        "frame_0001.png": {True},
        "frame_0002.png": {False},
        "frame_0003.png": {False},
        "frame_0006.png": {True},
        "frame_0007.png": {False},
    }


def test_non_keyframes_on_onnx_runtime_give_the_torch_detections(frame_folder, tmp_path, capsys):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    weights = make_checkpoint("yolact_edge_vid_resnet50_im160", 0)
    found = {}
    for backend in ("torch", "onnxruntime"):
        out = tmp_path / f"{backend}.json"
        args = ["predict", "--weights", str(weights), "--device", "cpu", "--keyframe-interval", "2", "--top-k", "5"]
        assert main([*args, "--non-keyframe-backend", backend, "--out", str(out), str(frame_folder)]) == 0
        found[backend] = json.loads(out.read_text())
    capsys.readouterr()
    torch_run, onnx_run = found["torch"], found["onnxruntime"]
    assert any(not r["keyframe"] for r in onnx_run)  # the warped frames ran on ONNX Runtime
    assert [(r["file_name"], r["category_id"], r["keyframe"]) for r in onnx_run] == [
        (r["file_name"], r["category_id"], r["keyframe"]) for r in torch_run
    ]
    for a, b in zip(torch_run, onnx_run):
        assert b["score"] == pytest.approx(a["score"], abs=1e-3)
        assert b["bbox"] == pytest.approx(a["bbox"], abs=0.5)


def test_a_non_keyframe_backend_without_non_keyframes_is_refused(frame_folder, tmp_path, capsys):
    args = ["predict", "--weights", str(tmp_path / "never-loaded.pth"), "--non-keyframe-backend", "openvino"]
    assert main([*args, str(frame_folder)]) == 2
    assert "--non-keyframe-backend needs --keyframe-interval above 1" in capsys.readouterr().err


@pytest.mark.parametrize("option", [["--batch-size", "4"], ["--workers", "2"]])
@pytest.mark.parametrize("command", ["predict", "label"])
def test_batching_options_with_the_keyframe_path_are_refused(frame_folder, tmp_path, capsys, command, option):
    args = [command, "--weights", str(tmp_path / "never-loaded.pth"), "--keyframe-interval", "2", *option]
    out = ["--out", str(tmp_path / "out.json")]
    assert main([*args, *out, str(frame_folder)]) == 2
    assert "with --keyframe-interval the frames run one after another" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()
