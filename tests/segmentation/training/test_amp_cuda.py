"""Mixed-precision training on CUDA (run by benchmarks/gpu_check.sh on a lent GPU; skipped elsewhere)."""

import math

import pytest
import torch

from protolabel.segmentation.cli import main
from protolabel.segmentation.engine import YolactEngine
from protolabel.segmentation.training.progress import parse_line
from tests.segmentation.training.synthetic_shapes import write_dataset

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_amp_training_runs_50_iterations_and_learns(resnet50_checkpoint, tmp_path, capsys):
    coco = write_dataset(tmp_path, 6, seed=1, size=(96, 96), quadrants=True)
    out = tmp_path / "run"
    status = main(
        [
            "train",
            "--coco",
            str(coco),
            "--images",
            str(tmp_path / "images"),
            "--weights",
            str(resnet50_checkpoint),
            "--out",
            str(out),
            "--max-size",
            "96",
            "--iterations",
            "50",
            "--batch-size",
            "4",
            "--no-augment",
            "--device",
            "cuda",
            "--log-every",
            "10",
        ]
    )
    assert status == 0
    events = [parsed for line in capsys.readouterr().out.splitlines() if (parsed := parse_line(line))]
    losses = [values["loss"] for name, values in events if name == "iteration"]
    assert losses and all(math.isfinite(v) for v in losses)  # the grad scaler kept fp16 from overflowing
    assert losses[-1] < losses[0]
    finished = events[-1][1]
    assert events[-1][0] == "finished" and finished["iteration"] == 50
    engine = YolactEngine(finished["checkpoint"], device="cuda")  # the fp16 run saved float32 weights that load
    assert engine.class_names == ("disc", "square")
    assert all(p.dtype == torch.float32 for p in engine.model.parameters())
