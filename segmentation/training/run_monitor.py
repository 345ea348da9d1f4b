"""The state of a `protolabel train` process as another program sees it (Qt-free, evented).

The app runs training as a separate process and hands its output here: `feed_stdout(bytes)`
with whatever arrived on standard output, `feed_stderr(bytes)` likewise, then
`process_finished(exit_code)`. The monitor reads the progress lines with `parse_line` and
holds what a progress view shows: iteration and total, the latest loss terms, a bounded loss
history, ETA, evaluations, the checkpoints, the tail of standard error, and where the run
stands (`RunState`). Widgets subscribe to `events` and never parse anything themselves.
"""

from __future__ import annotations

import codecs
from collections import deque
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from psygnal import Signal, SignalGroup

from protolabel.segmentation.training.progress import parse_line

STDERR_TAIL_LINES = 40
HISTORY_LIMIT = 4000  # loss points kept; beyond it every other point is dropped (the chart looks the same)
EXIT_STOPPED = 130  # `protolabel train` after SIGINT/SIGTERM (segmentation.commands.train.EXIT_STOPPED)
_NOT_LOSS_TERMS = frozenset({"iteration", "total", "epoch", "loss", "lr", "images_per_s", "eta_s"})


class RunState(str, Enum):
    IDLE = "idle"  # nothing started yet
    STARTING = "starting"  # the process runs, training has not begun (imports, data, model)
    RUNNING = "running"
    STOPPING = "stopping"  # Cancel asked; the process finishes its iteration and saves a checkpoint
    FINISHED = "finished"  # all iterations done (and evaluated)
    STOPPED = "stopped"  # cancelled; resumable when a checkpoint was saved
    FAILED = "failed"  # the process ended with an error; `error` says what

    @property
    def active(self) -> bool:
        return self in (RunState.STARTING, RunState.RUNNING, RunState.STOPPING)


@dataclass(frozen=True)
class EvaluationResult:
    """One `evaluation` line: COCO AP on the validation images (None where it has no such objects)."""

    iteration: int
    box_ap: float | None
    box_ap50: float | None
    box_ap75: float | None
    mask_ap: float | None
    mask_ap50: float | None
    mask_ap75: float | None
    images: int
    detections: int

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> EvaluationResult:
        return cls(
            int(values.get("iteration", 0)),
            *(
                _optional_float(values.get(key))
                for key in ("box_ap", "box_ap50", "box_ap75", "mask_ap", "mask_ap50", "mask_ap75")
            ),
            int(values.get("images", 0)),
            int(values.get("detections", 0)),
        )


class RunMonitorEvents(SignalGroup):
    state = Signal(object)  # RunState
    started = Signal()  # the `start` line: classes, device, config, image counts are known
    iteration = Signal(int)  # an `iteration` line: iteration, losses, ETA changed
    evaluation = Signal(object)  # EvaluationResult
    checkpoint = Signal(object)  # Path of a saved checkpoint
    note = Signal(str)
    stderr = Signal(str)  # a complete line of standard error


class _LineSplitter:
    """Bytes in, complete text lines out (UTF-8 decoded incrementally, so a character may span two reads)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def feed(self, data: bytes) -> list[str]:
        text = self._pending + self._decoder.decode(data)
        *lines, self._pending = text.replace("\r\n", "\n").split("\n")
        return lines

    def flush(self) -> list[str]:
        rest, self._pending = self._pending + self._decoder.decode(b"", final=True), ""
        self._decoder.reset()
        return [rest] if rest else []


class RunMonitor:
    """What a training process has reported so far. Use from one thread (the one that feeds it)."""

    def __init__(self, history_limit: int = HISTORY_LIMIT) -> None:
        self.events = RunMonitorEvents()
        self.history_limit = max(history_limit, 2)
        self.state = RunState.IDLE
        self._reset()

    def _reset(self) -> None:
        self.iteration = 0
        self.total = 0
        self.start_iteration = 0
        self.epoch = 0
        self.loss: float | None = None
        self.losses: dict[str, float] = {}
        self.loss_history: list[tuple[int, float]] = []
        self.lr: float | None = None
        self.images_per_second: float | None = None
        self.eta_seconds: float | None = None
        self.classes: tuple[str, ...] = ()
        self.config = ""
        self.device = ""
        self.train_images = 0
        self.val_images = 0
        self.evaluations: list[EvaluationResult] = []
        self.checkpoint: Path | None = None  # the latest checkpoint the run saved
        self.final_checkpoint: Path | None = None  # from the `finished` line
        self.metrics_path: Path | None = None
        self.notes: list[str] = []
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self.exit_code: int | None = None
        self.error: str | None = None
        self._finished_line: dict[str, Any] | None = None
        self._stop_requested = False
        self._stdout = _LineSplitter()
        self._stderr = _LineSplitter()

    # ---------------------------------------------------------------- derived
    @property
    def fraction(self) -> float:
        """Share of the iterations done, 0..1."""
        return min(self.iteration / self.total, 1.0) if self.total else 0.0

    @property
    def final_evaluation(self) -> EvaluationResult | None:
        """The evaluation of the finished run's last iteration, if it had validation images."""
        if self.state is RunState.FINISHED and self.evaluations and self.evaluations[-1].iteration == self.iteration:
            return self.evaluations[-1]
        return None

    @property
    def can_resume(self) -> bool:
        """A cancelled or failed run that saved a checkpoint (and its training state) can go on."""
        return self.state in (RunState.STOPPED, RunState.FAILED) and self.checkpoint is not None

    # ---------------------------------------------------------------- process life
    def begin(self, *, resume: bool = False) -> None:
        """A process was launched. Resuming keeps what the stopped run reported (history, evaluations)."""
        if resume:
            kept = (self.loss_history, self.evaluations, self.notes, self.checkpoint, self.classes, self.total)
            self._reset()
            self.loss_history, self.evaluations, self.notes, self.checkpoint, self.classes, self.total = kept
            self.iteration = self.loss_history[-1][0] if self.loss_history else 0
        else:
            self._reset()
        self._set_state(RunState.STARTING)

    def request_stop(self) -> None:
        """Cancel was asked (the process got SIGTERM)."""
        if self.state.active:
            self._stop_requested = True
            self._set_state(RunState.STOPPING)

    def fail_to_start(self, message: str) -> None:
        """The process could not be launched at all (missing interpreter, no permission)."""
        self.error = message
        self._set_state(RunState.FAILED)

    def process_finished(self, exit_code: int | None, *, crashed: bool = False) -> None:
        """The process ended (exit code None or crashed=True: killed by a signal). Decides the final state."""
        for line in self._stdout.flush():
            self.feed_line(line)
        for line in self._stderr.flush():
            self._add_stderr_line(line)
        self.exit_code = None if crashed else exit_code
        finished = self._finished_line
        if finished is not None and not finished.get("stopped") and exit_code == 0 and not crashed:
            self._set_state(RunState.FINISHED)
        elif finished is not None and finished.get("stopped"):
            self._set_state(RunState.STOPPED)
        elif self._stop_requested or exit_code == EXIT_STOPPED:  # killed after the timeout, or cancelled early
            self._set_state(RunState.STOPPED)
        else:
            self.error = self._error_message(exit_code, crashed)
            self._set_state(RunState.FAILED)

    def _error_message(self, exit_code: int | None, crashed: bool) -> str:
        lines = [line for line in self.stderr_tail if line.strip()]
        own = [line for line in lines if line.startswith("protolabel train: ")]
        if own:  # the CLI's one-line message for unusable input
            return own[-1].removeprefix("protolabel train: ")
        if lines:  # e.g. the last line of a traceback: "RuntimeError: ..."
            return lines[-1]
        return "the training process was killed" if crashed else f"training exited with status {exit_code}"

    # ---------------------------------------------------------------- output
    def feed_stdout(self, data: bytes) -> None:
        """Whatever arrived on standard output; complete lines are read, a partial line waits for the rest."""
        for line in self._stdout.feed(data):
            self.feed_line(line)

    def feed_stderr(self, data: bytes) -> None:
        for line in self._stderr.feed(data):
            self._add_stderr_line(line)

    def _add_stderr_line(self, line: str) -> None:
        self.stderr_tail.append(line)
        self.events.stderr.emit(line)

    def feed_line(self, line: str) -> bool:
        """One line of standard output; True when it was a progress line."""
        parsed = parse_line(line)
        if parsed is None:
            return False
        name, values = parsed
        try:
            getattr(self, f"_on_{name}")(values)
        except (KeyError, TypeError, ValueError):  # a damaged line (e.g. interleaved output) is skipped
            return False
        return True

    def _on_start(self, values: dict[str, Any]) -> None:
        self.total = int(values.get("iterations", 0))
        self.start_iteration = self.iteration = int(values.get("start_iteration", 0))
        self.loss_history = [p for p in self.loss_history if p[0] <= self.start_iteration]
        self.evaluations = [e for e in self.evaluations if e.iteration <= self.start_iteration]
        self.train_images = int(values.get("train_images", 0))
        self.val_images = int(values.get("val_images", 0))
        self.classes = tuple(values.get("classes") or ())
        self.config = str(values.get("config", ""))
        self.device = str(values.get("device", ""))
        if self.state is RunState.STARTING:
            self._set_state(RunState.RUNNING)
        self.events.started.emit()

    def _on_note(self, values: dict[str, Any]) -> None:
        text = str(values.get("text", ""))
        self.notes.append(text)
        self.events.note.emit(text)

    def _on_iteration(self, values: dict[str, Any]) -> None:
        self.iteration = int(values["iteration"])
        self.total = int(values.get("total", self.total))
        self.epoch = int(values.get("epoch", self.epoch))
        self.losses = {k: float(v) for k, v in values.items() if k not in _NOT_LOSS_TERMS and v is not None}
        self.loss = float(values["loss"]) if values.get("loss") is not None else sum(self.losses.values())
        self.lr = _optional_float(values.get("lr"))
        self.images_per_second = _optional_float(values.get("images_per_s"))
        self.eta_seconds = _optional_float(values.get("eta_s"))
        self.loss_history.append((self.iteration, self.loss))
        if len(self.loss_history) > self.history_limit:
            self.loss_history = self.loss_history[::2] + (
                [self.loss_history[-1]] if len(self.loss_history) % 2 == 0 else []
            )
        if self.state is RunState.STARTING:
            self._set_state(RunState.RUNNING)
        self.events.iteration.emit(self.iteration)

    def _on_evaluation(self, values: dict[str, Any]) -> None:
        result = EvaluationResult.from_values(values)
        self.evaluations = [e for e in self.evaluations if e.iteration != result.iteration] + [result]
        self.events.evaluation.emit(result)

    def _on_checkpoint(self, values: dict[str, Any]) -> None:
        self.checkpoint = Path(values["path"])
        self.events.checkpoint.emit(self.checkpoint)

    def _on_finished(self, values: dict[str, Any]) -> None:
        self._finished_line = values
        self.iteration = int(values.get("iteration", self.iteration))
        if values.get("checkpoint"):
            self.final_checkpoint = self.checkpoint = Path(values["checkpoint"])
        self.metrics_path = Path(values["metrics"]) if values.get("metrics") else None
        if not values.get("stopped"):
            self.eta_seconds = 0.0

    def _set_state(self, state: RunState) -> None:
        if state is not self.state:
            self.state = state
            self.events.state.emit(state)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
