"""`protolabel train` as another process sees it: progress lines, errors, and Cancel (SIGTERM)."""

import os
import signal
import subprocess
import sys

import pytest

from protolabel.segmentation.cli import main
from protolabel.segmentation.training.progress import parse_line
from tests.conftest import REPO_ROOT
from tests.segmentation.training.synthetic_shapes import write_dataset


def test_unusable_input_is_one_clear_line_and_status_2(tmp_path, resnet50_checkpoint, capsys):
    status = main(
        [
            "train",
            "--coco",
            str(tmp_path / "missing.json"),
            "--images",
            str(tmp_path),
            "--weights",
            str(resnet50_checkpoint),
            "--out",
            str(tmp_path / "run"),
        ]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("protolabel train: ") and "missing.json" in err and "Traceback" not in err


def test_bad_option_values_are_rejected_before_any_work(tmp_path, resnet50_checkpoint, capsys):
    coco = write_dataset(tmp_path, 2, size=(32, 32))
    args = [
        "train",
        "--coco",
        str(coco),
        "--images",
        str(tmp_path / "images"),
        "--weights",
        str(resnet50_checkpoint),
        "--out",
        str(tmp_path / "run"),
    ]
    status = main(args + ["--lr-steps", "1.5"])
    err = capsys.readouterr().err
    assert status == 2 and "--lr-steps must be fractions" in err
    with pytest.raises(SystemExit) as info:  # refused by the argument's type, as in every command
        main(args + ["--batch-size", "0"])
    assert info.value.code == 2 and "argument --batch-size: must be an integer >= 1" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_stops_with_a_resumable_checkpoint(tmp_path, resnet50_checkpoint):
    coco = write_dataset(tmp_path, 2, size=(64, 64))
    out = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "protolabel.segmentation.cli",
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
        "64",
        "--iterations",
        "1000",
        "--batch-size",
        "1",
        "--device",
        "cpu",
        "--val-split",
        "0",
        "--log-every",
        "1",
    ]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    events = []
    try:
        for line in process.stdout:
            parsed = parse_line(line)
            if parsed:
                events.append(parsed)
                if parsed[0] == "iteration" and parsed[1]["iteration"] == 2:
                    process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=120)
    finally:
        process.kill()
    name, finished = events[-1]
    assert status == 130, process.stderr.read()
    assert name == "finished" and finished["stopped"] is True and 2 <= finished["iteration"] < 1000
    assert (out / "training_state.pt").is_file() and os.path.isfile(finished["checkpoint"])


def test_command_line_defaults_are_the_training_defaults(tmp_path):
    """With only the required options, `protolabel train` asks for exactly `TrainOptions`' defaults."""
    from pathlib import Path

    from protolabel.segmentation.cli import build_parser
    from protolabel.segmentation.commands.train import options_from_args
    from protolabel.segmentation.training import TrainOptions

    required = {"coco": tmp_path / "a.json", "images": tmp_path, "weights": tmp_path / "w.pth", "out": tmp_path / "run"}
    args = build_parser().parse_args(["train"] + [f"--{k}={v}" for k, v in required.items()])
    assert options_from_args(args) == TrainOptions(**{k: Path(v) for k, v in required.items()})
