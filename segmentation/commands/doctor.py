"""`protolabel doctor [FOLDER]` (Qt-free part): what the program will use on this machine and what is wrong.

Each check returns a `Finding`; `FAIL` means the app cannot work as asked (exit status 1), `WARN` that
something works less well (no GPU, little disk). The Qt platform check is added by `app.doctor_command`,
because this package never imports Qt.
"""

from __future__ import annotations

import argparse
import enum
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from protolabel.segmentation.logs import log_file_path, log_file_problem
from protolabel.segmentation.model_manager import ModelManager

GIB = 1024**3
MIN_FREE_CACHE_BYTES = GIB  # the largest official checkpoint is about 0.2 GB; a fine-tune writes several


class Status(enum.Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Finding:
    """One line of the report (plus detail lines): what was checked, what was found."""

    topic: str
    status: Status
    summary: str
    details: tuple[str, ...] = ()


Check = Callable[[], Iterable[Finding]]


def check_python() -> list[Finding]:
    return [Finding("Python", Status.OK, f"{platform.python_version()} ({sys.executable})")]


def check_torch() -> list[Finding]:
    """torch and torchvision versions, then the CUDA devices or why CUDA is not used."""
    try:
        import torch
        import torchvision
    except Exception as exc:  # a broken install raises more than ImportError (missing .so, ABI mismatch)
        return [Finding("torch", Status.FAIL, f"cannot import torch/torchvision: {exc}")]
    findings = [Finding("torch", Status.OK, f"torch {torch.__version__}, torchvision {torchvision.__version__}")]
    findings.append(cuda_finding(torch))
    return findings


def cuda_finding(torch) -> Finding:
    """Every CUDA device with name, memory and compute capability, or the reason CUDA is not used."""
    if torch.version.cuda is None:
        return Finding("CUDA", Status.WARN, "not used: this torch is a CPU-only build (auto-labeling runs on the CPU)")
    try:
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception as exc:
        return Finding("CUDA", Status.WARN, f"not used: {exc}")
    if count == 0:
        return Finding(
            "CUDA",
            Status.WARN,
            f"not used: torch is built for CUDA {torch.version.cuda} but finds no "
            "NVIDIA GPU or driver (auto-labeling runs on the CPU)",
        )
    details = []
    for index in range(count):
        props = torch.cuda.get_device_properties(index)
        details.append(
            f"cuda:{index} {props.name}, {props.total_memory / GIB:.1f} GiB, "
            f"compute capability {props.major}.{props.minor}"
        )
    return Finding("CUDA", Status.OK, f"{count} device(s), CUDA {torch.version.cuda}", tuple(details))


def nearest_existing(path: Path) -> Path:
    """`path` or its closest existing parent (a cache folder is made on first download)."""
    path = path.absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def check_model_cache(manager: ModelManager | None = None) -> list[Finding]:
    """The model cache folder, its free space, and the official models already in it."""
    manager = manager or ModelManager()
    cache = manager.cache_dir
    existing = nearest_existing(cache)
    free = shutil.disk_usage(existing).free
    writable = os.access(existing, os.W_OK | os.X_OK)
    status = Status.OK
    notes = []
    if not writable:
        status = Status.WARN
        notes.append(f"{existing} is not writable: official models cannot be downloaded (set PROTOLABEL_CACHE_DIR)")
    if free < MIN_FREE_CACHE_BYTES:
        status = Status.WARN
        notes.append(f"only {free / GIB:.2f} GiB free: downloads and training runs may not fit")
    findings = [Finding("model cache", status, f"{cache} ({free / GIB:.1f} GiB free)", tuple(notes))]
    downloaded = [m for m in manager.models if manager.is_downloaded(m)]
    partial = [m for m in manager.models if not manager.is_downloaded(m) and manager.partial_bytes(m)]
    details = tuple(f"{m.config}: {manager.path_for(m).stat().st_size / 1e6:.0f} MB" for m in downloaded)
    details += tuple(f"{m.config}: partial download, {manager.partial_bytes(m) / 1e6:.0f} MB so far" for m in partial)
    summary = (
        f"{len(downloaded)} of {len(manager.models)} downloaded"
        if downloaded
        else f"none of {len(manager.models)} downloaded yet (Auto-label ▸ Official Models…)"
    )
    findings.append(Finding("official models", Status.OK, summary, details))
    return findings


def check_log_file() -> list[Finding]:
    """Where the log file is (to attach to a bug report), and whether it can be written."""
    path = log_file_path()
    problem = log_file_problem(path)
    if problem is not None:
        return [Finding("log file", Status.WARN, f"cannot write it: {problem} (set PROTOLABEL_LOG_DIR)")]
    return [Finding("log file", Status.OK, f"{path} (attach it to a bug report)")]


def check_folder(folder: str | os.PathLike) -> list[Finding]:
    """The folder exists and the app can write its project (FOLDER/.protolabel/) there."""
    from protolabel.segmentation.folders import image_paths

    path = Path(folder).expanduser()
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a folder"
        return [Finding("folder", Status.FAIL, f"{path} {what}")]
    try:  # os.access misses read-only mounts and ACLs; a real file answers for sure
        with tempfile.NamedTemporaryFile(dir=path, prefix=".protolabel-doctor-"):
            pass
    except OSError as exc:
        return [
            Finding(
                "folder",
                Status.FAIL,
                f"{path}: cannot write there ({exc.strerror}); the project is kept "
                "in FOLDER/.protolabel/, so the app needs write access",
            )
        ]
    images = len(image_paths(path))
    return [
        Finding(
            "folder",
            Status.OK if images else Status.WARN,
            f"{path}: writable, {images} image(s)" + ("" if images else " (none found)"),
        )
    ]


def default_checks(folder: str | None = None) -> list[Check]:
    checks: list[Check] = [check_python, check_torch, check_model_cache, check_log_file]
    if folder is not None:
        checks.append(lambda: check_folder(folder))
    return checks


def format_report(findings: Iterable[Finding]) -> str:
    lines = []
    for finding in findings:
        lines.append(f"[{finding.status.value:>4}] {finding.topic}: {finding.summary}")
        lines.extend(f"         {detail}" for detail in finding.details)
    return "\n".join(lines)


def run_checks(checks: Iterable[Check]) -> list[Finding]:
    return [finding for check in checks for finding in check()]


def exit_status(findings: Iterable[Finding]) -> int:
    """1 when anything blocks the app, else 0."""
    return 1 if any(f.status is Status.FAIL for f in findings) else 0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "doctor",
        help="check this machine: Python, torch, CUDA, model cache, a folder",
        description="Report what Protolabel will use here and what is wrong; exit status 1 when something blocks "
        "the app.",
    )
    parser.add_argument(
        "folder",
        nargs="?",
        default=None,
        help="a folder of images: check the app can open it and write its project there",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace, extra_checks: Iterable[Check] = ()) -> int:
    findings = run_checks([*default_checks(args.folder), *extra_checks])
    print(format_report(findings))
    status = exit_status(findings)
    if status:
        print("protolabel doctor: something above blocks the app (marked FAIL).", file=sys.stderr)
    return status
