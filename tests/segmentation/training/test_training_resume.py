"""A stopped run resumes exactly where it stopped; run folders are never silently overwritten."""

from dataclasses import replace

import pytest
import torch

from protolabel.segmentation.training import TrainingError, TrainOptions, train
from protolabel.segmentation.training.progress import IterationDone
from protolabel.segmentation.yolact.checkpoint import read_state_dict
from tests.segmentation.training.synthetic_shapes import write_dataset


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return write_dataset(root, 3, seed=5, size=(64, 64)), root / "images"


def options(tiny_set, checkpoint, out, **changes) -> TrainOptions:
    coco, images = tiny_set
    base = TrainOptions(
        coco=coco,
        images=images,
        weights=checkpoint,
        out=out,
        val_split=0.0,
        max_size=64,
        iterations=5,
        batch_size=1,
        lr=1e-3,
        device="cpu",
        checkpoint_every=0,
        log_every=1,
        seed=3,
    )
    return replace(base, **changes)


def test_stopped_run_resumes_to_the_same_weights_as_an_uninterrupted_one(tiny_set, resnet50_checkpoint, tmp_path):
    straight = train(options(tiny_set, resnet50_checkpoint, tmp_path / "straight"))
    assert not straight.stopped and straight.iteration == 5

    done = []

    def record(event):
        if isinstance(event, IterationDone):
            done.append(event.iteration)

    first = train(options(tiny_set, resnet50_checkpoint, tmp_path / "run"), record, lambda: len(done) >= 2)
    assert first.stopped and first.iteration == 2 and first.checkpoint.is_file()
    assert first.checkpoint.name == "yolact_resnet50_im64_0_2.pth"

    with pytest.raises(TrainingError, match="already holds a training run"):
        train(options(tiny_set, resnet50_checkpoint, tmp_path / "run"))

    resumed = train(options(tiny_set, resnet50_checkpoint, tmp_path / "run", resume=True), record)
    assert not resumed.stopped and resumed.iteration == 5 and done == [1, 2, 3, 4, 5]
    assert not first.checkpoint.exists()  # the run replaced its own older checkpoint ...
    assert resnet50_checkpoint.is_file()  # ... and nothing else
    a, b = read_state_dict(straight.checkpoint), read_state_dict(resumed.checkpoint)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key


def test_resume_needs_a_run_to_resume(tiny_set, resnet50_checkpoint, tmp_path):
    with pytest.raises(TrainingError, match="nothing to resume"):
        train(options(tiny_set, resnet50_checkpoint, tmp_path / "empty", resume=True))


def test_bad_options_and_weights_are_clear_errors(tiny_set, resnet50_checkpoint, tmp_path):
    with pytest.raises(TrainingError, match="--iterations must be at least 1"):
        train(options(tiny_set, resnet50_checkpoint, tmp_path / "a", iterations=0))
    with pytest.raises(TrainingError, match="no such weights file"):
        train(options(tiny_set, tmp_path / "missing.pth", tmp_path / "b"))
