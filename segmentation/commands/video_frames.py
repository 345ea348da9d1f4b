"""Running a model over a video's frames, or a folder's frames in order, for `predict` and `label`: every frame
in full, or a YolactEdge video model's keyframe path (`--keyframe-interval`), each result tagged with its frame."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from protolabel.segmentation.cli import CommandError
from protolabel.segmentation.images import ImageReadError, read_image
from protolabel.segmentation.media.errors import FrameDecodeError, VideoError
from protolabel.segmentation.media.frame_folder import frame_number
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
    if args.keyframe_interval is not None and (
        getattr(args, "batch_size", 1) != 1 or getattr(args, "workers", None) is not None
    ):
        raise CommandError(
            "--batch-size and --workers batch images that run on their own; with --keyframe-interval the frames "
            "run one after another: leave them out"
        )


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


@dataclass(frozen=True)
class SequenceFrame:
    """An image file as a frame of a sequence: its name, its path and its place on the sequence's timeline.

    index counts frames, so the frame after a missing one does not follow its predecessor (index + 1);
    missing is the frame numbers absent just before it ('4-5'), '' when none are."""

    name: str
    path: Path
    index: int
    missing: str = ""


def sequence_timeline(files: Sequence[tuple[str, Path]]) -> list[SequenceFrame]:
    """Image files in the order given as a timeline. Where the numbers in names sharing a pattern jump
    (frame_0004.png after frame_0002.png) the frames in between are missing; the step between the numbers
    is their greatest common step (a folder of every fifth frame, 0005, 0010, ..., misses nothing). A name
    without a number, or with another pattern than the one before, simply follows it."""
    numbers = [frame_number(name) for name, _ in files]
    steps: dict[str, int] = {}
    for before, after in zip(numbers, numbers[1:]):
        if before is not None and after is not None and before[0] == after[0]:
            steps[after[0]] = math.gcd(steps.get(after[0], 0), after[1] - before[1])
    timeline: list[SequenceFrame] = []
    for position, ((name, path), number) in enumerate(zip(files, numbers)):
        previous = numbers[position - 1] if position else None
        if not timeline or number is None or previous is None or previous[0] != number[0]:
            timeline.append(SequenceFrame(name, path, timeline[-1].index + 1 if timeline else 0))
            continue
        step = steps.get(number[0]) or 1
        skipped = max(0, (number[1] - previous[1]) // step - 1)
        first, last = previous[1] + step, number[1] - step
        missing = "" if not skipped else str(first) if first == last else f"{first}-{last}"
        timeline.append(SequenceFrame(name, path, timeline[-1].index + 1 + skipped, missing))
    return timeline


def sequence_results(
    runner: Any,
    timeline: Sequence[SequenceFrame],
    on_skip: Callable[[str], None],
    wanted: Callable[[SequenceFrame], bool] = lambda frame: True,
) -> Iterator[tuple[SequenceFrame, FrameResult]]:
    """Detections for the `wanted` frames of a timeline, one after another through the runner (a
    SequenceRunner, started afresh). The gap rule is SequenceRunner.predict_frame's: a frame that does not
    follow the last one run (after missing numbers, an unreadable file or a frame not wanted) is a keyframe.
    Missing numbers are said on stderr; an unreadable file is skipped and said through `on_skip`."""
    runner.reset()
    for frame in timeline:
        if not wanted(frame):
            continue
        if frame.missing:
            numbers = "frame numbers" if "-" in frame.missing else "frame number"
            missing = f"{frame.name}: {numbers} {frame.missing} missing before it"
            print(f"{missing}; it runs as a keyframe", file=sys.stderr)
        try:
            image = read_image(frame.path)
        except ImageReadError as exc:
            on_skip(str(exc))
            continue
        detections = runner.predict_frame(frame.index, image)
        yield frame, FrameResult(frame.index, image, detections, runner.last_was_keyframe)
