"""RunMonitor: the state of a `protolabel train` process, read from the lines the training code prints."""

from __future__ import annotations

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
)
from protolabel.segmentation.training.run_monitor import RunMonitor, RunState

RUN = Path("/runs/my run")
LOSSES = {"box": 1.5, "conf": 3.0, "mask": 2.0, "semantic": 0.5}


def output(*events) -> bytes:
    """What `protolabel train` writes for these events (format_event is what its CLI prints)."""
    return "".join(format_event(e) + "\n" for e in events).encode("utf-8")


def iteration(i: int, total: int = 100, scale: float = 1.0) -> IterationDone:
    return IterationDone(i, total, i // 10, {k: v * scale for k, v in LOSSES.items()}, 1e-3, 4.0, (total - i) * 0.5)


def started(total: int = 100, start: int = 0) -> RunStarted:
    return RunStarted(total, start, 9, 1, ("disc", "square ü"), "yolact_resnet50_im96", "cpu")


def recorder(monitor: RunMonitor) -> list:
    seen = []
    monitor.events.state.connect(lambda state: seen.append(state))
    return seen


def test_a_whole_run_as_its_output_arrives_in_arbitrary_pieces():
    monitor = RunMonitor()
    states = recorder(monitor)
    iterations = []
    monitor.events.iteration.connect(iterations.append)
    evaluation = Evaluation({"AP": 0.625, "AP50": 0.9, "AP75": None}, {"AP": 0.5, "AP50": 0.875, "AP75": 0.25}, 1, 12)
    data = output(
        Note("yolact_resnet50_0_0.pth: new classes ['disc']"),
        started(),
        *(iteration(i, scale=1 / i) for i in (1, 10, 20)),
        CheckpointSaved(20, RUN / "yolact_resnet50_im96_2_20.pth"),
        iteration(30, scale=0.1),
        EvaluationDone(100, evaluation),
        RunFinished(100, RUN / "yolact_resnet50_im96_9_100.pth", RUN / "metrics.json", False),
    )
    monitor.begin()
    assert monitor.state is RunState.STARTING
    for start in range(0, len(data), 7):  # pipes deliver any number of bytes (even half a character)
        monitor.feed_stdout(data[start : start + 7])
    monitor.process_finished(0)

    assert states == [RunState.STARTING, RunState.RUNNING, RunState.FINISHED]
    assert iterations == [1, 10, 20, 30]
    assert monitor.classes == ("disc", "square ü") and monitor.device == "cpu" and monitor.train_images == 9
    assert monitor.notes == ["yolact_resnet50_0_0.pth: new classes ['disc']"]
    assert [i for i, _ in monitor.loss_history] == [1, 10, 20, 30]
    assert monitor.loss_history[0][1] == pytest.approx(7.0) and monitor.loss_history[-1][1] == pytest.approx(0.7)
    assert monitor.losses == pytest.approx({k: v * 0.1 for k, v in LOSSES.items()})
    assert monitor.final_checkpoint == RUN / "yolact_resnet50_im96_9_100.pth" == monitor.checkpoint
    assert monitor.iteration == 100 and monitor.fraction == 1.0 and monitor.eta_seconds == 0.0
    final = monitor.final_evaluation
    assert final.box_ap == 0.625 and final.box_ap75 is None and final.mask_ap50 == 0.875 and final.detections == 12
    assert monitor.metrics_path == RUN / "metrics.json" and not monitor.can_resume and monitor.error is None


def test_iteration_line_fills_losses_eta_and_speed():
    monitor = RunMonitor()
    monitor.begin()
    monitor.feed_stdout(output(started(300), IterationDone(40, 300, 2, {**LOSSES, "maskiou": 0.25}, 5.5e-4, 3.5, 95.0)))
    assert monitor.state is RunState.RUNNING
    assert (monitor.iteration, monitor.total, monitor.epoch) == (40, 300, 2)
    assert monitor.fraction == pytest.approx(40 / 300)
    assert monitor.loss == pytest.approx(7.25) and monitor.losses["maskiou"] == 0.25
    assert (monitor.lr, monitor.images_per_second, monitor.eta_seconds) == (5.5e-4, 3.5, 95.0)


def test_other_output_and_damaged_lines_are_ignored():
    monitor = RunMonitor()
    monitor.begin()
    monitor.feed_stdout(b"loading annotations into memory...\niteration total=3\n" + output(iteration(1)))
    assert [i for i, _ in monitor.loss_history] == [1]


def test_cancel_stops_with_the_checkpoint_the_run_saved():
    monitor = RunMonitor()
    states = recorder(monitor)
    monitor.begin()
    monitor.feed_stdout(output(started(1000), iteration(1, 1000)))
    monitor.request_stop()
    monitor.feed_stdout(
        output(iteration(2, 1000), CheckpointSaved(2, RUN / "a_0_2.pth"), RunFinished(2, RUN / "a_0_2.pth", None, True))
    )
    monitor.process_finished(130)
    assert states[-2:] == [RunState.STOPPING, RunState.STOPPED]
    assert monitor.iteration == 2 and monitor.final_checkpoint == RUN / "a_0_2.pth"
    assert monitor.can_resume and monitor.final_evaluation is None


def test_cancel_before_training_began_is_stopped_but_not_resumable():
    monitor = RunMonitor()
    monitor.begin()
    monitor.request_stop()
    monitor.process_finished(None, crashed=True)  # SIGTERM arrived before the CLI installed its handler
    assert monitor.state is RunState.STOPPED and not monitor.can_resume


def test_resume_keeps_the_history_up_to_the_checkpoint_and_goes_on():
    monitor = RunMonitor()
    monitor.begin()
    monitor.feed_stdout(
        output(started(100), iteration(10), iteration(20), CheckpointSaved(20, RUN / "a_1_20.pth"), iteration(25))
    )
    monitor.request_stop()
    monitor.process_finished(None, crashed=True)  # killed after the timeout: iteration 25 never saved
    assert monitor.can_resume and monitor.checkpoint == RUN / "a_1_20.pth"
    monitor.begin(resume=True)
    assert monitor.state is RunState.STARTING and monitor.iteration == 25
    monitor.feed_stdout(output(Note("resuming a_1_20.pth after 20 iterations"), started(100, start=20), iteration(30)))
    assert [i for i, _ in monitor.loss_history] == [10, 20, 30]
    assert monitor.start_iteration == 20 and monitor.state is RunState.RUNNING


def test_unusable_input_fails_with_the_cli_message():
    monitor = RunMonitor()
    lines = []
    monitor.events.stderr.connect(lines.append)
    monitor.begin()
    monitor.feed_stderr(b"protolabel train: /p/train.json: no training image has an object to learn from")
    monitor.process_finished(2)  # the last line has no newline: it is still read
    assert monitor.state is RunState.FAILED and monitor.exit_code == 2
    assert monitor.error == "/p/train.json: no training image has an object to learn from"
    assert lines == ["protolabel train: /p/train.json: no training image has an object to learn from"]
    assert not monitor.can_resume


def test_a_crash_reports_the_last_line_of_the_traceback_and_keeps_a_bounded_tail():
    monitor = RunMonitor()
    monitor.begin()
    monitor.feed_stdout(output(started(), iteration(1)))
    monitor.feed_stderr("".join(f"  frame {i}\n" for i in range(100)).encode() + b"RuntimeError: CUDA out of memory\n")
    monitor.process_finished(1)
    assert monitor.state is RunState.FAILED and monitor.error == "RuntimeError: CUDA out of memory"
    assert len(monitor.stderr_tail) == 40 and monitor.stderr_tail[-1] == "RuntimeError: CUDA out of memory"


def test_a_killed_process_without_output_fails_plainly():
    monitor = RunMonitor()
    monitor.begin()
    monitor.process_finished(None, crashed=True)
    assert monitor.state is RunState.FAILED and monitor.error == "the training process was killed"
    monitor.begin()
    monitor.fail_to_start("python: not found")
    assert monitor.state is RunState.FAILED and monitor.error == "python: not found"


def test_a_long_history_is_thinned_but_keeps_its_ends():
    monitor = RunMonitor(history_limit=100)
    monitor.begin()
    monitor.feed_stdout(output(started(1000), *(iteration(i, 1000) for i in range(1, 1001))))
    steps = [i for i, _ in monitor.loss_history]
    assert 50 <= len(steps) <= 100 and steps[0] == 1 and steps[-1] == 1000 and steps == sorted(steps)
