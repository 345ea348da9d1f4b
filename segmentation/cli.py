"""The headless `protolabel` subcommands (Qt-free); `app.cli` adds the GUI on top."""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the module is imported where it is used
    from protolabel.segmentation.coco.dataset import CocoDataset
    from protolabel.segmentation.model_manager import ModelManager, OfficialModel

# Each module defines `add_parser(subparsers)`, which registers a subcommand whose
# `func(args) -> int` default runs it. Modules are imported only when the parser is built.
HEADLESS_COMMANDS = ("predict", "train", "label", "inspect", "import_coco", "export_coco", "export_onnx", "models")

logger = logging.getLogger(__name__)


def build_parser(extra_commands: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="protolabel",
        description="Annotation assistant for instance segmentation built around YOLACT.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in HEADLESS_COMMANDS + extra_commands:
        module = name if "." in name else f"protolabel.segmentation.commands.{name}"
        importlib.import_module(module).add_parser(subparsers)
    for subparser in subparsers.choices.values():
        subparser.add_argument(
            "-v", "--verbose", action="store_true", help="log debug details, to stderr as well as the log file"
        )
    return parser


def add_engine_arguments(parser: argparse.ArgumentParser, *, default_top_k: int = 100) -> None:
    """--weights/--config/--device/--backend/--precision/--score-threshold/--top-k/--nms, shared by every
    command that runs YOLACT."""
    parser.add_argument(
        "--weights",
        required=True,
        help="YOLACT checkpoint (.pth), official or fine-tuned, an .onnx from export-onnx, or an "
        "official model's name (yolact_resnet50): downloaded and verified on first use",
    )
    parser.add_argument("--config", default=None, help="config name (default: from the file name or its keys)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    # Default torch for a .pth: auto exports it to ONNX first (a minute or more, once, cached), which stays the
    # user's call (docs/speed.md: "Inference backends"); an .onnx can only go to an ONNX backend, so it gets auto.
    parser.add_argument(
        "--backend",
        choices=("torch", "onnxruntime", "openvino", "auto"),
        default=None,
        help="what runs the network: torch (default for a .pth), onnxruntime, openvino, or auto "
        "(default for an .onnx: the fastest installed one that keeps the masks); a .pth is "
        "exported to ONNX once and cached",
    )
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        default=None,
        help="network precision (default fp32; bf16 is faster on CPUs with AVX-512 BF16 "
        "but moves some masks, see docs/speed.md)",
    )
    parser.add_argument(
        "--score-threshold", type=score_threshold, default=0.0, help="keep scores above this, in [0, 1] (default 0)"
    )
    parser.add_argument(
        "--top-k",
        type=positive_int,
        default=default_top_k,
        help=f"max detections per image, at least 1 (default {default_top_k})",
    )
    parser.add_argument(
        "--nms",
        choices=("fast", "traditional", "cross_class"),
        default="fast",
        help="NMS variant (default: fast, as the original's eval)",
    )


# Argument types shared by every command: a bad value is refused by argparse with one line
# ("argument --top-k: must be an integer >= 1, got '-1'") and exit status 2, before any work.


def _number(text: str, kind: type, what: str, accept=lambda value: True):
    """`text` as an int or a finite float that `accept`s, else ArgumentTypeError "must be WHAT, got 'TEXT'"."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if (kind is float and not math.isfinite(value)) or not accept(value):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (batch sizes, counts, --top-k)."""
    return _number(text, int, "an integer >= 1", lambda v: v >= 1)


def non_negative_int(text: str) -> int:
    """An integer >= 0 (intervals where 0 means 'never', worker counts)."""
    return _number(text, int, "an integer >= 0", lambda v: v >= 0)


def worker_count(text: str) -> int:
    """A process count >= 0, at most this machine's CPU cores: more processes than cores only cost
    memory and start-up (--workers 1000 started hundreds); the cut is said in one line."""
    requested = non_negative_int(text)
    cores = machine_cores()
    if requested > cores:
        print(
            f"protolabel: --workers {requested} is more than the {cores} CPU cores here; using {cores}", file=sys.stderr
        )
        return cores
    return requested


def machine_cores() -> int:
    """The CPU cores this process may run on (its affinity where the OS tells it, else all of them)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def positive_float(text: str) -> float:
    """A finite number > 0 (learning rates)."""
    return _number(text, float, "a finite number > 0", lambda v: v > 0)


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (tolerances, clipping where 0 means 'off')."""
    return _number(text, float, "a finite number >= 0", lambda v: v >= 0)


def score_threshold(text: str) -> float:
    """A score threshold in [0, 1] (NaN and infinities refused)."""
    return _number(text, float, "a number in [0, 1]", lambda v: 0 <= v <= 1)


def fraction_below_one(text: str) -> float:
    """A fraction in [0, 1) (validation split)."""
    return _number(text, float, "a number in [0, 1)", lambda v: 0 <= v < 1)


def max_size(text: str) -> int:
    """A network input size within the range a config accepts (see segmentation.yolact.config)."""
    from protolabel.segmentation.yolact.config import MAX_MAX_SIZE, MIN_MAX_SIZE

    return _number(
        text, int, f"an integer from {MIN_MAX_SIZE} to {MAX_MAX_SIZE}", lambda v: MIN_MAX_SIZE <= v <= MAX_MAX_SIZE
    )


class CommandError(Exception):
    """Bad arguments or inputs of a command: printed as one line (no traceback), exit code 2."""


def engine_from_args(args: argparse.Namespace):
    """The YolactEngine the --weights/--config/--device/--backend/--precision/--score-threshold/--top-k/--nms
    options ask for; .pth files exported for an ONNX backend are cached beside the downloaded weights."""
    from protolabel.segmentation.backends import BackendError
    from protolabel.segmentation.engine import InferenceSettings, YolactEngine  # torch is imported only when needed
    from protolabel.segmentation.model_manager import default_cache_dir
    from protolabel.segmentation.yolact.checkpoint import CheckpointError
    from protolabel.segmentation.yolact.nms import NmsSettings

    try:
        settings = InferenceSettings(args.score_threshold, args.top_k, NmsSettings(method=args.nms))
        return YolactEngine(
            args.weights,
            args.config,
            args.device,
            settings,
            backend=args.backend,
            precision=args.precision,
            onnx_cache_dir=default_cache_dir() / "onnx",
            on_export=lambda note: print(f"protolabel {args.command}: {note}", file=sys.stderr),
        )
    except (CheckpointError, BackendError, ValueError) as exc:
        raise CommandError(str(exc)) from None


def resolve_weights(value: str, prefix: str) -> str:
    """What a weights argument names: a path that exists as it is; else an official config or file name
    (yolact_resnet50, yolact_resnet50_54_800000.pth) as the verified cached file, downloaded on first use;
    else the value unchanged (the command says the file is missing). CommandError if the download fails."""
    if not value or Path(value).expanduser().exists():
        return value
    from protolabel.segmentation.model_manager import ModelManager, find_official

    manager = ModelManager()
    model = find_official(value, manager.models)
    return value if model is None else str(download_with_progress(manager, model, prefix))


def download_with_progress(manager: ModelManager, model: OfficialModel, prefix: str) -> Path:
    """`manager.download(model)` saying what it does on stderr; a failure is a CommandError; Ctrl+C or
    SIGTERM keeps the `.part` (the next download resumes it) and says so."""
    from protolabel.segmentation.model_manager import ModelDownloadError

    try:
        source = manager.url_for(model)
    except ModelDownloadError as exc:  # a malformed mirror address
        raise CommandError(str(exc)) from None
    progress = DownloadProgress(prefix, f"downloading {model.file_name} from {source} into {manager.cache_dir}")
    try:
        if manager.is_downloaded(model) and not manager.is_verified(model):
            print(f"{prefix}: checking the cached {model.file_name}", file=sys.stderr)
        path = manager.download(
            model, progress=progress, on_wait=lambda note: print(f"{prefix}: {note}", file=sys.stderr)
        )
    except ModelDownloadError as exc:
        progress.end()
        raise CommandError(str(exc)) from None
    except KeyboardInterrupt as exc:
        progress.end()
        word, _ = interruption_exit(exc)
        print(
            f"{prefix}: download {word}; {manager.partial_bytes(model) / 1e6:.1f} MB kept in "
            f"{manager.partial_path(model)}, the next download resumes there",
            file=sys.stderr,
        )
        raise
    progress.end()
    return path


class DownloadProgress:
    """Download progress on stderr: `start` when the transfer begins (with where it resumes), then one line
    redrawn in a terminal, a line every 10 % in a log."""

    def __init__(self, prefix: str, start: str, stream=None) -> None:
        self.prefix, self.start, self.stream = prefix, start, stream or sys.stderr
        self.tty = self.stream.isatty()
        self.shown: int | None = None
        self.open_line = False

    def __call__(self, done: int, total: int | None) -> None:
        if self.shown is None:
            resume = f", resuming after {done / 1e6:.1f} MB" if done else ""
            self.stream.write(f"{self.prefix}: {self.start}{resume}\n")
        step = 1 if self.tty else 10
        mark = done * 100 // total // step if total else done // (10 << 20 if self.tty else 100 << 20)
        if mark == self.shown:
            return
        self.shown = mark
        text = (
            f"{done / 1e6:.1f} of {total / 1e6:.1f} MB ({done * 100 // total} %)" if total else f"{done / 1e6:.1f} MB"
        )
        if self.tty:
            self.stream.write(f"\r{self.prefix}: {text}   ")
            self.open_line = True
        else:
            self.stream.write(f"{self.prefix}: {text}\n")
        self.stream.flush()

    def end(self) -> None:
        """End the redrawn line (before any other message)."""
        if self.open_line:
            self.stream.write("\n")
            self.stream.flush()
            self.open_line = False


class Terminated(KeyboardInterrupt):
    """SIGTERM (a polite kill: `kill PID`, a job scheduler's time limit) raised as Ctrl+C is, so that every
    path that keeps work on Ctrl+C (label's partial save, the pools' shutdown, rolled-back writes) keeps
    it on SIGTERM too."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated


def interruption_exit(exc: KeyboardInterrupt) -> tuple[str, int]:
    """How a command stopped by Ctrl+C or SIGTERM says so, and the exit status a shell gives that signal."""
    if isinstance(exc, Terminated):
        return "terminated", 128 + signal.SIGTERM
    return "interrupted", 128 + signal.SIGINT


def previous_labels(out: Path) -> CocoDataset | None:
    """The COCO file an earlier `label` run wrote at `out` (None when there is none), or a CommandError that
    says why it cannot be read: a run never overwrites labels it could not read."""
    from protolabel.segmentation.coco.reader import CocoFormatError
    from protolabel.segmentation.prelabel import load_existing

    try:
        return load_existing(out)
    except CocoFormatError as exc:
        raise CommandError(f"{exc}\nThe existing file was left as it is; fix it or choose another --out.") from None
    except OSError as exc:
        raise CommandError(f"{out}: cannot read ({exc.strerror or exc})") from None


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed subcommand, turning a CommandError (or an unusable output path) into its message
    and exit code 2, a failed final write into its message and exit code 1, and Ctrl+C or SIGTERM into
    one line and the shell's 130 or 143 (commands that keep partial work, like `label`, catch them
    first)."""
    from protolabel.segmentation.distribution import version
    from protolabel.segmentation.logs import setup_logging
    from protolabel.segmentation.output_paths import OutputPathError, OutputWriteError

    setup_logging(verbose=getattr(args, "verbose", False))
    logger.info("protolabel %s %s (Python %s)", version(), args.command, sys.version.split()[0])
    # Only where SIGTERM still ends the process at once (not ignored, no handler of the caller's), and
    # only from the main thread, the one Python delivers signals to.
    catch_term = (
        threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    )
    if catch_term:
        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        weights = getattr(args, "weights", None)
        if weights is not None:  # every command that takes a weights file takes an official model's name too
            args.weights = type(weights)(resolve_weights(str(weights), f"protolabel {args.command}"))
        return int(args.func(args) or 0)
    except (CommandError, OutputPathError) as exc:
        logger.info("%s refused: %s", args.command, exc)
        print(f"protolabel {args.command}: {exc}", file=sys.stderr)
        return 2
    except OutputWriteError as exc:
        logger.error("%s could not write its output: %s", args.command, exc)
        print(f"protolabel {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        word, status = interruption_exit(exc)
        logger.info("%s %s", args.command, word)
        print(f"protolabel {args.command}: {word}", file=sys.stderr)
        return status
    except Exception:
        logger.exception("%s failed with an unexpected error", args.command)
        raise
    finally:
        if catch_term:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    """Headless entry point (no GUI subcommand)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return run_command(args)


if __name__ == "__main__":
    raise SystemExit(main())
