"""Train on this project: the training set export, the run folder and the `protolabel train` command line."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from protolabel.segmentation.cli import build_parser
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.fine_tune import (
    NothingToTrainError,
    TrainingRequest,
    default_run_dir,
    export_training_set,
    process_environment,
)
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore


def request_for(folder: Path, **changes) -> TrainingRequest:
    changes.setdefault("run_dir", default_run_dir(folder))
    return TrainingRequest(folder=folder, weights=Path("/models/start.pth"), **changes)


def test_verified_only_exports_the_verified_images_with_the_labels_they_use(image_folder, square):
    with ProjectStore.open(image_folder) as store:
        store.replace_auto_objects("img1.png", [AnnotatedObject("cat", square(1, 1), score=0.9)], image_size=(48, 64))
        store.write_change(
            "img2.png",
            saved=[
                AnnotatedObject("dog", square(2, 2), Provenance.VERIFIED),
                AnnotatedObject("dog", square(20, 20), Provenance.VERIFIED),
            ],
            status=ImageStatus.VERIFIED,
        )
        store.write_change(
            "img10.png", saved=[AnnotatedObject("bird", square(5, 5), Provenance.EDITED)], status=ImageStatus.EDITED
        )
        verified = request_for(image_folder)
        summary = export_training_set(store, verified)
        everything = request_for(
            image_folder, verified_only=False, run_dir=image_folder / ".protolabel" / "training" / "all"
        )
        summary_all = export_training_set(store, everything)

    assert (summary.images, summary.annotations) == (1, 2)
    data = json.loads(verified.coco_path.read_text())
    assert verified.coco_path.parent == verified.run_dir and verified.run_dir.parent.name == "training"
    assert [c["name"] for c in data["categories"]] == ["dog"]  # only labels with examples become classes
    assert [i["file_name"] for i in data["images"]] == ["img2.png"]
    assert (summary_all.images, summary_all.annotations) == (3, 4)
    assert sorted(c["name"] for c in json.loads(everything.coco_path.read_text())["categories"]) == [
        "bird",
        "cat",
        "dog",
    ]


def test_no_objects_to_learn_from_is_a_clear_message_and_leaves_no_folder(image_folder, square):
    with ProjectStore.open(image_folder) as store:
        store.replace_auto_objects("img1.png", [AnnotatedObject("cat", square(1, 1), score=0.9)], image_size=(48, 64))
        store.write_change("img2.png", saved=[], status=ImageStatus.VERIFIED)  # verified as empty
        request = request_for(image_folder)
        with pytest.raises(NothingToTrainError, match="No verified objects.*Accept objects"):
            export_training_set(store, request)
        assert not request.run_dir.exists()
        with ProjectStore.open(image_folder) as other:
            other.write_change(
                "img1.png", saved=[], removed_ids={o.id for o in other.objects("img1.png")}, status=ImageStatus.EDITED
            )
        with pytest.raises(NothingToTrainError, match="No labelled objects"):
            export_training_set(store, request_for(image_folder, verified_only=False))


def test_a_run_folder_that_holds_files_is_refused(image_folder, square, tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "training_state.pt").write_bytes(b"x")
    with ProjectStore.open(image_folder) as store:
        store.write_change(
            "img2.png", saved=[AnnotatedObject("dog", square(2, 2), Provenance.VERIFIED)], status=ImageStatus.VERIFIED
        )
        with pytest.raises(ValueError, match="not empty"):
            export_training_set(store, request_for(image_folder, run_dir=tmp_path / "old"))
    assert (tmp_path / "old" / "training_state.pt").read_bytes() == b"x"


def test_default_run_dir_is_a_new_timestamped_folder(tmp_path):
    now = datetime(2024, 5, 1, 14, 3, 22)
    first = default_run_dir(tmp_path, now)
    assert first == tmp_path / ".protolabel" / "training" / "2024-05-01_14-03-22"
    first.mkdir(parents=True)
    assert default_run_dir(tmp_path, now).name == "2024-05-01_14-03-22-2"


def test_command_line_is_what_protolabel_train_parses(tmp_path):
    request = TrainingRequest(
        folder=tmp_path / "my photos",
        weights=tmp_path / "w.pth",
        run_dir=tmp_path / "run",
        verified_only=True,
        val_split=0.2,
        iterations=300,
        batch_size=2,
        max_size=96,
        lr=5e-4,
        device="cpu",
        config="yolact_resnet50",
    )
    command = request.command("/usr/bin/python3", resume=True)
    assert command[:4] == ["/usr/bin/python3", "-m", "protolabel.segmentation.cli", "train"]
    args = build_parser().parse_args(command[3:])
    assert (args.coco, args.images, args.out) == (
        tmp_path / "run" / "train.json",
        tmp_path / "my photos",
        tmp_path / "run",
    )
    assert (args.val_split, args.iterations, args.batch_size, args.max_size, args.lr) == (0.2, 300, 2, 96, 5e-4)
    assert (args.device, args.config, args.resume, args.weights) == ("cpu", "yolact_resnet50", True, tmp_path / "w.pth")
    assert args.log_every == 1  # 300 iterations: a progress line each, for a smooth curve
    plain = build_parser().parse_args(dataclasses.replace(request, max_size=None, config=None).arguments())
    assert plain.max_size is None and plain.config is None and not plain.resume


def test_defaults_are_protolabel_train_defaults():
    from protolabel.segmentation.training import TrainOptions

    options = {f.name: f.default for f in dataclasses.fields(TrainOptions)}
    request = {f.name: f.default for f in dataclasses.fields(TrainingRequest)}
    for name in ("val_split", "iterations", "batch_size", "max_size", "lr", "device", "config"):
        assert request[name] == options[name], name
    assert TrainingRequest(Path("."), Path("w"), Path("r")).log_every == 10


def test_the_process_finds_the_package_from_any_working_folder(tmp_path):
    env = process_environment({"PYTHONPATH": "/elsewhere", "PATH": os.environ.get("PATH", "")})
    assert env["PYTHONPATH"] == "/elsewhere" and env["PYTHONUNBUFFERED"] == "1"
    result = subprocess.run(
        [sys.executable, "-c", "import protolabel.segmentation.cli"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_verified_objects_train_from_partly_verified_images_the_rest_ignored(image_folder, square):
    """Issue 20 (C1): after Y on some objects the image stayed 'edited' and training found no verified object."""
    from protolabel.segmentation.project.project import Project

    with ProjectStore.open(image_folder) as store:
        store.replace_auto_objects(
            "img1.png",
            [AnnotatedObject("cat", square(1, 1), score=0.9), AnnotatedObject("bird", square(30, 20), score=0.4)],
            image_size=(48, 64),
        )
    project = Project.open(image_folder)
    try:
        document = project.document("img1.png")
        cat = next(o.id for o in document.objects if o.label == "cat")
        document.apply(document.accept_objects([cat]))  # Y on one of the two objects
        assert project.images.status("img1.png") is ImageStatus.EDITED
        counts = project.images.verified_counts()
        assert (counts.images, counts.partly, counts.objects, counts.images_with_objects) == (0, 1, 1, 1)
        request = request_for(image_folder)
        summary = export_training_set(project.store, request)
    finally:
        project.close()
    data = json.loads(request.coco_path.read_text())
    assert (summary.images, summary.annotations) == (1, 2)
    assert [c["name"] for c in data["categories"]] == ["cat"]  # the class nobody verified is no class
    crowd = sorted((a["iscrowd"], a["bbox"][0]) for a in data["annotations"])
    assert crowd == [(0, 1.0), (1, 30.0)]  # the cat taught, the unchecked bird a region to ignore
