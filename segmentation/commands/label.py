"""`protolabel label`: pre-label a folder with YOLACT into a COCO file a trainer accepts.

    protolabel label FOLDER --weights W --out annotations.json [--classes person,car | --class-map FILE]

Re-running keeps what the file already holds: only images without annotations are labeled
(`--relabel-auto` also redoes images whose objects all came from the model; `--overwrite`
redoes every image and replaces its annotations, human edits included). `--cluster ray[://ADDRESS]`
runs the same labelling on a Ray cluster (segmentation/cluster/ray_label.py) and merges by the same rules.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from protolabel.segmentation.cli import (
    CommandError,
    add_engine_arguments,
    engine_from_args,
    interruption_exit,
    non_negative_float,
    positive_int,
    previous_labels,
    worker_count,
)
from protolabel.segmentation.coco.validation import validate_coco
from protolabel.segmentation.coco.yolact_config import write_yolact_dataset_config
from protolabel.segmentation.commands.label_video import check_numbered_frames, label_frame_folder, run_video
from protolabel.segmentation.commands.video_frames import (
    add_non_keyframe_backend_argument,
    check_keyframe_path_options,
    is_video_input,
)
from protolabel.segmentation.geometry.outlines import DEFAULT_TOLERANCE
from protolabel.segmentation.input_files import MAX_SIDECAR_BYTES, read_input_text
from protolabel.segmentation.output_paths import check_not_an_image_in, check_output_dir, check_output_file
from protolabel.segmentation.pipeline import workers_for
from protolabel.segmentation.prelabel import RelabelMode, images_to_label, prelabel_folder, scan_folder
from protolabel.segmentation.project.labels import ClassMapping

DEFAULT_SCORE_THRESHOLD = 0.3  # the engine's 0 keeps YOLACT's long tail of weak detections: not labels


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "label",
        help="pre-label a folder of images or a video into a COCO file",
        description="Run YOLACT on every image under FOLDER (recursively), or every frame of VIDEO, and write the "
        "objects as a COCO instance-segmentation file. Re-running labels only images without annotations in --out.",
    )
    parser.add_argument(
        "folder",
        metavar="FOLDER|VIDEO",
        help="folder of images (subfolders included), or a video file (mp4, mov, mkv, avi, webm, ts): its frames "
        "are labelled one by one, each COCO image record carrying the frame's identity (docs/video.md)",
    )
    add_engine_arguments(parser)
    parser.set_defaults(score_threshold=DEFAULT_SCORE_THRESHOLD)
    _set_help(parser, "score_threshold", f"keep detections scoring above this (default {DEFAULT_SCORE_THRESHOLD})")
    classes = parser.add_mutually_exclusive_group()
    classes.add_argument(
        "--classes",
        default=None,
        metavar="NAME,NAME",
        help="keep only these model classes (comma-separated, e.g. person,car)",
    )
    classes.add_argument(
        "--class-map",
        default=None,
        metavar="FILE",
        help='JSON file mapping model classes to labels, e.g. {"person": "pedestrian", "car": "car"}; '
        "unlisted classes are dropped",
    )
    parser.add_argument("--batch-size", type=positive_int, default=1, help="images per forward pass (default 1)")
    parser.add_argument(
        "--workers",
        type=worker_count,
        default=None,
        metavar="N",
        help="processes tracing polygons while the model runs (0: one after the other; "
        "default: half the CPU cores for 16 images or more, none below 4 cores); "
        "the file is the same either way",
    )
    parser.add_argument(
        "--tolerance",
        type=non_negative_float,
        default=DEFAULT_TOLERANCE,
        help=f"polygon simplification in pixels (default {DEFAULT_TOLERANCE:g}; 0 keeps the exact mask outline)",
    )
    relabel = parser.add_mutually_exclusive_group()
    relabel.add_argument(
        "--relabel-auto",
        action="store_true",
        help="also relabel images whose annotations all came from the model (source 'auto')",
    )
    relabel.add_argument(
        "--overwrite",
        action="store_true",
        help="relabel every image, replacing its existing annotations, human edits included",
    )
    parser.add_argument(
        "--yolact-config",
        default=None,
        metavar="FILE",
        help="also write the class list as a dataset/model config for YOLACT's data/config.py",
    )
    parser.add_argument(
        "--validate",
        action="store_true",
        help="check the written file with pycocotools (loads, consistent, self-evaluation AP 1.0)",
    )
    parser.add_argument(
        "--keyframe-interval",
        type=positive_int,
        default=None,
        metavar="K",
        help="run a VIDEO's frames, or a FOLDER of numbered frames (frame_0001.png, ...) in number order, one "
        "after another through a YolactEdge video model: the full network on every K-th frame and warped "
        "features between; a frame after missing numbers runs in full (default: every frame on its own)",
    )
    add_non_keyframe_backend_argument(parser)
    parser.add_argument(
        "--export-frames",
        action="store_true",
        help="VIDEO only: also write each labelled frame as a PNG (its identity inside) into VIDEO.frames/ beside "
        "--out, where the COCO file names them, so a trainer can read them",
    )
    parser.add_argument("--out", required=True, help="COCO annotations file to write (read first if it exists)")
    parser.add_argument(
        "--cluster",
        default=None,
        metavar="ray[://ADDRESS]",
        help="label on a Ray cluster (optional extra: pip install -e \".[ray]\"): 'ray' joins "
        "RAY_ADDRESS or starts a local instance, 'ray://HOST:PORT' a remote cluster. "
        "FOLDER, --weights and --out must be at the same path on every node",
    )
    parser.add_argument(
        "--cluster-workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="engines on the cluster (default: one per GPU, else one per 4 CPUs)",
    )
    parser.add_argument(
        "--shard-size",
        type=positive_int,
        default=None,
        metavar="N",
        help="images per cluster work unit, kept in OUT.shards/ until the merge (default 64)",
    )
    parser.set_defaults(func=run)


def _set_help(parser: argparse.ArgumentParser, dest: str, text: str) -> None:
    for action in parser._actions:
        if action.dest == dest:
            action.help = text


def run(args: argparse.Namespace) -> int:
    folder, out = Path(args.folder), Path(args.out)
    if is_video_input(args.folder):
        if args.cluster is not None or args.yolact_config or args.validate:
            raise CommandError("--cluster, --yolact-config and --validate are for a folder, not a video")
        return run_video(args, _class_mapping, _checked_engine, ProgressLine())
    if args.export_frames:
        raise CommandError("--export-frames is for a video: the frames of a folder are image files already")
    check_keyframe_path_options(args)
    if args.keyframe_interval is not None and args.cluster is not None:
        raise CommandError(
            "--keyframe-interval runs a folder's frames one after another, in one process: not with --cluster"
        )
    if not folder.is_dir():
        raise CommandError(f"{folder}: not a folder")
    check_output_file(out, inputs=[folder, args.weights], what="--out file")
    check_not_an_image_in(folder, out, what="--out file")
    if args.yolact_config:
        check_output_file(args.yolact_config, inputs=[folder, args.weights, out], what="--yolact-config file")
    if args.cluster is not None:
        _check_cluster(args, folder, out)
    elif args.cluster_workers is not None or args.shard_size is not None:
        raise CommandError("--cluster-workers and --shard-size need --cluster")
    existing = previous_labels(out)
    exclude = [out] + ([args.yolact_config] if args.yolact_config else [])
    scan = scan_folder(folder, exclude=exclude)
    for name in scan.other_files[:20]:
        print(f"skipped (not an image): {name}", file=sys.stderr)
    if len(scan.other_files) > 20:
        print(f"skipped {len(scan.other_files) - 20} more files that are not images", file=sys.stderr)
    for line in scan.left_out:
        print(line, file=sys.stderr)
    if not scan.images:
        print(f"protolabel label: no images found under {folder}", file=sys.stderr)
        return 1
    if args.keyframe_interval is not None:
        check_numbered_frames(folder, [name for name, _ in scan.images])
    mode = RelabelMode.ALL if args.overwrite else RelabelMode.AUTO if args.relabel_auto else RelabelMode.UNLABELED
    todo = images_to_label(existing, [name for name, _ in scan.images], mode)
    if not todo:
        print(
            f"nothing to label: all {len(scan.images)} images already have annotations in {out} "
            "(--relabel-auto or --overwrite to label them again)",
            file=sys.stderr,
        )
        return _finish(args, out, folder)

    kept_before = len(scan.images) - len(todo)
    print(
        f"labeling {len(todo)} of {len(scan.images)} images"
        + (f" ({kept_before} already annotated, kept as they are)" if kept_before else ""),
        file=sys.stderr,
    )

    mapping = _class_mapping(args)
    if args.keyframe_interval is not None:
        status = label_frame_folder(args, scan, todo, existing, mapping, _checked_engine, ProgressLine())
        return status or _finish(args, out, folder)

    def load_model():
        engine = _checked_engine(args, mapping)
        print(f"model {Path(args.weights).name} ({engine.info.config.name}) on {engine.device}", file=sys.stderr)
        return engine

    progress = ProgressLine()
    if args.cluster is not None:
        report = _label_on_cluster(args, scan, out, todo, existing, mapping, progress)
    else:
        report = prelabel_folder(
            scan,
            out,
            todo,
            load_model,
            existing=existing,
            mapping=mapping,
            batch_size=args.batch_size,
            tolerance=args.tolerance,
            progress=progress,
            on_unreadable=progress.skipped,
            workers=workers_for(args.workers, len(todo)),
        )
    wrote = f"wrote {report.written or out}" if report.labeled else f"{out} unchanged"
    if report.note:
        print(f"protolabel label: {report.note}", file=sys.stderr)
    print(
        f"{report.labeled} images labeled ({report.objects} objects), {report.kept} kept as they were, "
        f"{len(report.failed)} unreadable; {wrote}",
        file=sys.stderr,
    )
    if report.interrupted:
        saved = (
            f"the finished shards are kept in {out}.shards"
            if args.cluster is not None
            else "the images labeled so far are saved"
        )
        word, status = interruption_exit(report.interruption or KeyboardInterrupt())
        print(f"{word}: {saved}; run again to continue", file=sys.stderr)
        return status
    if report.note:  # the file went to a fallback: the optional steps below read --out, so stop here
        return 1
    status = _finish(args, out, folder)
    if status:
        return status
    return 0 if report.labeled or existing is not None and existing.images else 1


def _checked_engine(args: argparse.Namespace, mapping: ClassMapping):
    """The engine --weights names, after checking that the class selection fits its classes."""
    engine = engine_from_args(args)
    named = sorted((mapping.keep or set()) | set(mapping.rename))
    _check_classes(named, engine.class_names, args.class_map or "--classes")
    if not mapping.project_labels(engine.class_names):
        raise CommandError("the class selection keeps none of the model's classes")
    return engine


def _check_cluster(args: argparse.Namespace, folder: Path, out: Path) -> None:
    """--cluster's value, Ray being installed and the shard folder being writable, before any work."""
    from protolabel.segmentation.cluster.ray_label import ClusterError, import_ray, parse_cluster, shard_dir_for

    try:
        parse_cluster(args.cluster)
        import_ray()
    except ClusterError as exc:
        raise CommandError(str(exc)) from None
    check_output_dir(shard_dir_for(out), inputs=[folder, args.weights], what="shard folder")


# Options that do not change the labels: a resumed cluster run may change them and keep its shards.
NOT_LABEL_SETTINGS = frozenset(
    {
        "func",
        "command",
        "folder",
        "out",
        "device",
        "batch_size",
        "validate",
        "yolact_config",
        "cluster",
        "cluster_workers",
        "shard_size",
        "workers",
        "keyframe_interval",  # options refused with --cluster: always unset on a cluster
        "non_keyframe_backend",
        "export_frames",
    }
)


def engine_options(args: argparse.Namespace) -> dict:
    """The parsed options without the command's function, --weights made absolute (for a cluster actor)."""
    options = {name: value for name, value in vars(args).items() if name != "func"}
    options["weights"] = os.path.abspath(args.weights)
    return options


def _engine_on(options: dict, device: str):
    """An engine built on a cluster actor (module level, so Ray pickles it by reference)."""
    return engine_from_args(argparse.Namespace(**{**options, "device": device}))


def _label_on_cluster(
    args: argparse.Namespace, scan, out: Path, todo: list[str], existing, mapping: ClassMapping, progress: ProgressLine
):
    """The run on a Ray cluster; the model is loaded here once on the CPU first, to check it and the
    class selection before the cluster is asked for anything."""
    from protolabel.segmentation.backends.loading import is_onnx
    from protolabel.segmentation.cluster.ray_label import ClusterError, label_on_ray, parse_cluster
    from protolabel.segmentation.geometry.outlines import DEFAULT_MIN_AREA

    options = engine_options(args)
    check = {**vars(args), "device": "cpu"}
    if not is_onnx(args.weights):
        check.update(backend="torch", precision=None)  # only its classes are needed: no ONNX export here
    engine = _checked_engine(argparse.Namespace(**check), mapping)
    print(f"model {Path(args.weights).name} ({engine.info.config.name}) on the Ray cluster", file=sys.stderr)
    del engine
    weights = Path(options["weights"]).stat()
    settings = {name: value for name, value in options.items() if name not in NOT_LABEL_SETTINGS}
    settings.update(
        weights_file=[weights.st_size, weights.st_mtime_ns],
        min_area=DEFAULT_MIN_AREA,
        keep=sorted(mapping.keep) if mapping.keep is not None else None,
        rename=sorted(mapping.rename.items()),
    )
    try:
        return label_on_ray(
            scan,
            out,
            todo,
            functools.partial(_engine_on, options),
            existing=existing,
            mapping=mapping,
            settings_key=json.dumps(settings, sort_keys=True, default=str),
            address=parse_cluster(args.cluster),
            device=args.device,
            actors=args.cluster_workers,
            batch_size=args.batch_size,
            pipeline_workers=args.workers or 0,  # not the driver's default: an actor's share of a node is smaller
            tolerance=args.tolerance,
            min_area=DEFAULT_MIN_AREA,
            progress=progress,
            on_unreadable=progress.skipped,
            **({"shard_size": args.shard_size} if args.shard_size else {}),
        )
    except ClusterError as exc:
        raise CommandError(str(exc)) from None


def _finish(args: argparse.Namespace, out: Path, folder: Path) -> int:
    """Optional class-list config and validation of the written file."""
    if args.yolact_config or args.validate:
        from protolabel.segmentation.coco.reader import read_coco

        dataset = read_coco(out) if out.exists() else None
        if args.yolact_config and dataset is not None:
            write_yolact_dataset_config(
                args.yolact_config,
                dataset.categories,
                name=folder.resolve().name,
                train_images=str(folder.resolve()),
                train_info=str(out.resolve()),
            )
            print(f"wrote YOLACT dataset config {args.yolact_config}", file=sys.stderr)
        if args.validate and dataset is not None:
            report = validate_coco(out)
            print(f"{out}: {report.summary()}", file=sys.stderr)
            if not report.ok:
                return 1
    return 0


def _class_mapping(args: argparse.Namespace) -> ClassMapping:
    """--classes / --class-map as a ClassMapping (checked against the model's classes when it loads)."""
    if args.classes is not None:
        keep = [name.strip() for name in args.classes.split(",") if name.strip()]
        if not keep:
            raise CommandError("--classes: no class names given")
        return ClassMapping(keep=frozenset(keep))
    if args.class_map is not None:
        path = Path(args.class_map)
        try:
            data = json.loads(read_input_text(path, MAX_SIDECAR_BYTES, what="class map"))
        except OSError as exc:
            raise CommandError(f"{path}: cannot read ({exc.strerror or exc})") from None
        except ValueError as exc:
            raise CommandError(f"{path}: not valid JSON ({exc})") from None
        return parse_class_map(data, str(path))
    return ClassMapping()


def parse_class_map(data, source: str) -> ClassMapping:
    """A class-map file: {"model class": "label", ...} (unlisted classes dropped), a list of classes
    to keep, or the project's {"keep": [...], "rename": {...}} form."""
    if isinstance(data, list) and all(isinstance(v, str) for v in data):
        return ClassMapping(keep=frozenset(data))
    if isinstance(data, dict) and set(data) <= {"keep", "rename"} and data:
        keep, rename = data.get("keep"), data.get("rename") or {}
        if keep is not None and not (isinstance(keep, list) and all(isinstance(v, str) for v in keep)):
            raise CommandError(f"{source}: 'keep' must be a list of class names")
        if not (isinstance(rename, dict) and all(isinstance(v, str) for v in rename.values())):
            raise CommandError(f"{source}: 'rename' must map class names to labels")
        keep_set = frozenset(keep) if keep is not None else frozenset(rename)
        return ClassMapping(keep=keep_set, rename=rename)
    if isinstance(data, dict) and data and all(isinstance(v, str) and v.strip() for v in data.values()):
        return ClassMapping(keep=frozenset(data), rename=data)
    raise CommandError(f'{source}: expected {{"model class": "label", ...}} or a list of class names')


def _check_classes(names: Sequence[str], model_classes: Sequence[str], source: str) -> None:
    """Every class named by the user must be one the model predicts (with a did-you-mean hint)."""
    unknown = [n for n in names if n not in model_classes]
    if not unknown:
        return
    hints = []
    for name in unknown[:5]:
        close = difflib.get_close_matches(name, model_classes, n=2)
        hints.append(f"{name!r}" + (f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""))
    raise CommandError(
        f"{source}: not classes of this model: {', '.join(hints)}. "
        f"The model knows: {', '.join(model_classes[:20])}{' ...' if len(model_classes) > 20 else ''}"
    )


class ProgressLine:
    """Progress on stderr: one line rewritten in place on a terminal, a line per update otherwise."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def skipped(self, text: str) -> None:
        """A line of its own (e.g. a skipped file), not overwritten by the progress bar."""
        line = f"skipped: {text}"
        self.stream.write(f"\r{line:<150}\n" if self.tty else f"{line}\n")
        self.stream.flush()

    def __call__(self, done: int, total: int, name: str) -> None:
        elapsed = time.monotonic() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else 0.0
        width = 24
        filled = int(width * done / total) if total else width
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {rate:.2f} img/s "
            f"ETA {int(eta // 60)}:{int(eta % 60):02d}  {name}"
        )
        if self.tty:
            end = "\n" if done >= total else ""
            self.stream.write(f"\r{line[:150]:<150}{end}")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
