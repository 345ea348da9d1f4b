"""`protolabel label VIDEO`: pre-label a video's frames into a per-frame COCO file whose image records carry
the frame identity (video file, SHA-256, frame number, pts; docs/video.md), so labels never drift to another
frame or another version of the file. Re-running keeps labelled frames as `label FOLDER` keeps images.
`protolabel label FOLDER --keyframe-interval K` runs a folder of numbered frames the same way, one sequence.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from protolabel.segmentation.cli import CommandError, interruption_exit, previous_labels
from protolabel.segmentation.coco.dataset import CocoDataset, CocoImage
from protolabel.segmentation.coco.export import write_coco
from protolabel.segmentation.commands.video_frames import (
    FrameResult,
    check_keyframe_path_options,
    frame_results,
    open_video,
    sequence_results,
    sequence_runner,
    sequence_timeline,
)
from protolabel.segmentation.geometry.outlines import DEFAULT_MIN_AREA
from protolabel.segmentation.media.errors import VideoChangedError
from protolabel.segmentation.media.frame_export import frame_file_name, frame_record_fields, write_frame_png
from protolabel.segmentation.media.frame_folder import frame_number
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.output_paths import check_output_dir, check_output_file, write_with_fallback
from protolabel.segmentation.prelabel import (
    FolderScan,
    RelabelMode,
    auto_instances,
    images_to_label,
    merge_labeled,
    save_progress,
)
from protolabel.segmentation.project.labels import ClassMapping
from protolabel.segmentation.yolact.classes import COCO_CLASSES, category_ids_for_labels

if TYPE_CHECKING:  # the engine pulls in torch
    from protolabel.segmentation.engine import YolactEngine

SAVE_EVERY_S = 60.0


def frames_folder_name(video: Path) -> str:
    """The folder, beside the COCO file, that a video's exported frames go to ('clip.mp4.frames')."""
    return f"{video.name}.frames"


def frame_image_name(video: Path, index: int) -> str:
    """A frame's COCO file_name: where --export-frames writes it, relative to the COCO file's folder."""
    return f"{frames_folder_name(video)}/{frame_file_name(video.name, index)}"


def run_video(
    args: argparse.Namespace,
    class_mapping: Callable[[argparse.Namespace], ClassMapping],
    checked_engine: Callable[[argparse.Namespace, ClassMapping], YolactEngine],
    report_progress: Callable[[int, int, str], None],
) -> int:
    """Label the frames of the video args.folder names, with `label`'s own class options: `class_mapping(args)`
    is the mapping, `checked_engine(args, mapping)` the engine checked against it."""
    video, out = Path(args.folder), Path(args.out)
    check_output_file(out, inputs=[video, args.weights], what="--out file")
    check_keyframe_path_options(args)
    frames_dir = out.parent / frames_folder_name(video)
    if args.export_frames:
        check_output_dir(frames_dir, inputs=[video, args.weights], what="frames folder")
    existing = previous_labels(out)
    reader = open_video(video)
    with reader:
        _check_same_video(existing, reader, video, out)
        names = [frame_image_name(video, i) for i in range(len(reader))]
        mode = RelabelMode.ALL if args.overwrite else RelabelMode.AUTO if args.relabel_auto else RelabelMode.UNLABELED
        todo = set(images_to_label(existing, names, mode))
        frames = [i for i, name in enumerate(names) if name in todo]
        if not frames:
            print(f"nothing to label: all {len(names)} frames already have annotations in {out}", file=sys.stderr)
            return 0
        print(f"labeling {len(frames)} of {len(names)} frames of {video}", file=sys.stderr)
        mapping = class_mapping(args)
        engine = checked_engine(args, mapping)
        print(f"model {Path(args.weights).name} ({engine.info.config.name}) on {engine.device}", file=sys.stderr)
        dataset, class_map = _with_model_categories(existing, mapping, engine)
        if args.export_frames:
            frames_dir.mkdir(exist_ok=True)
        failed: list[str] = []

        def results() -> Iterator[tuple[str, FrameResult]]:
            for result in frame_results(
                engine, reader, frames, args.keyframe_interval, failed.append, args.non_keyframe_backend
            ):
                if args.export_frames:
                    write_frame_png(result.image, frames_dir, video.name, reader.index, result.index)
                yield names[result.index], result

        def record_fields(result: FrameResult) -> dict:
            fields = frame_record_fields(video.name, reader.index, result.index)
            return {**fields, "keyframe": result.keyframe} if args.keyframe_interval is not None else fields

        return _label_frames(
            args, out, dataset, names, results(), len(frames), failed, class_map, record_fields, report_progress
        )


def label_frame_folder(
    args: argparse.Namespace,
    scan: FolderScan,
    todo: list[str],
    existing: CocoDataset | None,
    mapping: ClassMapping,
    checked_engine: Callable[[argparse.Namespace, ClassMapping], YolactEngine],
    report_progress: Callable[[int, int, str], None],
) -> int:
    """Label the `todo` frames of the numbered frame folder args.folder names as one sequence through the
    keyframe path (`sequence_results`, as `predict FOLDER --keyframe-interval` runs it), into the COCO file
    `label FOLDER` writes, each image record saying whether its frame was a keyframe."""
    out = Path(args.out)
    engine = checked_engine(args, mapping)
    print(f"model {Path(args.weights).name} ({engine.info.config.name}) on {engine.device}", file=sys.stderr)
    runner = sequence_runner(engine, args.keyframe_interval, args.non_keyframe_backend)
    dataset, class_map = _with_model_categories(existing, mapping, engine)
    todo_set = set(todo)
    failed: list[str] = []
    results = (
        (frame.name, result)
        for frame, result in sequence_results(
            runner, sequence_timeline(scan.images), failed.append, lambda frame: frame.name in todo_set
        )
    )
    names = [name for name, _ in scan.images]
    return _label_frames(
        args,
        out,
        dataset,
        names,
        results,
        len(todo),
        failed,
        class_map,
        lambda result: {"keyframe": result.keyframe},
        report_progress,
    )


def _with_model_categories(
    existing: CocoDataset | None, mapping: ClassMapping, engine: YolactEngine
) -> tuple[CocoDataset, dict[str, str | None]]:
    """The file's dataset with every label the mapping makes of the model's classes (a COCO model's by their
    official ids, as `label FOLDER` numbers them), and the class-to-label map."""
    labels = mapping.project_labels(engine.class_names)
    coco_model = tuple(engine.class_names) == COCO_CLASSES
    dataset = (existing or CocoDataset(())).with_categories(
        labels, category_ids_for_labels(labels) if coco_model else None
    )
    return dataset, {name: mapping.label_for(name) for name in engine.class_names}


def check_numbered_frames(folder: Path, names: list[str]) -> None:
    """CommandError unless the images found under `folder` are one numbered sequence directly in it (one name
    pattern, each number once), which is what --keyframe-interval runs one frame after another."""
    problem = None
    patterns: dict[str, str] = {}
    numbers: dict[int, str] = {}
    for name in names:
        number = frame_number(name)
        if "/" in name:
            problem = f"{name} is in a sub-folder (run label on the frame folder itself)"
        elif number is None:
            problem = f"{name} has no frame number in its name"
        elif patterns and number[0] not in patterns:
            problem = f"{next(iter(patterns.values()))} and {name} are named after two patterns"
        elif number[1] in numbers:
            problem = f"{numbers[number[1]]} and {name} have the same frame number"
        if problem:
            raise CommandError(
                f"{folder}: --keyframe-interval runs a folder of numbered frames (frame_0001.png, frame_0002.png, "
                f"...) one after another, but {problem}; or leave out --keyframe-interval to label the images "
                "one by one"
            )
        assert number is not None
        patterns.setdefault(number[0], name)
        numbers[number[1]] = name


def _check_same_video(existing: CocoDataset | None, reader: VideoReader, video: Path, out: Path) -> None:
    """CommandError when --out holds frames of a file with this name but other bytes (its frame numbers
    would point at other pictures)."""
    if existing is None:
        return
    for image in existing.images:
        if image.extra.get("video_file") == video.name and image.extra.get("video_sha256") not in (None, reader.sha256):
            raise CommandError(
                f"{out} holds labels for another version of {video.name} (SHA-256 "
                f"{str(image.extra['video_sha256'])[:12]}..., this file is {reader.sha256[:12]}...): its frame "
                "numbers would point at other pictures; choose another --out"
            )


def _label_frames(
    args: argparse.Namespace,
    out: Path,
    dataset: CocoDataset,
    names: list[str],
    results: Iterable[tuple[str, FrameResult]],
    total: int,
    failed: list[str],
    class_map: dict[str, str | None],
    record_fields: Callable[[FrameResult], dict],
    report_progress: Callable[[int, int, str], None],
) -> int:
    """The frames `results` gives, as COCO images named from `names` (in the file's order), their records
    carrying `record_fields(result)`; saved every SAVE_EVERY_S and at the end, also when interrupted.
    `failed` collects the frames that could not be read."""
    new: dict[str, CocoImage] = {}
    previous = {img.file_name: img for img in dataset.images}
    objects = 0
    last_save = time.monotonic()
    interruption: BaseException | None = None

    def assemble() -> CocoDataset:
        return merge_labeled(dataset, names, new)

    try:
        for done, (name, result) in enumerate(results, 1):
            inst = auto_instances(
                name,
                result.detections,
                class_map=class_map,
                class_names=dataset.category_names,
                tolerance=args.tolerance,
                min_area=DEFAULT_MIN_AREA,
            )
            height, width = result.image.shape[:2]
            old = previous.get(name)
            extra = {**(old.extra if old else {}), **record_fields(result)}
            new[name] = CocoImage(name, width, height, inst, old.id if old else None, extra)
            objects += len(inst)
            report_progress(done + len(failed), total, name)
            if time.monotonic() - last_save > SAVE_EVERY_S:
                save_progress(out, assemble())
                last_save = time.monotonic()
    except VideoChangedError as exc:
        interruption = exc
        print(f"protolabel label: {exc}", file=sys.stderr)
    except KeyboardInterrupt as exc:
        interruption = exc
    for text in failed:
        print(f"skipped: {text}", file=sys.stderr)
    final = assemble()
    note = None
    if new:
        written = write_with_fallback(out, lambda path: write_coco(path, final))
        note = written.note()
        if note:
            print(f"protolabel label: {note}", file=sys.stderr)
    print(
        f"{len(new)} frames labeled ({objects} objects), {len(failed)} unreadable; "
        + (f"wrote {out}" if new and not note else f"{out} unchanged" if not new else "written to a fallback"),
        file=sys.stderr,
    )
    if isinstance(interruption, KeyboardInterrupt):
        word, status = interruption_exit(interruption)
        print(f"{word}: the frames labeled so far are saved; run again to continue", file=sys.stderr)
        return status
    if interruption is not None or note:
        return 1
    return 0 if new else 1
