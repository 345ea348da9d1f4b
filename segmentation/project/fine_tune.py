"""Train on this project: the chosen annotations exported for `protolabel train`, and its command line.

The app runs training as a separate process. Before it starts, the verified objects (segmentation/
project/verified.py: their images' other objects as regions to ignore), or all labelled objects, are
written with the project's own COCO export to RUN_DIR/train.json; the process is
`python -m protolabel.segmentation.cli train --coco RUN_DIR/train.json --images FOLDER ... --out RUN_DIR`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from protolabel.segmentation.project.export import ExportSummary, write_project_coco
from protolabel.segmentation.project.store import PROJECT_DIR_NAME, ProjectStore
from protolabel.segmentation.project_files import project_subdir

TRAINING_DIR = "training"  # runs live in FOLDER/.protolabel/training/<timestamp>/
TRAINING_COCO = "train.json"
LOG_POINTS = 200  # iteration lines wanted per run (a smooth loss curve), at most one every 10 iterations


class NothingToTrainError(ValueError):
    """The chosen images hold no object to learn from; the message says what to do."""


@dataclass(frozen=True)
class TrainingRequest:
    """What the user chose in "Train on this project…". Defaults are `protolabel train`'s own."""

    folder: Path  # the project folder: the COCO file names are relative to it
    weights: Path  # start checkpoint
    run_dir: Path
    verified_only: bool = True  # the verified objects (verified.py), else every labelled image
    val_split: float = 0.1
    iterations: int = 5000
    batch_size: int = 8
    max_size: int | None = None  # None: the start model's own input size
    lr: float = 1e-3
    device: str = "auto"
    config: str | None = None  # None: from the start checkpoint

    @property
    def coco_path(self) -> Path:
        return Path(self.run_dir) / TRAINING_COCO

    @property
    def log_every(self) -> int:
        """Iterations between progress lines: about LOG_POINTS per run, every 10 at most (the CLI's default)."""
        return max(1, min(10, self.iterations // LOG_POINTS))

    def arguments(self, *, resume: bool = False) -> list[str]:
        """The `protolabel train ...` arguments (without the program)."""
        args = [
            "train",
            "--coco",
            str(self.coco_path),
            "--images",
            str(self.folder),
            "--weights",
            str(self.weights),
            "--out",
            str(self.run_dir),
            "--val-split",
            repr(float(self.val_split)),
            "--iterations",
            str(self.iterations),
            "--batch-size",
            str(self.batch_size),
            "--lr",
            repr(float(self.lr)),
            "--device",
            self.device,
            "--log-every",
            str(self.log_every),
        ]
        if self.max_size is not None:
            args += ["--max-size", str(self.max_size)]
        if self.config:
            args += ["--config", self.config]
        if resume:
            args.append("--resume")
        return args

    def command(self, python: str = sys.executable, *, resume: bool = False) -> list[str]:
        """The whole command line: this Python running the Qt-free CLI module."""
        return [python, "-m", "protolabel.segmentation.cli", *self.arguments(resume=resume)]


def default_run_dir(folder: str | os.PathLike, now: datetime | None = None) -> Path:
    """FOLDER/.protolabel/training/<date_time>/, with a -2, -3, ... suffix if that folder exists."""
    base = Path(folder) / PROJECT_DIR_NAME / TRAINING_DIR / (now or datetime.now()).strftime("%Y-%m-%d_%H-%M-%S")
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def process_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The training process's environment: output unbuffered and in UTF-8 (the package is found as this process
    found it: installed, editable or in a bundle, from any working folder)."""
    env = dict(environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def export_training_set(store: ProjectStore, request: TrainingRequest) -> ExportSummary:
    """Write the chosen annotations to the run's COCO file with the project's COCO export.

    The class list is the labels that occur in the chosen images (a label without examples
    would only teach the model to never predict it). Raises NothingToTrainError when there is
    no object, ValueError when the run folder already holds files (another run's).
    """
    run_dir = Path(request.run_dir)
    if run_dir.exists() and any(run_dir.iterdir()):
        raise ValueError(f"{run_dir} is not empty: choose a new folder for this run")
    created = not run_dir.exists()
    runs = Path(os.path.abspath(Path(request.folder) / PROJECT_DIR_NAME / TRAINING_DIR))
    if Path(os.path.abspath(run_dir)).parent == runs:
        project_subdir(request.folder, TRAINING_DIR, create=True)  # the runs' folder is never a planted link
    run_dir.mkdir(parents=True, exist_ok=True)
    summary = write_project_coco(store, request.coco_path, verified_objects=request.verified_only)
    if summary.annotations == 0:
        request.coco_path.unlink(missing_ok=True)
        if created:
            run_dir.rmdir()
        if request.verified_only:
            raise NothingToTrainError(
                "No verified objects to train on. Accept objects that are right (Y, or V for a whole image), "
                "or train on all labelled images."
            )
        raise NothingToTrainError("No labelled objects to train on. Auto-label or draw objects first.")
    return summary
