"""`protolabel predict`: run YOLACT on images or folders and write detections as JSON (a contract other tools read)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from protolabel.segmentation.cli import CommandError, add_engine_arguments, engine_from_args, positive_int, worker_count
from protolabel.segmentation.commands.video_frames import (
    add_non_keyframe_backend_argument,
    check_keyframe_path_options,
    frame_results,
    is_video_input,
    open_video,
    sequence_results,
    sequence_runner,
    sequence_timeline,
)
from protolabel.segmentation.detections import Detections
from protolabel.segmentation.files import write_output_text
from protolabel.segmentation.folders import is_image_name, walk_folder
from protolabel.segmentation.media.errors import VideoChangedError
from protolabel.segmentation.media.frame_export import frame_record_fields
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.output_paths import check_output_file, write_with_fallback
from protolabel.segmentation.pipeline import run_pipeline, workers_for


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="detect objects and write them as JSON",
        description="Run YOLACT on images, folders of images or videos and write one JSON object per detection; "
        "a video's detections carry their frame's identity (video_sha256, frame_index, frame_pts; docs/video.md).",
    )
    add_engine_arguments(parser)
    parser.add_argument("--batch-size", type=positive_int, default=1, help="images per forward pass (default 1)")
    parser.add_argument(
        "--workers",
        type=worker_count,
        default=None,
        metavar="N",
        help="processes encoding masks while the model runs (0: one after the other; "
        "default: half the CPU cores for 16 images or more, none below 4 cores)",
    )
    parser.add_argument(
        "--keyframe-interval",
        type=positive_int,
        default=None,
        metavar="K",
        help="run the inputs as video frames, in order: each video and each folder is one sequence "
        "(frames in name order), image files given one after another another; a YolactEdge video model "
        "runs the full network on every K-th frame only and warps its features to the frames "
        "between (1: every frame in full; default: every image on its own)",
    )
    add_non_keyframe_backend_argument(parser)
    parser.add_argument("--out", default=None, help="output JSON file (default: standard output)")
    parser.add_argument("inputs", nargs="+", metavar="IMAGE_FOLDER_OR_VIDEO")
    parser.set_defaults(func=run)


def detection_records(file_name: str, det: Detections) -> list[dict]:
    """The JSON objects of one image, in descending score order."""
    records = []
    boxes = det.integer_boxes
    category_ids = det.detection_category_ids
    for i in range(len(det)):
        x1, y1, x2, y2 = (int(v) for v in boxes[i])
        rle = det.masks.to_rle(i)  # built from the box-local crop: the RLE of the full-size mask
        records.append(
            {
                "file_name": file_name,
                "category_id": int(category_ids[i]),
                "class_name": det.class_names[det.classes[i]],
                "score": float(det.scores[i]),
                "bbox": [round(float(v), 1) for v in (x1, y1, x2 - x1, y2 - y1)],
                "segmentation": {"size": [int(s) for s in rle["size"]], "counts": rle["counts"]},
                "coefficients": [float(c) for c in det.coefficients[i]],
            }
        )
    return records


def input_sequences(inputs: list[str]) -> list[list[tuple[str, Path]]]:
    """The video sequences in the inputs: each folder's frames (name order), each run of image-file arguments."""
    sequences: list[list[tuple[str, Path]]] = []
    files: list[tuple[str, Path]] = []
    for item in inputs:
        if Path(item).is_dir():
            if files:
                sequences.append(files)
                files = []
            folder = Path(item)  # what its walk leaves out was said when the inputs were expanded
            sequences.append([(str(folder / n), folder / n) for n in walk_folder(folder, keep=is_image_name).names])
        else:
            files.append((item, Path(item)))
    if files:
        sequences.append(files)
    return [s for s in sequences if s]


def expand_inputs(inputs: list[str]) -> Iterator[tuple[str, Path]]:
    """(name as given or found, path) for every image argument and every image inside folder arguments;
    what a folder's walk left out (not a file, name not UTF-8, unreadable) is said on stderr."""
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            walk = walk_folder(path, keep=is_image_name)
            for line in walk.report_lines():
                print(f"{item}: {line}", file=sys.stderr)
            for name in walk.names:
                yield str(path / name), path / name
        else:
            yield item, path


def run(args: argparse.Namespace) -> int:
    videos = [item for item in args.inputs if is_video_input(item)]
    image_inputs = [item for item in args.inputs if item not in videos]
    items = list(expand_inputs(image_inputs))
    if args.out:
        check_output_file(
            args.out, inputs=[*args.inputs, *(path for _, path in items), args.weights], what="--out file", streams=True
        )
    readers = [open_video(video) for video in videos]  # every video checked before the model loads
    frame_count = sum(len(reader) for reader in readers)
    if not items and not frame_count:
        print("protolabel predict: no images found in the given paths", file=sys.stderr)
        return 1
    check_keyframe_path_options(args)
    engine = engine_from_args(args)
    show_progress = len(items) + frame_count > 1 or any(Path(i).is_dir() for i in args.inputs)
    records: list[dict] = []
    done = failed = 0
    if not items:
        pass
    elif args.keyframe_interval is not None:
        records, done, failed = _predict_sequences(engine, args, image_inputs, len(items), show_progress)
    else:
        records, done, failed = _predict_images(engine, args, items, show_progress)
    for video, reader in zip(videos, readers):
        with reader:
            more, video_done, video_failed = _predict_video(engine, args, video, reader, show_progress)
        records += more
        done, failed = done + video_done, failed + video_failed
    text = json.dumps(records)
    fell_back = False
    if args.out:
        written = write_with_fallback(args.out, lambda path: write_output_text(path, text))
        fell_back = written.fell_back
        if fell_back:
            print(f"protolabel predict: {written.note()}", file=sys.stderr)
    else:
        sys.stdout.write(text + "\n")
    if show_progress or failed:
        print(f"{done} images processed, {failed} skipped, {len(records)} detections", file=sys.stderr)
    return 0 if done and not fell_back else 1


def _predict_images(
    engine, args: argparse.Namespace, items: list[tuple[str, Path]], show_progress: bool
) -> tuple[list[dict], int, int]:
    """Every image on its own, in batches, masks encoded by worker processes."""
    records: list[dict] = []
    done = failed = 0
    results = run_pipeline(
        items,
        engine.predict,
        lambda: detection_records,
        batch_size=args.batch_size,
        workers=workers_for(args.workers, len(items)),
    )
    with closing(results):
        for result in results:
            if result.error is not None:
                failed += 1
                print(f"skipped: {result.error}", file=sys.stderr)
            else:
                records.extend(result.value)
                done += 1
            if show_progress and result.last_in_batch:
                print(f"[{done + failed}/{len(items)}] images processed", file=sys.stderr)
    return records, done, failed


class _Skipped:
    """Says and counts the frames that could not be read (the runs go on without them)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, text: str) -> None:
        self.count += 1
        print(f"skipped: {text}", file=sys.stderr)


def _predict_video(
    engine, args: argparse.Namespace, video: str, reader: VideoReader, show_progress: bool
) -> tuple[list[dict], int, int]:
    """Every frame of one video, in order (one sequence with --keyframe-interval); each record carries the
    frame's identity. A frame that cannot be decoded is skipped; a file changed meanwhile stops the command."""
    records: list[dict] = []
    skipped = _Skipped()
    done = 0
    try:
        for result in frame_results(
            engine, reader, range(len(reader)), args.keyframe_interval, skipped, args.non_keyframe_backend
        ):
            identity = frame_record_fields(Path(video).name, reader.index, result.index)
            identity["video_file"] = video  # as given, like an image's file_name
            extra = {**identity, "keyframe": result.keyframe} if args.keyframe_interval is not None else identity
            records.extend({**r, **extra} for r in detection_records(video, result.detections))
            done += 1
            if show_progress and (done % 25 == 0 or result.index == len(reader) - 1):
                print(f"[{result.index + 1}/{len(reader)}] frames of {video} processed", file=sys.stderr)
    except VideoChangedError as exc:
        raise CommandError(str(exc)) from None
    return records, done, skipped.count


def _predict_sequences(
    engine, args: argparse.Namespace, inputs: list[str], total: int, show_progress: bool
) -> tuple[list[dict], int, int]:
    """The inputs as video sequences, one frame after another through the keyframe path (`sequence_results`,
    which `label FOLDER --keyframe-interval` runs too); each record says whether its frame was a keyframe."""
    runner = sequence_runner(engine, args.keyframe_interval, args.non_keyframe_backend)
    records: list[dict] = []
    skipped = _Skipped()
    done = 0
    for sequence in input_sequences(inputs):
        for frame, result in sequence_results(runner, sequence_timeline(sequence), skipped):
            records.extend({**r, "keyframe": result.keyframe} for r in detection_records(frame.name, result.detections))
            done += 1
            if show_progress:
                print(f"[{done + skipped.count}/{total}] frames processed", file=sys.stderr)
    return records, done, skipped.count
