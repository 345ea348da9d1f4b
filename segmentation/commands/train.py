"""`protolabel train`: fine-tune YOLACT on a COCO dataset; progress as parseable lines on standard output.

    protolabel train --coco FILE --images DIR [--val-coco FILE | --val-split 0.1]
                     --weights START.pth [--config NAME] [--max-size S] [--iterations N]
                     [--batch-size B] [--lr LR] [--device DEV] [--crowd-as-objects] --out RUN_DIR [--resume]

Standard output carries one event per line (flushed), in the format documented in
`segmentation.training.progress` (read it back with `parse_line`), for example:

    start iterations=2000 start_iteration=0 train_images=180 val_images=20 classes=["disc","square"] \
        config="yolact_resnet50_im320" device="cuda"
    iteration iteration=10 total=2000 epoch=0 loss=7.12 box=1.41 conf=3.02 mask=2.2 semantic=0.49 \
        lr=0.00028 images_per_s=31.4 eta_s=503.2
    checkpoint iteration=1000 path="runs/a/yolact_resnet50_im320_44_1000.pth"
    evaluation iteration=2000 box_ap=0.71 box_ap50=0.95 box_ap75=0.83 mask_ap=0.69 mask_ap50=0.94 \
        mask_ap75=0.8 images=20 detections=412
    finished iteration=2000 checkpoint="runs/a/yolact_resnet50_im320_89_2000.pth" \
        metrics="runs/a/metrics.json" stopped=false

(each event is one line; the examples are folded here at the backslashes).

Errors go to standard error with exit status 2 (unusable input) or 1. SIGINT or SIGTERM
(the app's Cancel) stops after the current iteration: a checkpoint is saved, a `finished`
line with stopped=true is printed, the exit status is 130, and `--resume` continues the run.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import fields
from pathlib import Path

from protolabel.segmentation.cli import (
    fraction_below_one,
    max_size,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    worker_count,
)
from protolabel.segmentation.training.options import TrainOptions
from protolabel.segmentation.yolact.config import MAX_MAX_SIZE, MIN_MAX_SIZE, MIN_MAX_SIZE_PLUS

EXIT_STOPPED = 130
DEFAULTS = {f.name: f.default for f in fields(TrainOptions)}  # the one place the training defaults are written


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="fine-tune YOLACT on a COCO dataset",
        description="Fine-tune a YOLACT checkpoint on COCO instance annotations. Writes checkpoints in the "
        "official layout (+ class-name sidecar) and metrics.json to the output folder.",
    )
    parser.add_argument("--coco", required=True, type=Path, help="training annotations (COCO JSON)")
    parser.add_argument("--images", required=True, type=Path, help="folder the COCO file names are relative to")
    val = parser.add_mutually_exclusive_group()
    val.add_argument("--val-coco", type=Path, default=None, help="validation annotations (COCO JSON)")
    val.add_argument(
        "--val-split",
        type=fraction_below_one,
        default=DEFAULTS["val_split"],
        help=f"fraction of the training images held out for validation (default {DEFAULTS['val_split']})",
    )
    parser.add_argument(
        "--val-images", type=Path, default=None, help="folder of the validation images (default: --images)"
    )
    parser.add_argument(
        "--weights",
        required=True,
        type=Path,
        help="start checkpoint, e.g. an official COCO model, by path or by name "
        "(yolact_resnet50: downloaded and verified on first use)",
    )
    parser.add_argument("--config", default=None, help="config name (default: from the start checkpoint)")
    parser.add_argument(
        "--max-size",
        type=max_size,
        default=None,
        help=f"network input size S, {MIN_MAX_SIZE} to {MAX_MAX_SIZE} (YOLACT++: from "
        f"{MIN_MAX_SIZE_PLUS}; default: the config's)",
    )
    parser.add_argument(
        "--iterations",
        type=positive_int,
        default=DEFAULTS["iterations"],
        help=f"training iterations (default {DEFAULTS['iterations']})",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=DEFAULTS["batch_size"],
        help=f"images per iteration (default {DEFAULTS['batch_size']})",
    )
    parser.add_argument(
        "--lr",
        type=positive_float,
        default=DEFAULTS["lr"],
        help=f"learning rate after warm-up (default {DEFAULTS['lr']:g})",
    )
    parser.add_argument(
        "--warmup", type=non_negative_int, default=None, help="warm-up iterations (default 10%% of the run, <= 500)"
    )
    parser.add_argument(
        "--lr-steps",
        type=_fractions,
        default=None,
        help="fractions of the run where the rate drops 10x (default "
        f"{','.join(f'{v:g}' for v in DEFAULTS['lr_steps'])}, where the original's "
        "800k-iteration schedule steps)",
    )
    parser.add_argument(
        "--clip-grad",
        type=non_negative_float,
        default=DEFAULTS["clip_grad_norm"],
        help=f"clip the gradient norm to this (default {DEFAULTS['clip_grad_norm']:g}; 0: no "
        "clipping, as the original)",
    )
    parser.add_argument("--device", default=DEFAULTS["device"], help="cpu, cuda, cuda:N or auto (default)")
    parser.add_argument("--no-amp", action="store_true", help="train in float32 on CUDA too")
    parser.add_argument("--no-augment", action="store_true", help="only resize the images (no augmentation)")
    parser.add_argument(
        "--checkpoint-every",
        type=non_negative_int,
        default=DEFAULTS["checkpoint_every"],
        help=f"iterations between checkpoints (default {DEFAULTS['checkpoint_every']}; 0: end only)",
    )
    parser.add_argument(
        "--eval-every",
        type=non_negative_int,
        default=DEFAULTS["eval_every"],
        help="iterations between evaluations (0: end only)",
    )
    parser.add_argument(
        "--log-every",
        type=positive_int,
        default=DEFAULTS["log_every"],
        help=f"iterations between progress lines (default {DEFAULTS['log_every']})",
    )
    parser.add_argument(
        "--workers",
        type=worker_count,
        default=DEFAULTS["workers"],
        help=f"data loader processes (default {DEFAULTS['workers']}: in the main one)",
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=DEFAULTS["seed"], help="seed for the split, the order and augmentation"
    )
    parser.add_argument(
        "--crowd-as-objects",
        action="store_true",
        help="train on objects marked iscrowd=1 as ordinary objects (CVAT-style exports mark "
        "every mask so); by default crowd regions are neither object nor background",
    )
    parser.add_argument("--out", required=True, type=Path, help="run folder")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.set_defaults(func=run)


def _fractions(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers like 0.7,0.9, got {text!r}") from None


def options_from_args(args: argparse.Namespace):
    return TrainOptions(
        coco=args.coco,
        images=args.images,
        weights=args.weights,
        out=args.out,
        val_coco=args.val_coco,
        val_images=args.val_images,
        val_split=0.0 if args.val_coco else args.val_split,
        config=args.config,
        max_size=args.max_size,
        iterations=args.iterations,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup_iterations=args.warmup,
        clip_grad_norm=args.clip_grad or None,
        lr_steps=DEFAULTS["lr_steps"] if args.lr_steps is None else args.lr_steps,
        device=args.device,
        amp=not args.no_amp,
        checkpoint_every=args.checkpoint_every,
        eval_every=args.eval_every,
        log_every=args.log_every,
        workers=args.workers,
        augment=not args.no_augment,
        resume=args.resume,
        seed=args.seed,
        crowd_as_objects=args.crowd_as_objects,
    )


def run(args: argparse.Namespace) -> int:
    from protolabel.segmentation.training import TrainingError, train
    from protolabel.segmentation.training.progress import format_event

    stop = threading.Event()

    def request_stop(signum, frame) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def emit(event) -> None:
        print(format_event(event), flush=True)

    try:
        result = train(options_from_args(args), emit, stop.is_set)
    except TrainingError as exc:
        print(f"protolabel train: {exc}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_STOPPED if result.stopped else 0
