"""A validation split never holds out more than the fraction asked, rounded down; few images all train."""

import json

import pytest

from protolabel.segmentation.training import TrainOptions, train
from protolabel.segmentation.training.dataset import (
    DatasetError,
    TrainingImages,
    split_for_validation,
    validation_count,
)
from protolabel.segmentation.training.progress import EvaluationDone, Note, RunStarted
from tests.segmentation.training.synthetic_shapes import write_dataset


@pytest.mark.parametrize(
    "n,fraction,held_out",
    [
        (2, 0.1, 0),
        (9, 0.1, 0),
        (10, 0.1, 1),
        (19, 0.1, 1),
        (20, 0.1, 2),
        (2, 0.5, 1),
        (3, 0.5, 1),
        (5, 0.2, 1),
        (4, 0.2, 0),
        (100, 0.29, 29),  # 100 * 0.29 is 28.999999999999996 in floating point
        (1, 0.9, 0),
        (0, 0.5, 0),
        (50, 0.0, 0),
    ],
)
def test_validation_count_is_the_fraction_rounded_down(n, fraction, held_out):
    assert validation_count(n, fraction) == held_out
    assert held_out <= n * fraction + 1e-9 and (n == 0 or held_out < n)  # never more than asked, one trains


def test_fraction_outside_zero_to_one_is_refused():
    with pytest.raises(DatasetError, match=r"must be in \[0, 1\)"):
        validation_count(10, 1.0)


def test_split_holds_out_exactly_the_count(tmp_path):
    path = write_dataset(tmp_path, 9, size=(32, 32))
    images = TrainingImages.from_file(path, tmp_path / "images")
    train_part, val_part = split_for_validation(images, 0.1, seed=0)
    assert (len(train_part), len(val_part)) == (9, 0)
    train_part, val_part = split_for_validation(images, 0.34, seed=0)
    assert (len(train_part), len(val_part)) == (6, 3)


def test_two_images_with_default_options_both_train_and_no_ap_is_reported(resnet50_checkpoint, tmp_path):
    coco = write_dataset(tmp_path, 2, seed=1, size=(64, 64))
    events = []
    defaults = TrainOptions(coco=coco, images=tmp_path / "images", weights=resnet50_checkpoint, out=tmp_path / "run")
    assert defaults.val_split == 0.1  # the default this test is about
    result = train(
        TrainOptions(
            coco=coco,
            images=tmp_path / "images",
            weights=resnet50_checkpoint,
            out=tmp_path / "run",
            max_size=64,
            iterations=2,
            batch_size=2,
            device="cpu",
            log_every=1,
        ),
        events.append,
    )
    started = next(e for e in events if isinstance(e, RunStarted))
    assert (started.train_images, started.val_images) == (2, 0)
    first_note = next(e for e in events if isinstance(e, Note))
    assert "no validation images" in first_note.text and "all 2 train" in first_note.text
    assert "no AP" in first_note.text
    assert events.index(first_note) < events.index(started)
    assert not any(isinstance(e, EvaluationDone) for e in events)
    assert result.evaluation is None and result.metrics_path is None
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert not result.stopped and result.iteration == 2


def test_a_held_out_share_is_announced_and_evaluated(resnet50_checkpoint, tmp_path):
    coco = write_dataset(tmp_path, 10, seed=2, size=(64, 64))
    events = []
    result = train(
        TrainOptions(
            coco=coco,
            images=tmp_path / "images",
            weights=resnet50_checkpoint,
            out=tmp_path / "run",
            max_size=64,
            iterations=1,
            batch_size=2,
            device="cpu",
            log_every=1,
        ),
        events.append,
    )
    started = next(e for e in events if isinstance(e, RunStarted))
    assert (started.train_images, started.val_images) == (9, 1)
    assert "1 of 10 images held out for validation" in next(e for e in events if isinstance(e, Note)).text
    assert result.evaluation is not None and result.evaluation.images == 1
    assert json.loads(result.metrics_path.read_text())["final"]["iteration"] == 1
