"""Training progress events, and the one-line text form `protolabel train` prints for other processes.

Line format (one event per line on standard output, flushed):

    <event> <key>=<value> <key>=<value> ...

`<event>` is one of `start`, `note`, `iteration`, `evaluation`, `checkpoint`, `finished`.
Each value is compact JSON: numbers and null bare, strings always double-quoted (so paths
and names may contain spaces), lists as JSON arrays. `parse_line` reads a line back into
(event, dict) and ignores anything else (e.g. a traceback on standard error). Keys:

    start       iterations start_iteration train_images val_images classes config device
    note        text
    iteration   iteration total epoch loss box conf mask semantic [maskiou] lr images_per_s eta_s
    evaluation  iteration box_ap box_ap50 box_ap75 mask_ap mask_ap50 mask_ap75 images detections
    checkpoint  iteration path
    finished    iteration checkpoint metrics stopped

`iteration` counts iterations done (1-based); `eta_s` is the estimated time to the end of
training in seconds; AP values are fractions (0..1) or null when the validation set has no
objects of that kind; `stopped` is true when the run was cancelled (its checkpoint resumes).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # reading progress lines (another process) needs neither torch nor pycocotools
    from protolabel.segmentation.training.evaluate import Evaluation


@dataclass(frozen=True)
class RunStarted:
    iterations: int
    start_iteration: int
    train_images: int
    val_images: int
    classes: tuple[str, ...]
    config: str
    device: str


@dataclass(frozen=True)
class Note:
    """Something the user should know that does not stop training (dropped categories, a skipped step)."""

    text: str


@dataclass(frozen=True)
class IterationDone:
    iteration: int
    total: int
    epoch: int
    losses: dict[str, float] = field(default_factory=dict)
    lr: float = 0.0
    images_per_second: float = 0.0
    eta_seconds: float = 0.0

    @property
    def loss(self) -> float:
        return float(sum(self.losses.values()))


@dataclass(frozen=True)
class EvaluationDone:
    iteration: int
    evaluation: Evaluation


@dataclass(frozen=True)
class CheckpointSaved:
    iteration: int
    path: Path


@dataclass(frozen=True)
class RunFinished:
    iteration: int
    checkpoint: Path
    metrics: Path | None
    stopped: bool


ProgressEvent = RunStarted | Note | IterationDone | EvaluationDone | CheckpointSaved | RunFinished


def event_fields(event: ProgressEvent) -> tuple[str, dict[str, Any]]:
    """(event name, key -> plain value) of an event, in the documented key order."""
    if isinstance(event, RunStarted):
        return "start", {
            "iterations": event.iterations,
            "start_iteration": event.start_iteration,
            "train_images": event.train_images,
            "val_images": event.val_images,
            "classes": list(event.classes),
            "config": event.config,
            "device": event.device,
        }
    if isinstance(event, Note):
        return "note", {"text": event.text}
    if isinstance(event, IterationDone):
        values: dict[str, Any] = {
            "iteration": event.iteration,
            "total": event.total,
            "epoch": event.epoch,
            "loss": round(event.loss, 5),
        }
        values.update({name: round(v, 5) for name, v in event.losses.items()})
        values.update(
            lr=float(f"{event.lr:.6g}"),
            images_per_s=round(event.images_per_second, 3),
            eta_s=round(event.eta_seconds, 1),
        )
        return "iteration", values
    if isinstance(event, EvaluationDone):
        values = {"iteration": event.iteration}
        for kind, metrics in (("box", event.evaluation.box), ("mask", event.evaluation.mask)):
            for name in ("AP", "AP50", "AP75"):
                values[f"{kind}_{name.lower()}"] = metrics.get(name)
        values.update(images=event.evaluation.images, detections=event.evaluation.detections)
        return "evaluation", values
    if isinstance(event, CheckpointSaved):
        return "checkpoint", {"iteration": event.iteration, "path": str(event.path)}
    if isinstance(event, RunFinished):
        return "finished", {
            "iteration": event.iteration,
            "checkpoint": str(event.checkpoint),
            "metrics": None if event.metrics is None else str(event.metrics),
            "stopped": event.stopped,
        }
    raise TypeError(f"not a progress event: {event!r}")


def format_event(event: ProgressEvent) -> str:
    """The event as one line (no newline)."""
    name, values = event_fields(event)
    parts = [name] + [
        f"{key}={json.dumps(value, ensure_ascii=True, separators=(',', ':'))}" for key, value in values.items()
    ]
    return " ".join(parts)


_EVENTS = frozenset({"start", "note", "iteration", "evaluation", "checkpoint", "finished"})
_STRING = r'"(?:[^"\\]|\\.)*"'
_PAIR = re.compile(rf'(\w+)=({_STRING}|\[(?:[^\]"]|{_STRING})*\]|[^\s"\[]+)')


def parse_line(line: str) -> tuple[str, dict[str, Any]] | None:
    """(event, values) of a progress line; None for any other text."""
    head, _, rest = line.strip().partition(" ")
    if head not in _EVENTS:
        return None
    values: dict[str, Any] = {}
    for match in _PAIR.finditer(rest):
        try:
            values[match.group(1)] = json.loads(match.group(2))
        except json.JSONDecodeError:
            return None
    return head, values
