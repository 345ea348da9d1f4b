from pathlib import Path

import pytest

from protolabel.segmentation.training.evaluate import Evaluation
from protolabel.segmentation.training.progress import (
    CheckpointSaved,
    EvaluationDone,
    IterationDone,
    Note,
    RunFinished,
    RunStarted,
    format_event,
    parse_line,
)


def test_iteration_line_reads_back_with_losses_and_eta():
    event = IterationDone(
        40, 300, 2, {"box": 0.5, "conf": 1.25, "mask": 2.0, "semantic": 0.125}, 0.00055, 3.4567, 95.04
    )
    line = format_event(event)
    assert line.startswith("iteration iteration=40 total=300 epoch=2 loss=3.875 box=0.5 ")
    name, values = parse_line(line)
    assert name == "iteration"
    assert values == {
        "iteration": 40,
        "total": 300,
        "epoch": 2,
        "loss": 3.875,
        "box": 0.5,
        "conf": 1.25,
        "mask": 2.0,
        "semantic": 0.125,
        "lr": 0.00055,
        "images_per_s": 3.457,
        "eta_s": 95.0,
    }


@pytest.mark.parametrize(
    "event",
    [
        RunStarted(100, 0, 12, 3, ("disc", 'say "hi"', "two words"), "yolact_resnet50_im160", "cpu"),
        Note("a note with = signs, spaces and ünïcode"),
        CheckpointSaved(50, Path("/runs/my run/yolact_resnet50_im160_3_50.pth")),
        RunFinished(100, Path("C:\\runs\\x y.pth"), None, True),
        EvaluationDone(
            100, Evaluation({"AP": 0.5, "AP50": 0.9, "AP75": None}, {"AP": 0.25, "AP50": 0.75, "AP75": 0.0}, 3, 17)
        ),
    ],
)
def test_every_event_survives_the_round_trip(event):
    name, values = parse_line(format_event(event))
    assert "\n" not in format_event(event)
    if isinstance(event, RunStarted):
        assert values["classes"] == ["disc", 'say "hi"', "two words"] and values["train_images"] == 12
    elif isinstance(event, Note):
        assert values == {"text": event.text}
    elif isinstance(event, CheckpointSaved):
        assert values == {"iteration": 50, "path": str(event.path)}
    elif isinstance(event, RunFinished):
        assert values == {"iteration": 100, "checkpoint": str(event.checkpoint), "metrics": None, "stopped": True}
    else:
        assert values["box_ap"] == 0.5 and values["box_ap75"] is None and values["mask_ap50"] == 0.75
        assert values["detections"] == 17
    assert (
        name
        == {
            RunStarted: "start",
            Note: "note",
            CheckpointSaved: "checkpoint",
            RunFinished: "finished",
            EvaluationDone: "evaluation",
        }[type(event)]
    )


def test_other_text_is_not_a_progress_line():
    assert parse_line("Traceback (most recent call last):") is None
    assert parse_line("") is None
    assert parse_line("loading annotations into memory...") is None
