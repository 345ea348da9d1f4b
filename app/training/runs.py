"""The project's past training runs (FOLDER/.protolabel/training/<run>/): what they hold on disk, and
removing them. Each keeps its checkpoint (~245 MB for a ResNet-50 model) until the user cleans up."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from protolabel.segmentation.project.fine_tune import TRAINING_DIR
from protolabel.segmentation.project.store import PROJECT_DIR_NAME
from protolabel.segmentation.project_files import project_subdir


@dataclass(frozen=True)
class RunFolder:
    path: Path
    size: int  # bytes of the files under it


def training_dir(folder: str | os.PathLike) -> Path:
    return Path(folder) / PROJECT_DIR_NAME / TRAINING_DIR


def folder_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).lstat().st_size
            except OSError:
                pass
    return total


def removable_runs(folder: str | os.PathLike, keep: tuple[str | os.PathLike | None, ...] = ()) -> list[RunFolder]:
    """The run folders of the project at `folder`, oldest first, without those holding a path in `keep` (the
    run in progress, the checkpoint auto-labeling uses). Symlinks are never followed or listed."""
    try:
        base = project_subdir(folder, TRAINING_DIR)  # a link there is not followed: its runs are not ours
    except OSError:
        return []
    kept = [Path(os.path.abspath(p)) for p in keep if p]
    runs = []
    for entry in sorted(base.iterdir()):
        if entry.is_symlink() or not entry.is_dir():
            continue
        absolute = Path(os.path.abspath(entry))
        if any(k == absolute or absolute in k.parents for k in kept):
            continue
        runs.append(RunFolder(entry, folder_size(entry)))
    return runs


def remove_runs(folder: str | os.PathLike, runs: list[RunFolder]) -> list[str]:
    """Delete the given run folders (only folders directly under the project's training folder); returns
    one line per folder that could not be removed."""
    base = Path(os.path.abspath(training_dir(folder)))
    try:
        project_subdir(folder, TRAINING_DIR)
    except OSError as exc:
        return [str(exc)]
    problems = []
    for run in runs:
        path = Path(os.path.abspath(run.path))
        if path.parent != base or run.path.is_symlink():
            problems.append(f"{run.path}: not a run folder of this project; left alone")
            continue
        try:
            shutil.rmtree(path)
        except OSError as exc:
            problems.append(f"{run.path}: {exc.strerror or exc}")
    return problems


def format_size(size: int) -> str:
    if size >= 1024**3:
        return f"{size / 1024**3:.1f} GB"
    return f"{size / 1024**2:.0f} MB"
