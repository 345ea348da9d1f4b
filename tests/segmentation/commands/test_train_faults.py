"""`protolabel train` on a full disk, with a damaged training state, and with crowd-only data."""

from __future__ import annotations

import errno
import json
import os

import pytest
import torch

from protolabel.segmentation.cli import main
from protolabel.segmentation.coco import read_coco, write_coco
from protolabel.segmentation.training.checkpoints import (
    STATE_FILE,
    ResumeError,
    load_training_state,
    save_checkpoint,
    sidecar_path,
)
from protolabel.segmentation.yolact.checkpoint import load_yolact
from tests.segmentation.training.synthetic_shapes import write_dataset


def _enospc_inside(folder, real):
    def write(path, *args, **kwargs):
        if os.path.abspath(path).startswith(os.path.abspath(folder) + os.sep):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, *args, **kwargs)

    return write


def _train_args(tmp_path, coco, out, *extra):
    return [
        "train",
        "--coco",
        str(coco),
        "--images",
        str(tmp_path / "images"),
        "--weights",
        "{weights}",
        "--out",
        str(out),
        "--max-size",
        "64",
        "--iterations",
        "2",
        "--batch-size",
        "1",
        "--device",
        "cpu",
        "--val-split",
        "0",
        "--checkpoint-every",
        "0",
        "--log-every",
        "1",
        *extra,
    ]


def _with_weights(args, weights):
    return [str(weights) if a == "{weights}" else a for a in args]


def test_a_failed_weights_write_leaves_no_class_names_behind(tmp_path, monkeypatch):
    import protolabel.segmentation.training.checkpoints as checkpoints

    model = torch.nn.Linear(2, 2)
    monkeypatch.setattr(checkpoints, "atomic_write_bytes", _enospc_inside(tmp_path, checkpoints.atomic_write_bytes))
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(model, ["a", "b"], tmp_path / "yolact_base_0_2.pth")
    assert list(tmp_path.iterdir()) == []


def test_train_on_a_full_disk_keeps_a_resumable_run_and_says_where(tmp_path, resnet50_checkpoint, capsys, monkeypatch):
    import protolabel.segmentation.training.checkpoints as checkpoints

    coco = write_dataset(tmp_path, 2, size=(64, 64))
    run, here = tmp_path / "run", tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setattr(checkpoints, "atomic_write_bytes", _enospc_inside(run, checkpoints.atomic_write_bytes))
    status = main(_with_weights(_train_args(tmp_path, coco, run), resnet50_checkpoint))
    captured = capsys.readouterr()
    assert status == 2 and "Traceback" not in captured.err
    (line,) = captured.err.strip().splitlines()
    (fallback,) = here.iterdir()
    assert line.startswith("protolabel train: could not write") and "No space left on device" in line
    assert f"--out {fallback} --resume" in line
    assert not any(p.suffix == ".pth" or p.name.endswith(".classes.json") for p in run.iterdir())  # no orphans

    state = load_training_state(fallback)
    assert state.iteration == 2 and state.class_names == ("disc", "square")
    model, info = load_yolact(fallback / state.checkpoint)
    assert info.class_names == ("disc", "square")
    assert json.loads(sidecar_path(fallback / state.checkpoint).read_text()) == ["disc", "square"]

    monkeypatch.undo()  # space freed: the run continues from the fallback folder
    status = main(_with_weights(_train_args(tmp_path, coco, fallback, "--resume"), resnet50_checkpoint))
    out = capsys.readouterr().out
    assert status == 0 and "finished iteration=2" in out


def _state_without(run, *missing):
    run.mkdir()
    (run / "yolact_resnet50_im64_0_2.pth").write_bytes(b"")
    payload = {
        "version": 1,
        "iteration": 2,
        "checkpoint": "yolact_resnet50_im64_0_2.pth",
        "config_name": "yolact_resnet50_im64",
        "class_names": ["disc", "square"],
        "optimizer": {},
        "scaler": {},
    }
    for key in missing:
        del payload[key]
    torch.save(payload, run / STATE_FILE)


def test_resume_with_missing_state_keys_names_them(tmp_path):
    _state_without(tmp_path / "run", "optimizer", "iteration")
    with pytest.raises(ResumeError, match=r"incomplete \(missing iteration, optimizer\)"):
        load_training_state(tmp_path / "run")


def test_resume_cli_with_an_incomplete_state_is_one_line(tmp_path, resnet50_checkpoint, capsys):
    coco = write_dataset(tmp_path, 2, size=(64, 64))
    _state_without(tmp_path / "run", "scaler")
    status = main(_with_weights(_train_args(tmp_path, coco, tmp_path / "run", "--resume"), resnet50_checkpoint))
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err and "KeyError" not in err
    assert len(err.strip().splitlines()) == 1 and "missing scaler" in err


def _all_crowd(tmp_path):
    coco = write_dataset(tmp_path, 2, size=(64, 64))
    data = json.loads(coco.read_text())
    for ann in data["annotations"]:
        ann["iscrowd"] = 1
    coco.write_text(json.dumps(data))
    return coco


def test_crowd_only_data_says_why_and_crowd_as_objects_trains_on_it(tmp_path, resnet50_checkpoint, capsys):
    coco = _all_crowd(tmp_path)
    crowd = sum(img.instances.crowd.sum() for img in read_coco(coco).images)
    assert crowd > 0
    status = main(_with_weights(_train_args(tmp_path, coco, tmp_path / "run"), resnet50_checkpoint))
    err = capsys.readouterr().err
    assert status == 2 and f"{crowd} object(s) in 2 image(s)" in err and "--crowd-as-objects" in err

    status = main(
        _with_weights(_train_args(tmp_path, coco, tmp_path / "run2", "--crowd-as-objects"), resnet50_checkpoint)
    )
    out = capsys.readouterr().out
    assert status == 0 and "train_images=2" in out and "finished iteration=2" in out


def test_train_never_writes_over_its_inputs(tmp_path, capsys):
    coco = tmp_path / "train.json"
    write_coco(coco, read_coco(write_dataset(tmp_path, 1, size=(32, 32))))
    before = coco.read_bytes()
    status = main(
        ["train", "--coco", str(coco), "--images", str(tmp_path / "images"), "--weights", "w.pth", "--out", str(coco)]
    )
    err = capsys.readouterr().err
    assert status == 2 and "is a file, not a folder" in err and coco.read_bytes() == before
