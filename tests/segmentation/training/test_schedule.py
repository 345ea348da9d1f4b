"""The learning-rate schedule: linear warm-up from a tenth of the rate, then 10x steps at the original's fractions."""

import pytest

from protolabel.segmentation.training import TrainOptions, train
from protolabel.segmentation.training.progress import IterationDone
from protolabel.segmentation.training.schedule import LearningRateSchedule
from tests.segmentation.training.synthetic_shapes import write_dataset


def test_the_original_run_length_gives_the_original_steps_and_warmup():
    # yolact_base_config: lr 1e-3, max_iter 800k, lr_steps (280k, 600k, 700k, 750k), lr_warmup_init 1e-4 over 500
    schedule = LearningRateSchedule.for_run(1e-3, 800_000)
    assert schedule.steps == (280_000, 600_000, 700_000, 750_000)
    assert (schedule.warmup_iterations, schedule.warmup_start) == (500, pytest.approx(1e-4))
    assert schedule(0) == pytest.approx(1e-4)
    assert schedule(250) == pytest.approx(5.5e-4)  # halfway up
    assert schedule(500) == pytest.approx(1e-3)
    assert schedule(279_999) == pytest.approx(1e-3) and schedule(280_000) == pytest.approx(1e-4)
    assert schedule(600_000) == pytest.approx(1e-5) and schedule(700_000) == pytest.approx(1e-6)
    assert schedule(749_999) == pytest.approx(1e-6) and schedule(750_000) == pytest.approx(1e-7)


def test_a_short_fine_tune_scales_the_steps_and_warms_up_for_a_tenth_of_it():
    schedule = LearningRateSchedule.for_run(2e-3, 1000)
    assert schedule.warmup_iterations == 100 and schedule.steps == (350, 750, 875, 938)  # 937.5 rounds to even
    rates = [schedule(i) for i in range(1000)]
    assert rates[0] == pytest.approx(2e-4) and rates[10] == pytest.approx(2e-4 + 1.8e-3 * 0.1)
    assert all(a < b for a, b in zip(rates[:100], rates[1:101]))  # rising through the warm-up
    assert rates[100] == pytest.approx(2e-3) and rates[349] == pytest.approx(2e-3)
    assert [rates[i] for i in (350, 750, 875, 938)] == pytest.approx([2e-4, 2e-5, 2e-6, 2e-7])
    assert all(a >= b for a, b in zip(rates[100:], rates[101:]))  # never rises after it


def test_explicit_warmup_and_steps():
    schedule = LearningRateSchedule.for_run(1e-2, 100, warmup_iterations=0, step_fractions=(0.8, 0.5))
    assert schedule.steps == (50, 80) and schedule(0) == pytest.approx(1e-2)
    assert [schedule(i) for i in (49, 50, 79, 80, 99)] == pytest.approx([1e-2, 1e-3, 1e-3, 1e-4, 1e-4])
    assert LearningRateSchedule.for_run(1e-3, 20_000).warmup_iterations == 500  # at most the original's 500


def test_the_trainer_runs_each_iteration_at_the_scheduled_rate(resnet50_checkpoint, tmp_path):
    coco = write_dataset(tmp_path, 2, seed=4, size=(64, 64))
    done = []
    train(
        TrainOptions(
            coco=coco,
            images=tmp_path / "images",
            weights=resnet50_checkpoint,
            out=tmp_path / "run",
            val_split=0.0,
            max_size=64,
            iterations=4,
            batch_size=1,
            lr=1e-2,
            warmup_iterations=2,
            lr_steps=(0.75,),
            device="cpu",
            log_every=1,
        ),
        lambda event: done.append(event) if isinstance(event, IterationDone) else None,
    )
    # iterations 1..4 run at schedule(0..3): warm-up 1e-3, 5.5e-3, then 1e-2, then stepped down at 3 = 0.75 * 4
    assert [event.lr for event in done] == pytest.approx([1e-3, 5.5e-3, 1e-2, 1e-3])
