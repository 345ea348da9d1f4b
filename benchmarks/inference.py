"""Inference speed of the YOLACT engine against a torchvision ResNet-101 yardstick measured in the same run.

Prints, per config (yolact_resnet50, yolact_base at 550) and device: the median ms/image of the network
alone and of image file -> original-size masks end to end, and each figure's ratio to the median of a
torchvision ResNet-101 forward at 550x550 (CPU with 2 threads; CUDA batch 1 and 8 when present).

    .venv/bin/python benchmarks/inference.py [--repeats N] [--configs yolact_resnet50,yolact_base]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import median_seconds, synthetic_checkpoint  # noqa: E402
from segmentation.engine import YolactEngine  # noqa: E402
from segmentation.images import read_image  # noqa: E402


def yardstick_seconds(device: torch.device, batch: int, repeats: int) -> float:
    net = torchvision.models.resnet101(weights=None).eval().to(device)
    x = torch.randn(batch, 3, 550, 550, device=device)

    def run():
        with torch.inference_mode():
            net(x)
        if device.type == "cuda":
            torch.cuda.synchronize()

    return median_seconds(run, repeats) / batch


def engine_seconds(engine: YolactEngine, image_path: Path, batch: int, repeats: int) -> tuple[float, float]:
    """(network only, end to end) seconds per image."""
    images = [read_image(image_path)] * batch
    x = engine.transform(images, engine.device)
    sync = torch.cuda.synchronize if engine.device.type == "cuda" else (lambda: None)

    def network():
        with torch.inference_mode():
            engine.model(x)
        sync()

    def end_to_end():
        engine.predict([read_image(image_path) for _ in range(batch)])
        sync()

    return median_seconds(network, repeats) / batch, median_seconds(end_to_end, repeats) / batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--configs", default="yolact_resnet50,yolact_base")
    parser.add_argument("--photo", default="coffee", help="scikit-image sample photo name")
    args = parser.parse_args()

    from skimage import data

    work = Path(tempfile.mkdtemp(prefix="protolabel-bench-"))
    photo = work / f"{args.photo}.png"
    cv2.imwrite(str(photo), getattr(data, args.photo)()[:, :, ::-1])
    h, w = read_image(photo).shape[:2]
    print(f"photo: skimage {args.photo} {w}x{h}; torch {torch.__version__}; median of {args.repeats}")

    runs = [(torch.device("cpu"), 1)]
    if torch.cuda.is_available():
        runs += [(torch.device("cuda"), 1), (torch.device("cuda"), 8)]
    for device, batch in runs:
        if device.type == "cpu":
            torch.set_num_threads(2)
        name = f"{device.type} batch {batch}" + (" (2 threads)" if device.type == "cpu" else "")
        ref = yardstick_seconds(device, batch, args.repeats)
        print(f"\n[{name}] yardstick torchvision resnet101 @550: {ref * 1e3:.1f} ms/image")
        print(f"  {'config':<18} {'network ms':>10} {'ratio':>6} {'end-to-end ms':>14} {'ratio':>6}")
        for config in args.configs.split(","):
            engine = YolactEngine(synthetic_checkpoint(config, work / "weights"), device=device)
            net, e2e = engine_seconds(engine, photo, batch, args.repeats)
            print(f"  {config:<18} {net * 1e3:>10.1f} {net / ref:>6.2f} {e2e * 1e3:>14.1f} {e2e / ref:>6.2f}")


if __name__ == "__main__":
    main()
