"""The headless `protolabel` subcommands (Qt-free); `app.cli` adds the GUI on top."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module defines `add_parser(subparsers)`, which registers a subcommand whose
# `func(args) -> int` default runs it. Modules are imported only when the parser is built.
HEADLESS_COMMANDS = ("predict", "train", "label", "inspect")


def build_parser(extra_commands: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="protolabel",
        description="Annotation assistant for instance segmentation built around YOLACT.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in HEADLESS_COMMANDS + extra_commands:
        module = name if "." in name else f"segmentation.commands.{name}"
        importlib.import_module(module).add_parser(subparsers)
    return parser


def add_engine_arguments(parser: argparse.ArgumentParser, *, default_top_k: int = 100) -> None:
    """--weights/--config/--device/--score-threshold/--top-k, shared by every command that runs YOLACT."""
    parser.add_argument("--weights", required=True, help="YOLACT checkpoint (.pth), official or fine-tuned")
    parser.add_argument("--config", default=None, help="config name (default: from the file name or its keys)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    parser.add_argument("--score-threshold", type=float, default=0.0, help="keep scores above this (default 0)")
    parser.add_argument("--top-k", type=int, default=default_top_k, help="max detections per image")
    parser.add_argument("--nms", choices=("fast", "traditional", "cross_class"), default="fast",
                        help="NMS variant (default: fast, as the original's eval)")


class CommandError(Exception):
    """Bad arguments or inputs of a command: printed as one line (no traceback), exit code 2."""


def engine_from_args(args: argparse.Namespace):
    """The YolactEngine the --weights/--config/--device/--score-threshold/--top-k/--nms options ask for."""
    from segmentation.engine import InferenceSettings, YolactEngine  # torch is imported only when needed
    from segmentation.yolact.checkpoint import CheckpointError
    from segmentation.yolact.nms import NmsSettings

    try:
        settings = InferenceSettings(args.score_threshold, args.top_k, NmsSettings(method=args.nms))
        return YolactEngine(args.weights, args.config, args.device, settings)
    except (CheckpointError, ValueError) as exc:
        raise CommandError(str(exc)) from None


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed subcommand, turning a CommandError into its message and exit code 2."""
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        print(f"protolabel {args.command}: {exc}", file=sys.stderr)
        return 2


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
