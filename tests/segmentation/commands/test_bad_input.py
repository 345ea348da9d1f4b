"""Bad input to `label`, `predict`, `inspect` and `train`: one clear line, exit status 2, nothing lost.

Each case was a traceback, a silent wrong result or lost work before (issue 9).
"""

from __future__ import annotations

import errno
import json
import os

import cv2
import numpy as np
import pytest
import torch

from protolabel.segmentation.cli import main
from protolabel.segmentation.coco import read_coco


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    image = np.zeros((48, 64, 3), np.uint8)
    cv2.circle(image, (32, 24), 12, (0, 200, 255), -1)
    cv2.imwrite(str(path), image)
    return path


def _fails_cleanly(capsys, argv, status=2):
    """Run the CLI; the error is on stderr as one 'protolabel <command>: ...' line, no traceback."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"protolabel {argv[0]}: "), err
    assert "Traceback" not in err
    return lines[0]


def _argparse_refuses(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and message in err and "Traceback" not in err, err


# ---------------------------------------------------------------- output paths, checked before any work


def test_predict_out_named_like_an_input_image_never_overwrites_it(photo, tmp_path, capsys):
    before = photo.read_bytes()
    line = _fails_cleanly(
        capsys, ["predict", "--weights", str(tmp_path / "never-loaded.pth"), "--out", str(photo), str(photo)]
    )
    assert "is also an input" in line
    assert photo.read_bytes() == before
    # also when the image is found inside a folder argument
    line = _fails_cleanly(capsys, ["predict", "--weights", "w.pth", "--out", str(photo), str(tmp_path)])
    assert "is also an input" in line and photo.read_bytes() == before


@pytest.mark.parametrize(
    "out,message",
    [
        ("missing/out.json", "does not exist"),
        (".", "is a folder"),
    ],
)
def test_predict_out_must_be_a_file_in_an_existing_folder(photo, tmp_path, capsys, out, message):
    line = _fails_cleanly(capsys, ["predict", "--weights", "w.pth", "--out", str(tmp_path / out), str(photo)])
    assert message in line


def test_inspect_out_an_existing_file(photo, tmp_path, capsys):
    existing = tmp_path / "results"
    existing.write_text("my notes")
    line = _fails_cleanly(capsys, ["inspect", "--weights", "w.pth", "--out", str(existing), str(photo)])
    assert "is a file, not a folder" in line and existing.read_text() == "my notes"


def test_inspect_never_writes_over_its_input(tmp_path, capsys):
    folder = tmp_path / "out"
    folder.mkdir()
    image = folder / "detections.png"  # the name inspect writes its overlay to
    cv2.imwrite(str(image), np.zeros((16, 16, 3), np.uint8))
    before = image.read_bytes()
    line = _fails_cleanly(capsys, ["inspect", "--weights", "w.pth", "--out", str(folder), str(image)])
    assert "is also an input" in line and image.read_bytes() == before


def test_train_out_an_existing_file(tmp_path, capsys):
    existing = tmp_path / "run"
    existing.write_text("not a run folder")
    line = _fails_cleanly(
        capsys,
        [
            "train",
            "--coco",
            str(tmp_path / "a.json"),
            "--images",
            str(tmp_path),
            "--weights",
            "w.pth",
            "--out",
            str(existing),
        ],
    )
    assert "is a file, not a folder" in line and existing.read_text() == "not a run folder"


def test_label_out_named_like_an_image_of_the_folder_never_overwrites_it(photo, tmp_path, capsys):
    before = photo.read_bytes()
    for out in (photo, tmp_path / "sub" / "new.jpg"):  # an existing image, and one the next run would read
        (tmp_path / "sub").mkdir(exist_ok=True)
        line = _fails_cleanly(capsys, ["label", str(tmp_path), "--weights", "w.pth", "--out", str(out)])
        assert "so it is an input" in line
    assert photo.read_bytes() == before and not (tmp_path / "sub" / "new.jpg").exists()


def test_label_out_in_a_missing_folder(tmp_path, capsys):
    line = _fails_cleanly(
        capsys, ["label", str(tmp_path), "--weights", "w.pth", "--out", str(tmp_path / "nope" / "a.json")]
    )
    assert "does not exist" in line


# ---------------------------------------------------------------- argument values


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("--top-k", "-1", "argument --top-k: must be an integer >= 1, got '-1'"),
        ("--top-k", "0", "argument --top-k: must be an integer >= 1"),
        ("--score-threshold", "nan", "argument --score-threshold: must be a number in [0, 1], got 'nan'"),
        ("--score-threshold", "inf", "argument --score-threshold: must be a number in [0, 1]"),
        ("--score-threshold", "1.5", "argument --score-threshold: must be a number in [0, 1]"),
        ("--batch-size", "0", "argument --batch-size: must be an integer >= 1, got '0'"),
        ("--batch-size", "two", "argument --batch-size: must be an integer >= 1, got 'two'"),
    ],
)
def test_predict_and_label_refuse_bad_values(photo, tmp_path, capsys, option, value, message):
    _argparse_refuses(capsys, ["predict", "--weights", "w.pth", option, value, str(photo)], message)
    _argparse_refuses(
        capsys,
        ["label", str(tmp_path), "--weights", "w.pth", "--out", str(tmp_path / "a.json"), option, value],
        message,
    )


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("--max-size", "20000", "argument --max-size: must be an integer from 64 to 2048, got '20000'"),
        ("--max-size", "32", "argument --max-size: must be an integer from 64 to 2048"),
        ("--lr", "nan", "argument --lr: must be a finite number > 0"),
        ("--iterations", "0", "argument --iterations: must be an integer >= 1"),
        ("--val-split", "1", "argument --val-split: must be a number in [0, 1)"),
        ("--workers", "-1", "argument --workers: must be an integer >= 0"),
    ],
)
def test_train_refuses_bad_values(tmp_path, capsys, option, value, message):
    _argparse_refuses(
        capsys,
        [
            "train",
            "--coco",
            "a.json",
            "--images",
            str(tmp_path),
            "--weights",
            "w.pth",
            "--out",
            str(tmp_path / "run"),
            option,
            value,
        ],
        message,
    )
    assert not (tmp_path / "run").exists()


def test_top_k_keeps_exactly_k_detections(photo, resnet50_checkpoint, capsys):
    """--top-k N is the number of detections kept (a negative one used to drop the last one)."""
    main(["predict", "--weights", str(resnet50_checkpoint), "--device", "cpu", "--top-k", "100", str(photo)])
    everything = json.loads(capsys.readouterr().out)
    assert len(everything) > 3
    main(["predict", "--weights", str(resnet50_checkpoint), "--device", "cpu", "--top-k", "3", str(photo)])
    assert json.loads(capsys.readouterr().out) == everything[:3]


def test_predict_unknown_device_is_train_s_message(photo, tmp_path, capsys):
    line = _fails_cleanly(capsys, ["predict", "--weights", str(tmp_path / "w.pth"), "--device", "tpu", str(photo)])
    assert line == "protolabel predict: unknown device 'tpu'; use cpu, cuda, cuda:N or auto"


@pytest.mark.parametrize(
    "config,message",
    [
        ("yolact_resnet50_im20000", "at most 2048 (and at least 64), got 20000"),
        ("yolact_resnet50_im32", "at least 64 and at most 2048, got 32"),
    ],
)
def test_config_sizes_out_of_range_say_the_range(photo, resnet50_checkpoint, capsys, config, message):
    line = _fails_cleanly(
        capsys, ["predict", "--weights", str(resnet50_checkpoint), "--config", config, "--device", "cpu", str(photo)]
    )
    assert f"config '{config}'" in line and message in line


# ---------------------------------------------------------------- damaged checkpoints


def _edited_checkpoint(source, path, edit):
    state = torch.load(source, map_location="cpu", weights_only=True)
    edit(state)
    torch.save(state, path)
    return path


def test_a_checkpoint_with_only_the_background_class_is_refused(resnet50_checkpoint, photo, tmp_path, capsys):
    def background_only(state):
        for key in ("prediction_layers.0.conf_layer.weight", "prediction_layers.0.conf_layer.bias"):
            value = state[key]
            state[key] = value.reshape(3, 81, *value.shape[1:])[:, :1].reshape(3, *value.shape[1:]).clone()

    weights = _edited_checkpoint(resnet50_checkpoint, tmp_path / "yolact_resnet50_0_0.pth", background_only)
    line = _fails_cleanly(capsys, ["predict", "--weights", str(weights), "--device", "cpu", str(photo)])
    assert "the checkpoint has no object classes" in line


def test_nms_with_no_object_class_finds_nothing():
    from protolabel.segmentation.yolact.nms import NmsSettings, detect

    for method in ("fast", "traditional", "cross_class"):
        raw = detect(torch.rand(10, 4), torch.ones(10, 1), torch.zeros(10, 32), NmsSettings(method=method), 550)
        assert len(raw.scores) == 0 and raw.coefficients.shape == (0, 32)


def test_nan_and_inf_weights_are_refused_with_their_names(resnet50_checkpoint, photo, tmp_path, capsys):
    def damage(state):
        state["fpn.lat_layers.0.weight"][0, 0, 0, 0] = float("nan")
        state["proto_net.0.bias"][3] = float("inf")

    weights = _edited_checkpoint(resnet50_checkpoint, tmp_path / "yolact_resnet50_0_0.pth", damage)
    line = _fails_cleanly(capsys, ["predict", "--weights", str(weights), "--device", "cpu", str(photo)])
    assert "2 tensor(s) hold NaN or infinite values" in line
    assert "fpn.lat_layers.0.weight" in line and "proto_net.0.bias" in line


# ---------------------------------------------------------------- a failed final write keeps the results


def _disk_full_in(folder, real_write):
    def write(path, *args, **kwargs):
        if os.path.abspath(path).startswith(os.path.abspath(folder) + os.sep):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_write(path, *args, **kwargs)

    return write


def test_predict_on_a_full_disk_saves_the_detections_in_the_current_folder(
    photo, resnet50_checkpoint, tmp_path, capsys, monkeypatch
):
    import protolabel.segmentation.commands.predict as predict

    full, here = tmp_path / "full", tmp_path / "here"
    full.mkdir()
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setattr(predict, "write_output_text", _disk_full_in(full, predict.write_output_text))
    code = main(
        ["predict", "--weights", str(resnet50_checkpoint), "--device", "cpu", "--out", str(full / "d.json"), str(photo)]
    )
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    (saved,) = here.iterdir()
    assert f"could not write {full / 'd.json'} (No space left on device)" in err and str(saved) in err
    records = json.loads(saved.read_text())
    assert records and {r["file_name"] for r in records} == {str(photo)}
    assert list(full.iterdir()) == []


def test_label_on_a_full_disk_keeps_the_labels(photo, resnet50_checkpoint, tmp_path, capsys, monkeypatch):
    import protolabel.segmentation.prelabel as prelabel

    full, here = tmp_path / "full", tmp_path / "here"
    full.mkdir()
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setattr(prelabel, "write_coco", _disk_full_in(full, prelabel.write_coco))
    code = main(
        [
            "label",
            str(tmp_path),
            "--weights",
            str(resnet50_checkpoint),
            "--device",
            "cpu",
            "--score-threshold",
            "0",
            "--out",
            str(full / "labels.json"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "No space left on device" in err
    (saved,) = here.iterdir()
    assert str(saved) in err
    dataset = read_coco(saved)
    assert [img.file_name for img in dataset.images] == ["photo.png"] and dataset.num_annotations > 0


def test_inspect_on_a_read_only_folder_writes_its_files_to_a_fallback_folder(
    photo, resnet50_checkpoint, tmp_path, capsys, monkeypatch
):
    import protolabel.segmentation.commands.inspect as inspect

    out, here = tmp_path / "out", tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    real = inspect.atomic_write_bytes

    def read_only(path, data):
        if os.path.abspath(path).startswith(str(out) + os.sep):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real(path, data)

    monkeypatch.setattr(inspect, "atomic_write_bytes", read_only)
    code = main(["inspect", "--weights", str(resnet50_checkpoint), "--device", "cpu", "--out", str(out), str(photo)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "Read-only file system" in err
    (saved,) = here.iterdir()
    assert str(saved) in err
    assert sorted(p.name for p in saved.iterdir()) == ["detections.png", "inspection.npz", "prototypes.png"]
    assert np.load(saved / "inspection.npz")["masks"].shape[1:] == (48, 64)


@pytest.mark.parametrize(
    "settings", [{"top_k": -1}, {"top_k": 0}, {"score_threshold": float("nan")}, {"score_threshold": 1.5}]
)
def test_the_api_refuses_the_same_values(settings):
    from protolabel.segmentation.engine import InferenceSettings

    with pytest.raises(ValueError, match="top_k must be|score threshold must be"):
        InferenceSettings(**settings)
