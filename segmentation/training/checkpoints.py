"""What a training run writes to its folder, each file atomically.

- `<config>_<epoch>_<iteration>.pth`: the model's state_dict in the official key layout (the
  original's own naming, so the config, including a resized `<config>_im<S>`, is found from
  the file name), loadable by our engine and by the original's `--trained_model`;
- `<same stem>.classes.json`: the class names, a JSON list, written before the weights so
  that a checkpoint never exists without its names;
- `training_state.pt`: what resuming needs besides the weights: iteration, optimizer and
  AMP scaler state, and the run's class list and config name. Loaded with weights_only.
A run removes its own older checkpoint once a newer one and the state naming it are on disk;
it never deletes a file it did not write.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from protolabel.segmentation.errors import first_line
from protolabel.segmentation.files import atomic_write_bytes, atomic_write_text
from protolabel.segmentation.yolact.config import YolactConfig

STATE_FILE = "training_state.pt"
STATE_VERSION = 1
# What a state file must hold to be resumed, and of which type.
STATE_KEYS: dict[str, type | tuple[type, ...]] = {
    "iteration": int,
    "checkpoint": str,
    "config_name": str,
    "class_names": (list, tuple),
    "optimizer": dict,
    "scaler": dict,
}


class ResumeError(Exception):
    """A run folder cannot be resumed (or would be overwritten); the message says why."""


def checkpoint_name(config: YolactConfig, epoch: int, iteration: int) -> str:
    return f"{config.name}_{epoch}_{iteration}.pth"


def sidecar_path(weights: Path) -> Path:
    return weights.with_suffix(".classes.json")


def save_checkpoint(model: nn.Module, class_names: Sequence[str], path: Path) -> Path:
    """Write the weights (CPU float tensors, official key order) and the class-name sidecar."""
    state = OrderedDict((k, v.detach().to("cpu", copy=True)) for k, v in model.state_dict().items())
    buffer = io.BytesIO()
    torch.save(state, buffer)
    sidecar = sidecar_path(path)
    sidecar_existed = sidecar.exists()
    atomic_write_text(sidecar, json.dumps(list(class_names), ensure_ascii=False) + "\n")
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except BaseException:
        if not sidecar_existed:  # no class names left behind without their weights
            sidecar.unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class TrainingState:
    iteration: int  # iterations done
    checkpoint: str  # file name (in the run folder) of the weights after `iteration` iterations
    config_name: str
    class_names: tuple[str, ...]
    optimizer: dict[str, Any]
    scaler: dict[str, Any]


def save_training_state(run_dir: Path, state: TrainingState) -> None:
    payload = {
        "version": STATE_VERSION,
        "iteration": state.iteration,
        "checkpoint": state.checkpoint,
        "config_name": state.config_name,
        "class_names": list(state.class_names),
        "optimizer": state.optimizer,
        "scaler": state.scaler,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(run_dir / STATE_FILE, buffer.getvalue())


def has_training_state(run_dir: Path) -> bool:
    return (run_dir / STATE_FILE).is_file()


def load_training_state(run_dir: Path) -> TrainingState:
    path = run_dir / STATE_FILE
    if not path.is_file():
        raise ResumeError(f"{run_dir}: nothing to resume (no {STATE_FILE}); start a new run without --resume")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ResumeError(f"{path}: cannot read the training state ({first_line(exc)})") from None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise ResumeError(f"{path}: not a training state this version of protolabel writes")
    missing = [key for key in STATE_KEYS if key not in data]
    if missing:
        raise ResumeError(
            f"{path}: the training state is incomplete (missing {', '.join(missing)}); it cannot be "
            "resumed: start a new run in another folder"
        )
    wrong = [key for key, kind in STATE_KEYS.items() if not isinstance(data[key], kind)]
    if not wrong:
        wrong = [
            key
            for key, bad in (
                ("iteration", data["iteration"] < 0),
                ("checkpoint", Path(data["checkpoint"]).name != data["checkpoint"]),  # a file in the run folder
                ("class_names", not all(isinstance(n, str) for n in data["class_names"])),
            )
            if bad
        ]
    if wrong:
        raise ResumeError(
            f"{path}: the training state is damaged (bad {', '.join(wrong)}); it cannot be resumed: "
            "start a new run in another folder"
        )
    checkpoint = run_dir / data["checkpoint"]
    if not checkpoint.is_file():
        raise ResumeError(f"{path}: names the checkpoint {checkpoint.name}, which is missing")
    return TrainingState(
        int(data["iteration"]),
        str(data["checkpoint"]),
        str(data["config_name"]),
        tuple(data["class_names"]),
        data["optimizer"],
        data["scaler"],
    )


def remove_checkpoint(path: Path) -> None:
    """Delete a checkpoint this run wrote, with its sidecar (never called on files the run did not write)."""
    path.unlink(missing_ok=True)
    sidecar_path(path).unlink(missing_ok=True)
