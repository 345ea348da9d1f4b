"""Folder throughput: the pipelined run against the sequential one, measured in the same run.

Writes 64 photos of mixed sizes (scikit-image's samples, cropped and resized, JPEG and PNG) into a
temporary folder and labels it as `protolabel label` does (prelabel_folder: score threshold 0.3, polygons,
the COCO file written), with the model loaded once beforehand. Rounds are interleaved (each variant once
per round) and each figure is the median over rounds, so a load change on the machine hits every variant.

Each row: images/s, its ratio to the sequential run at the first batch size, and its fidelity, the share
of the fp32 batch-1 detections that the variant finds again (same class, mask IoU >= 0.98; goal >= 99%).
CPU: sequential (workers=0) and pipelined (--workers, default half the cores) at batch 1, fp32.
CUDA (--device cuda): at batch 1, 8 and 16, sequential fp32, and pipelined in fp32, fp16 autocast and bf16
autocast (torch.autocast around the model's calls: the engine has no precision option).

    .venv/bin/python benchmarks/throughput.py [--device cpu|cuda] [--repeats N] [--photos 64]
                                              [--config NAME] [--workers N] [--batch-sizes 1,8,16]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Only light imports here: the pipeline's spawned workers import this script (as __mp_main__), and torch
# would add seconds to each one's start. torch and the engine are imported in main().
from benchmarks._common import interleaved_medians, matched_share, scratch_dir, synthetic_checkpoint  # noqa: E402
from protolabel.segmentation.images import read_image  # noqa: E402
from protolabel.segmentation.pipeline import default_workers  # noqa: E402
from protolabel.segmentation.prelabel import prelabel_folder, scan_folder  # noqa: E402

PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "camera",
    "coins",
)  # scikit-image samples present without a download; the last two are gray
SIZES = ((640, 480), (480, 640), (800, 600), (1024, 768), (320, 240), (500, 375), (960, 540), (375, 500))
SCORE_THRESHOLD, TOP_K = 0.3, 100  # `protolabel label`'s defaults
PRECISIONS = {"fp32": None, "fp16": "float16", "bf16": "bfloat16"}  # torch dtype names for autocast


def write_photos(folder: Path, count: int, seed: int = 0) -> None:
    """`count` photos of the SIZES, each a random crop of a sample (aspect kept) resized, JPEG or PNG."""
    from skimage import data

    rng = np.random.default_rng(seed)
    samples = [getattr(data, name)() for name in PHOTOS]
    for i in range(count):
        image = samples[i % len(samples)]
        image = image[:, :, ::-1] if image.ndim == 3 else image  # RGB -> BGR for OpenCV
        width, height = SIZES[(i // len(samples) + i) % len(SIZES)]
        scale = min(image.shape[0] / height, image.shape[1] / width) * rng.uniform(0.6, 1.0)
        crop_h, crop_w = max(8, int(height * scale)), max(8, int(width * scale))
        y = int(rng.integers(0, image.shape[0] - crop_h + 1))
        x = int(rng.integers(0, image.shape[1] - crop_w + 1))
        photo = cv2.resize(
            np.ascontiguousarray(image[y : y + crop_h, x : x + crop_w]),
            (width, height),
            interpolation=cv2.INTER_AREA if scale > 1 else cv2.INTER_LINEAR,
        )
        cv2.imwrite(str(folder / (f"photo{i:03d}.jpg" if i % 4 else f"photo{i:03d}.png")), photo)


class AutocastModel:
    """The engine as prelabel_folder sees it, its calls run under torch.autocast when `dtype` is given
    (the engine has no precision option; autocast is thread-local and the model runs on the calling thread)."""

    def __init__(self, engine, dtype: str | None) -> None:
        from protolabel.segmentation.engine import InferenceSettings

        self.engine, self.dtype = engine, dtype
        self.class_names = engine.class_names
        self.settings = InferenceSettings(score_threshold=SCORE_THRESHOLD, top_k=TOP_K)

    def predict(self, images: list[np.ndarray]):
        import torch

        precision = (
            torch.autocast(self.engine.device.type, dtype=getattr(torch, self.dtype))
            if self.dtype
            else contextlib.nullcontext()
        )
        with precision:
            results = self.engine.predict(images, self.settings)
        if self.engine.device.type == "cuda":
            torch.cuda.synchronize()
        return results


def label_folder_seconds(
    folder: Path, out: Path, model: AutocastModel, batch_size: int, workers: int
) -> Callable[[], float]:
    """A callable that labels the folder once (a fresh COCO file each time) and returns its wall time."""
    scan = scan_folder(folder)
    names = [name for name, _ in scan.images]

    def run() -> float:
        out.unlink(missing_ok=True)
        start = time.perf_counter()
        report = prelabel_folder(scan, out, names, lambda: model, batch_size=batch_size, workers=workers)
        elapsed = time.perf_counter() - start
        assert report.labeled == len(names) and not report.failed, report
        return elapsed

    return run


def fidelity(engine, images: list[np.ndarray], batch_size: int, dtype, reference) -> float:
    """Share of the reference detections found again by this variant, over the whole folder."""
    model = AutocastModel(engine, dtype)
    found = total = 0
    for start in range(0, len(images), batch_size):
        for ref, det in zip(reference[start : start + batch_size], model.predict(images[start : start + batch_size])):
            found += round(matched_share(ref, det) * len(ref))
            total += len(ref)
    return found / total if total else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument(
        "--repeats", type=int, default=None, help="rounds; each figure is their median (default: 1 on CPU, 3 on CUDA)"
    )
    parser.add_argument("--photos", type=int, default=64)
    parser.add_argument(
        "--config",
        default=None,
        help="model config (default: yolact_resnet50_im128 on CPU, so that a 2-core machine "
        "runs it in minutes; yolact_base on CUDA)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"pipelined workers (default {max(1, default_workers())}: "
        "this machine's default for a folder, at least 1)",
    )
    parser.add_argument("--batch-sizes", default=None, help="comma-separated (default: 1 on CPU, 1,8,16 on CUDA)")
    parser.add_argument(
        "--precisions",
        default=None,
        help=f"comma-separated of {','.join(PRECISIONS)} (default: fp32 on CPU, all on CUDA)",
    )
    args = parser.parse_args()
    import torch

    from protolabel.segmentation.engine import YolactEngine

    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device here")
    cuda = args.device == "cuda"
    repeats = args.repeats or (3 if cuda else 1)
    config = args.config or ("yolact_base" if cuda else "yolact_resnet50_im128")
    workers = max(1, default_workers()) if args.workers is None else args.workers
    batches = [int(b) for b in (args.batch_sizes or ("1,8,16" if cuda else "1")).split(",")]
    names = (args.precisions or ("fp32,fp16,bf16" if cuda else "fp32")).split(",")
    if "fp32" not in names or not set(names) <= set(PRECISIONS):
        parser.error(f"--precisions: some of {', '.join(PRECISIONS)}, fp32 included (the reference)")
    precisions = {name: PRECISIONS[name] for name in names}
    if not cuda:
        torch.set_num_threads(min(2, torch.get_num_threads()))

    work = scratch_dir("protolabel-throughput-")
    folder = work / "photos"
    folder.mkdir()
    write_photos(folder, args.photos)
    weights = synthetic_checkpoint(config.split("_im")[0], work / "weights")
    engine = YolactEngine(weights, config, args.device)
    images = [read_image(path) for _, path in scan_folder(folder).images]
    sizes = sorted({image.shape[1::-1] for image in images})
    print(
        f"{len(images)} photos, {len(sizes)} sizes from {min(sizes)} to {max(sizes)}; {config} (synthetic weights) "
        f"on {engine.device}; torch {torch.__version__}; {workers} workers; median of {repeats} round(s)",
        flush=True,
    )
    out = work / "labels.json"
    for precision, dtype in list(precisions.items()):  # warm-up, untimed (kernels, autocast's caches)
        try:
            AutocastModel(engine, dtype).predict(images[:2])
        except RuntimeError as exc:
            print(f"  {precision}: autocast fails ({str(exc).splitlines()[0][:100]}); left out")
            del precisions[precision]

    reference = AutocastModel(engine, None)  # fidelity: against fp32 at batch 1 (itself: 1 by definition)
    compared = any((batch, precision) != (1, "fp32") for batch in batches for precision in precisions)
    reference_detections = [reference.predict([image])[0] for image in images] if compared else []
    base = None
    print(f"  {'batch':>5} {'run':<11} {'precision':<9} {'images/s':>9} {'vs seq b1':>9} {'fidelity':>8}")
    for batch in batches:  # rounds interleaved within a batch size; its rows printed as soon as measured
        runs = {("sequential", "fp32"): label_folder_seconds(folder, out, AutocastModel(engine, None), batch, 0)}
        for precision, dtype in precisions.items():
            runs["pipelined", precision] = label_folder_seconds(
                folder, out, AutocastModel(engine, dtype), batch, workers
            )
        medians = interleaved_medians(runs, repeats, warmup=0)
        base = base or medians["sequential", "fp32"]
        shares = {
            precision: 1.0
            if (batch, precision) == (1, "fp32")
            else fidelity(engine, images, batch, dtype, reference_detections)
            for precision, dtype in precisions.items()
        }
        for (mode, precision), seconds in medians.items():
            print(
                f"  {batch:>5} {mode:<11} {precision:<9} {len(images) / seconds:9.2f} {base / seconds:9.2f} "
                f"{shares[precision]:8.4f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
