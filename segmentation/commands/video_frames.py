"""Running a model over a video's frames for `predict VIDEO` and `label VIDEO`: every frame in full, or a
YolactEdge video model's keyframe path (`--keyframe-interval`), each result tagged with its frame identity."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from protolabel.segmentation.cli import CommandError
from protolabel.segmentation.media.errors import FrameDecodeError, VideoError
from protolabel.segmentation.media.reader import VideoReader, is_video_name

if TYPE_CHECKING:  # the engine pulls in torch
    from protolabel.segmentation.detections import Detections
    from protolabel.segmentation.engine import YolactEngine


@dataclass(frozen=True)
class FrameResult:
    """One frame's detections: its number, the image (BGR, rotation applied) and whether it ran in full."""

    index: int
    image: np.ndarray
    detections: Detections
    keyframe: bool


def is_video_input(item: str) -> bool:
    """A command-line input that names a video file (by its extension; a folder never is one)."""
    return is_video_name(item) and not Path(item).is_dir()


def open_video(path: str | Path) -> VideoReader:
    """The video a user named on the command line (a link they named is followed); CommandError if unreadable."""
    try:
        reader = VideoReader(path, follow_links=True)
    except VideoError as exc:
        raise CommandError(str(exc)) from None
    if reader.note:
        print(f"warning: {reader.note}", file=sys.stderr)
    return reader


NON_KEYFRAME_BACKENDS = ("torch", "onnxruntime", "openvino")


def add_non_keyframe_backend_argument(parser: argparse.ArgumentParser) -> None:
    """--non-keyframe-backend, for the commands that take --keyframe-interval."""
    parser.add_argument(
        "--non-keyframe-backend",
        choices=NON_KEYFRAME_BACKENDS,
        default="torch",
        help="with --keyframe-interval above 1: what runs the frames between keyframes (the keyframes run on "
        "torch). onnxruntime / openvino: that network exported to ONNX at the start (CPU only; needs the "
        "extra); same detections within the fidelity tolerances (default torch)",
    )


def check_keyframe_path_options(args: argparse.Namespace) -> None:
    """Refuse, before any work, options the keyframe path cannot run with (it needs the torch model)."""
    if (args.keyframe_interval or 1) > 1 and (
        args.backend not in (None, "torch") or Path(args.weights).suffix.lower() == ".onnx"
    ):
        raise CommandError(
            "the keyframe path (--keyframe-interval above 1) runs its keyframes on the torch backend: use a "
            ".pth checkpoint with --backend torch (--non-keyframe-backend chooses what runs the frames between), "
            "or --keyframe-interval 1"
        )
    if getattr(args, "non_keyframe_backend", "torch") != "torch" and (args.keyframe_interval or 1) == 1:
        raise CommandError("--non-keyframe-backend needs --keyframe-interval above 1: there are no non-keyframes")


def sequence_runner(engine: YolactEngine, keyframe_interval: int, non_keyframe_backend: str = "torch") -> Any:
    """A SequenceRunner for the command line (its refusals as CommandError), non-keyframes on the chosen backend."""
    from protolabel.segmentation.backends.base import BackendError
    from protolabel.segmentation.video import SequenceRunner, VideoPathError, onnx_partial_network

    try:
        partial = None if non_keyframe_backend == "torch" else onnx_partial_network(engine, non_keyframe_backend)
        return SequenceRunner(engine, keyframe_interval, partial_network=partial)
    except (VideoPathError, BackendError) as exc:
        raise CommandError(str(exc)) from None


def frame_results(
    engine: YolactEngine,
    reader: VideoReader,
    frames: Sequence[int],
    keyframe_interval: int | None,
    on_skip: Callable[[str], None] = lambda text: print(f"skipped: {text}", file=sys.stderr),
    non_keyframe_backend: str = "torch",
) -> Iterator[FrameResult]:
    """Detections for `frames` of the video, in the order given. With a keyframe interval the frames run as one
    sequence; a frame after a gap (a skipped or unreadable one) is a keyframe, so features are never warped
    across frames that were not seen. A frame that cannot be decoded is skipped and said through `on_skip`;
    a file changed meanwhile stops the run (VideoChangedError)."""
    runner = None
    if keyframe_interval is not None:
        runner = sequence_runner(engine, keyframe_interval, non_keyframe_backend)
    for index in frames:
        try:
            image = reader.read(index)
        except FrameDecodeError as exc:
            on_skip(str(exc))
            continue
        if runner is None:
            detections = engine.predict([image])[0]
            keyframe = True
        else:
            detections = runner.predict_frame(index, image)
            keyframe = runner.last_was_keyframe
        yield FrameResult(index, image, detections, keyframe)
