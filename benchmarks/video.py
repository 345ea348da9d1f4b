"""Video speed of YolactEdge: every frame in full (YOLACT per frame) against the keyframe path, same run.

For each config: the median seconds of one keyframe network pass and of one non-keyframe pass (backbone to
C3 + flow net + warp + SPA + FPN phase 2 + head), their ratio (the goal on a CPU: <= 0.45), the same ratio
in convolution FLOPs (torch's flop counter: what the exact computation must cost, whatever the machine's
load; FPN phase 2, the prototype net and the head run on every frame), and frames/s
over the whole clip end to end (network + NMS + masks at 640x480) run per frame and with a keyframe every
k frames. With --partial-backends, the non-keyframe network also runs exported to ONNX on those backends
(keyframes stay on torch): its pass time and the keyframe path's frames/s with it, in the same rounds.
Rounds are interleaved (each variant once per round), so a change of load on a shared machine hits
every variant alike. Synthetic weights (the released ones cannot be downloaded here): the cost is the same.
The clip is the 10-frame fixture clip (tests/fixtures/yolactedge/clip_A), 640x480. CPU runs use 2 threads.

    .venv/bin/python benchmarks/video.py [--repeats N] [--configs yolact_edge_vid_resnet50,yolact_edge_vid]
                                         [--keyframe-interval 5] [--device cpu|cuda]
                                         [--partial-backends onnxruntime,openvino]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from benchmarks._common import REPO_ROOT, interleaved_medians, scratch_dir, synthetic_checkpoint  # noqa: E402
from protolabel.segmentation.engine import YolactEngine  # noqa: E402
from protolabel.segmentation.video import SequenceRunner, onnx_partial_network  # noqa: E402

CLIP = REPO_ROOT / "tests" / "fixtures" / "yolactedge" / "clip_A"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--configs", default="yolact_edge_vid_resnet50,yolact_edge_vid")
    parser.add_argument("--keyframe-interval", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--partial-backends", default="", help="comma-separated: onnxruntime, openvino (CPU)")
    args = parser.parse_args()
    partial_backends = [b for b in args.partial_backends.split(",") if b]
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(2)
    frames = [cv2.imread(str(CLIP / f"frame_{i:03d}.png")) for i in range(10)]
    work = scratch_dir("protolabel-bench-video-")
    print(
        f"device {device}{' (2 threads)' if device.type == 'cpu' else ''}, torch {torch.__version__}, "
        f"{len(frames)} frames 640x480, k = {args.keyframe_interval}, median of {args.repeats} interleaved rounds"
    )
    print(
        f"{'config':26} {'keyframe ms':>11} {'non-key ms':>10} {'ratio':>6} {'FLOP ratio':>10} {'per-frame fps':>13} "
        f"{'keyframe-path fps':>17} {'speed-up':>8}"
    )
    for config in args.configs.split(","):
        engine = YolactEngine(synthetic_checkpoint(config, work), device=device)
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        x0 = engine.transform([frames[0]], device)
        x1 = engine.transform([frames[1]], device)
        with torch.inference_mode():
            _, state = engine.network.keyframe(x0)

        def timed(fn):
            def run() -> float:
                with torch.inference_mode():
                    sync()
                    start = time.perf_counter()
                    fn()
                    sync()
                    return time.perf_counter() - start

            return run

        def per_frame() -> None:
            for frame in frames:
                engine.predict_image(frame)

        def keyframe_path(partial_network=None) -> None:
            runner = SequenceRunner(engine, args.keyframe_interval, partial_network=partial_network)
            for frame in frames:
                runner.predict(frame)

        exported = {backend: onnx_partial_network(engine, backend) for backend in partial_backends}

        flops = {}
        for name, fn in (
            ("keyframe", lambda: engine.network.keyframe(x0)),
            ("partial", lambda: engine.network.partial(x1, state)),
        ):
            with torch.inference_mode(), FlopCounterMode(display=False) as counter:
                fn()
            flops[name] = counter.get_total_flops()
        runs = {
            "keyframe": timed(lambda: engine.network.keyframe(x0)),
            "partial": timed(lambda: engine.network.partial(x1, state)),
            "per_frame": timed(per_frame),
            "keyframe_path": timed(keyframe_path),
        }
        for backend, network in exported.items():
            runs[f"partial {backend}"] = timed(lambda network=network: network.partial(x1, state))
            runs[f"keyframe_path {backend}"] = timed(lambda network=network: keyframe_path(network))
        medians = interleaved_medians(runs, repeats=args.repeats)
        fps_full = len(frames) / medians["per_frame"]
        fps_video = len(frames) / medians["keyframe_path"]
        print(
            f"{config:26} {1000 * medians['keyframe']:11.1f} {1000 * medians['partial']:10.1f} "
            f"{medians['partial'] / medians['keyframe']:6.2f} {flops['partial'] / flops['keyframe']:10.2f} "
            f"{fps_full:13.2f} {fps_video:17.2f} {fps_video / fps_full:7.2f}x"
        )
        for backend in exported:
            fps = len(frames) / medians[f"keyframe_path {backend}"]
            label = f"  non-keyframes on {backend}"
            print(
                f"{label:26} {'':11} {1000 * medians[f'partial {backend}']:10.1f} "
                f"{medians[f'partial {backend}'] / medians['keyframe']:6.2f} {'':10} {'':13} {fps:17.2f} "
                f"{fps / fps_full:7.2f}x"
            )


if __name__ == "__main__":
    main()
