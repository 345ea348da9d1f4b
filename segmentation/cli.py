"""The headless `protolabel` subcommands (Qt-free); `app.cli` adds the GUI on top."""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import signal
import sys
import threading

# Each module defines `add_parser(subparsers)`, which registers a subcommand whose
# `func(args) -> int` default runs it. Modules are imported only when the parser is built.
HEADLESS_COMMANDS = ("predict", "train", "label", "inspect", "import_coco", "export_coco", "export_onnx")

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
        subparser.add_argument("-v", "--verbose", action="store_true",
                               help="log debug details, to stderr as well as the log file")
    return parser


def add_engine_arguments(parser: argparse.ArgumentParser, *, default_top_k: int = 100) -> None:
    """--weights/--config/--device/--backend/--precision/--score-threshold/--top-k/--nms, shared by every
    command that runs YOLACT."""
    parser.add_argument("--weights", required=True,
                        help="YOLACT checkpoint (.pth), official or fine-tuned, or an .onnx from export-onnx")
    parser.add_argument("--config", default=None, help="config name (default: from the file name or its keys)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    # Default torch for a .pth: auto exports it to ONNX first (a minute or more, once, cached), which stays the
    # user's call (docs/speed.md: "Inference backends"); an .onnx can only go to an ONNX backend, so it gets auto.
    parser.add_argument("--backend", choices=("torch", "onnxruntime", "openvino", "auto"), default=None,
                        help="what runs the network: torch (default for a .pth), onnxruntime, openvino, or auto "
                             "(default for an .onnx: the fastest installed one that keeps the masks); a .pth is "
                             "exported to ONNX once and cached")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default=None,
                        help="network precision (default fp32; bf16 is faster on CPUs with AVX-512 BF16 "
                             "but moves some masks, see docs/speed.md)")
    parser.add_argument("--score-threshold", type=score_threshold, default=0.0,
                        help="keep scores above this, in [0, 1] (default 0)")
    parser.add_argument("--top-k", type=positive_int, default=default_top_k,
                        help=f"max detections per image, at least 1 (default {default_top_k})")
    parser.add_argument("--nms", choices=("fast", "traditional", "cross_class"), default="fast",
                        help="NMS variant (default: fast, as the original's eval)")


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

    return _number(text, int, f"an integer from {MIN_MAX_SIZE} to {MAX_MAX_SIZE}",
                   lambda v: MIN_MAX_SIZE <= v <= MAX_MAX_SIZE)


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
        return YolactEngine(args.weights, args.config, args.device, settings, backend=args.backend,
                            precision=args.precision, onnx_cache_dir=default_cache_dir() / "onnx",
                            on_export=lambda note: print(f"protolabel {args.command}: {note}", file=sys.stderr))
    except (CheckpointError, BackendError, ValueError) as exc:
        raise CommandError(str(exc)) from None


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
    catch_term = (threading.current_thread() is threading.main_thread()
                  and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
    if catch_term:
        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
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
