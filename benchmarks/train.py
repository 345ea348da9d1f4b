"""Training speed of `protolabel train`: images per second of whole training iterations.

Runs the real trainer (data reading, augmentation, forward, loss, backward, SGD step) on a
synthetic COCO set of discs and squares, starting from a synthetic official-layout
checkpoint, and prints the median images/s over the timed iterations (after warm-up ones).
CPU with 2 threads always; CUDA with AMP (and float32 for comparison) when a GPU is present.
With --long, a longer CUDA run on a larger set also prints its box and mask AP.

    .venv/bin/python benchmarks/train.py [--config yolact_resnet50] [--cpu-size 320] [--cpu-batch 2]
                                         [--repeats 8] [--gpu-size 550] [--gpu-batch 8] [--long]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import scratch_dir, synthetic_checkpoint  # noqa: E402
from protolabel.segmentation.training import TrainOptions, train  # noqa: E402
from protolabel.segmentation.training.progress import EvaluationDone, IterationDone  # noqa: E402
from tests.segmentation.training.synthetic_shapes import write_dataset  # noqa: E402

WARMUP_ITERATIONS = 2


def images_per_second(
    weights: Path,
    coco: Path,
    images: Path,
    out: Path,
    *,
    device: str,
    size: int,
    batch: int,
    repeats: int,
    amp: bool,
    workers: int,
) -> tuple[float, float, float, float]:
    """(median, slowest, fastest) images/s over `repeats` timed iterations of a real training run,
    and the median process CPU seconds per image (less sensitive to other load on a shared machine)."""
    stamps: list[tuple[float, float]] = []

    def record(event) -> None:
        if isinstance(event, IterationDone):
            if device == "cuda":
                torch.cuda.synchronize()
            stamps.append((time.perf_counter(), time.process_time()))

    train(
        TrainOptions(
            coco=coco,
            images=images,
            weights=weights,
            out=out,
            val_split=0.0,
            max_size=size,
            iterations=WARMUP_ITERATIONS + repeats + 1,
            batch_size=batch,
            device=device,
            amp=amp,
            checkpoint_every=0,
            log_every=1,
            workers=workers,
        ),
        record,
    )
    durations = [b[0] - a[0] for a, b in zip(stamps, stamps[1:])][WARMUP_ITERATIONS:]
    cpu = [b[1] - a[1] for a, b in zip(stamps, stamps[1:])][WARMUP_ITERATIONS:]
    return (
        batch / statistics.median(durations),
        batch / max(durations),
        batch / min(durations),
        statistics.median(cpu) / batch,
    )


def long_run(weights: Path, work: Path, size: int, batch: int, workers: int) -> None:
    coco = write_dataset(work / "long", 400, seed=11, size=(480, 640))
    val = write_dataset(work / "long", 50, seed=12, size=(480, 640), name="val.json", prefix="val")
    result: dict = {}

    def record(event) -> None:
        if isinstance(event, EvaluationDone):
            result["evaluation"] = event.evaluation

    start = time.perf_counter()
    train(
        TrainOptions(
            coco=coco,
            images=work / "long" / "images",
            val_coco=val,
            weights=weights,
            out=work / "long" / "run",
            max_size=size,
            iterations=3000,
            batch_size=batch,
            device="cuda",
            checkpoint_every=0,
            log_every=100,
            workers=workers,
        ),
        record,
    )
    evaluation = result["evaluation"]
    print(
        f"\n[long run] 400 train / 50 val images 640x480, {size}px, 3000 iterations of {batch}: "
        f"{time.perf_counter() - start:.0f} s"
    )
    print(f"  box  AP {evaluation.box['AP']:.3f}  AP50 {evaluation.box['AP50']:.3f}  AP75 {evaluation.box['AP75']:.3f}")
    print(
        f"  mask AP {evaluation.mask['AP']:.3f}  AP50 {evaluation.mask['AP50']:.3f}  AP75 {evaluation.mask['AP75']:.3f}"
    )


def _figures(ips: tuple[float, float, float, float]) -> str:
    return f"{ips[0]:7.2f} images/s (iterations ranged {ips[1]:.2f}-{ips[2]:.2f}), {ips[3]:.2f} CPU s/image"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="yolact_resnet50")
    parser.add_argument("--repeats", type=int, default=8, help="timed iterations per measurement")
    parser.add_argument("--cpu-size", type=int, default=320)
    parser.add_argument("--cpu-batch", type=int, default=2)
    parser.add_argument("--gpu-size", type=int, default=550)
    parser.add_argument("--gpu-batch", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="data loader processes on CUDA")
    parser.add_argument("--long", action="store_true", help="also a 3000-iteration CUDA run with its AP")
    args = parser.parse_args()

    work = scratch_dir("protolabel-train-bench-")
    weights = synthetic_checkpoint(args.config, work / "weights")
    coco = write_dataset(work / "data", 24, seed=0, size=(480, 640))
    images = work / "data" / "images"
    print(
        f"{args.config}, synthetic 640x480 images with 1-3 objects, augmentation on; torch {torch.__version__}; "
        f"median of {args.repeats} iterations after {WARMUP_ITERATIONS} warm-up"
    )

    torch.set_num_threads(2)
    ips = images_per_second(
        weights,
        coco,
        images,
        work / "cpu",
        device="cpu",
        size=args.cpu_size,
        batch=args.cpu_batch,
        repeats=args.repeats,
        amp=False,
        workers=0,
    )
    print(f"  cpu (2 threads)  {args.cpu_size}px batch {args.cpu_batch}: {_figures(ips)}")
    if torch.cuda.is_available():
        torch.set_num_threads(max(1, torch.get_num_threads()))
        for amp in (True, False):
            ips = images_per_second(
                weights,
                coco,
                images,
                work / f"cuda_{amp}",
                device="cuda",
                size=args.gpu_size,
                batch=args.gpu_batch,
                repeats=args.repeats,
                amp=amp,
                workers=args.workers,
            )
            label = "AMP" if amp else "fp32"
            print(f"  cuda {label:<4}       {args.gpu_size}px batch {args.gpu_batch}: {_figures(ips)}")
        if args.long:
            long_run(weights, work, args.gpu_size, args.gpu_batch, args.workers)


if __name__ == "__main__":
    main()
