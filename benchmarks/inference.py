"""Inference speed of the YOLACT engine on each backend against a ResNet-101 yardstick measured in the same run.

Prints, per config and device: the median ms/image of the network alone and of image file -> original-size
masks end to end, for torch fp32, torch bf16 (autocast), ONNX Runtime fp32 and OpenVINO fp32/bf16 (those
installed), each with its ratio to the median of a torchvision ResNet-101 forward at 550x550 (CPU with 2
threads; CUDA batch 1 and 8 when present). Rounds are interleaved (each variant once per round), so a load
change on the machine hits every variant alike. `match` is the share of torch fp32's detections that the
backend finds again with mask IoU >= 0.98 (same class), on the benchmark photo. One more line says how
sensitive the weights themselves are, both torch fp32: on the photo with one grey level added to 1 % of its
pixels (a change no one can see), and with every weight rounded to bf16 but the arithmetic in fp32 (the part
of a bf16 variant's loss that no bf16 arithmetic can avoid).

    .venv/bin/python benchmarks/inference.py [--repeats N] [--configs yolact_base,yolact_resnet50]
                                             [--backends torch:fp32,torch:bf16,onnxruntime:fp32,...]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import REPO_ROOT, interleaved_medians, matched_share, scratch_dir, synthetic_checkpoint  # noqa: E402
from protolabel.segmentation.backends import BackendError  # noqa: E402
from protolabel.segmentation.engine import YolactEngine  # noqa: E402
from protolabel.segmentation.images import read_image  # noqa: E402

VARIANTS = "torch:fp32,torch:bf16,onnxruntime:fp32,openvino:fp32,openvino:bf16"


def nudged(image: np.ndarray, share: float = 0.01, seed: int = 0) -> np.ndarray:
    """`image` with one grey level added to a seeded `share` of its pixels (all channels of each)."""
    picked = np.random.default_rng(seed).random(image.shape[:2]) < share
    out = image.copy()
    out[picked] = np.minimum(out[picked].astype(np.int16) + 1, 255).astype(image.dtype)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--configs", default="yolact_base")
    parser.add_argument("--backends", default=VARIANTS, help=f"backend:precision list (default {VARIANTS})")
    parser.add_argument("--photo", default="coffee", help="scikit-image sample photo name")
    parser.add_argument(
        "--cache", default=str(REPO_ROOT / "build" / "bench-onnx"), help="where .pth exports are cached between runs"
    )
    args = parser.parse_args()

    from skimage import data

    work = scratch_dir("protolabel-bench-")
    photo = work / f"{args.photo}.png"
    cv2.imwrite(str(photo), getattr(data, args.photo)()[:, :, ::-1])
    h, w = read_image(photo).shape[:2]
    print(
        f"photo: skimage {args.photo} {w}x{h}; torch {torch.__version__}; median of {args.repeats} interleaved rounds"
    )

    runs = [(torch.device("cpu"), 1)]
    if torch.cuda.is_available():
        runs += [(torch.device("cuda"), 1), (torch.device("cuda"), 8)]
    for device, batch in runs:
        if device.type == "cpu":
            torch.set_num_threads(2)
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        name = f"{device.type} batch {batch}" + (" (2 threads)" if device.type == "cpu" else "")
        yardstick = torchvision.models.resnet101(weights=None).eval().to(device)
        x_ref = torch.randn(batch, 3, 550, 550, device=device)

        def resnet101(net=yardstick, x=x_ref):
            with torch.inference_mode():
                net(x)
            sync()

        for config in args.configs.split(","):
            weights = synthetic_checkpoint(config, work / "weights")
            engines: dict[str, YolactEngine] = {}
            for variant in args.backends.split(","):
                backend, precision = variant.split(":")
                try:
                    engine = YolactEngine(
                        weights,
                        device=device,
                        backend=backend,
                        precision=precision,
                        onnx_cache_dir=args.cache,
                        on_export=print,
                    )
                except BackendError as exc:
                    print(f"  {variant}: skipped ({exc})")
                    continue
                engines[f"{engine.network.name} {engine.network.precision}"] = engine
            images = [read_image(photo)] * batch
            x = next(iter(engines.values())).transform(images, device)
            timed: dict[str, Callable[[], object]] = {"yardstick": resnet101}
            for label, engine in engines.items():

                def network(e=engine):
                    with torch.inference_mode():
                        e.network(x)
                    sync()

                def end_to_end(e=engine):
                    e.predict([read_image(photo) for _ in range(batch)])
                    sync()

                timed[f"{label} network"] = network
                timed[f"{label} e2e"] = end_to_end
            seconds = interleaved_medians(timed, args.repeats)
            ref = seconds["yardstick"] / batch
            base = engines.get("torch fp32")
            reference = base.predict_image(images[0]) if base else None
            print(f"\n[{name}] {config}; yardstick torchvision resnet101 @550: {ref * 1e3:.1f} ms/image")
            print(f"  {'backend':<18} {'network ms':>10} {'ratio':>6} {'end-to-end ms':>14} {'ratio':>6} {'match':>6}")
            for label, engine in engines.items():
                net, e2e = seconds[f"{label} network"] / batch, seconds[f"{label} e2e"] / batch
                match = f"{matched_share(reference, engine.predict_image(images[0])):.3f}" if reference else "-"
                print(
                    f"  {label:<18} {net * 1e3:>10.1f} {net / ref:>6.2f}"
                    f" {e2e * 1e3:>14.1f} {e2e / ref:>6.2f} {match:>6}"
                )
            if reference:
                nudge = matched_share(reference, base.predict_image(nudged(images[0])))
                rounded = YolactEngine(weights, device=device, backend="torch", precision="fp32")
                with torch.no_grad():
                    for tensor in rounded.network.model.state_dict().values():
                        if tensor.is_floating_point():
                            tensor.copy_(tensor.to(torch.bfloat16))
                rounding = matched_share(reference, rounded.predict_image(images[0]))
                print(
                    f"  torch fp32, photo +1 grey level on 1 % of pixels: match {nudge:.3f}; "
                    f"weights rounded to bf16, fp32 arithmetic: match {rounding:.3f}"
                )


if __name__ == "__main__":
    main()
