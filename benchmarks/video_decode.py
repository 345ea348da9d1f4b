"""Video reading speed and memory (segmentation/media/reader.py) on a synthetic 1080p H.264 file made with PyAV.

Reports, for one file of --minutes minutes at 30 frames/s with a keyframe every --gop frames:
- the time to open it (SHA-256 of the file + the demux pass that builds the frame index);
- random-seek latency: frames read in a random order (seeded), each a fresh seek (cache of 1 frame),
  p50 / p95 / max in ms; the goal is p95 <= 60 ms;
- sequential decode: frames/s reading every frame in order (BGR arrays, as the app and `label` get them);
- resident memory (RSS) while reading the whole file in order: at the start, the largest, and at the end.

The picture is a still gradient with a moving block and a frame counter pattern: cheap to make (the
encoder dominates the making), realistic enough for GOP structure (P/B-frames carry the motion).

    PYTHONPATH=build/namespace .venv/bin/python benchmarks/video_decode.py [--minutes 20] [--gop 60]
        [--seeks 200] [--sequential 600] [--keep FILE]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import scratch_dir  # noqa: E402
from protolabel.segmentation.media.reader import VideoReader  # noqa: E402

WIDTH, HEIGHT, FPS = 1920, 1080, 30


def make_video(path: Path, frames: int, gop: int) -> float:
    """Write the synthetic 1080p H.264 file; seconds taken."""
    start = time.perf_counter()
    y = (np.add.outer(np.arange(HEIGHT) // 4, np.arange(WIDTH) // 8) % 256).astype(np.uint8)
    chroma = np.full((HEIGHT // 2, WIDTH), 128, np.uint8)  # U and V planes, stacked as yuv420p wants
    base = np.vstack([y, chroma])
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"g": str(gop), "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.time_base = Fraction(1, FPS)
        for i in range(frames):
            plane = base.copy()
            x = (i * 7) % (WIDTH - 160)
            plane[200:360, x : x + 160] = 255 - plane[200:360, x : x + 160]
            for bit in range(16):  # the frame number as bright/dark blocks along the top
                plane[0:32, bit * 32 : bit * 32 + 32] = 235 if (i >> bit) & 1 else 16
            frame = av.VideoFrame.from_ndarray(plane, format="yuv420p")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return time.perf_counter() - start


def rss_mb() -> float:
    """Resident memory of this process now, in MB (Linux /proc; the peak from getrusage elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--gop", type=int, default=60, help="frames between keyframes (default 60: 2 s)")
    parser.add_argument("--seeks", type=int, default=200)
    parser.add_argument("--sequential", type=int, default=600, help="frames timed for sequential decode")
    parser.add_argument("--keep", type=Path, default=None, help="reuse / keep the video at this path")
    parser.add_argument("--skip-rss", action="store_true", help="leave out the read-everything RSS pass")
    args = parser.parse_args()

    frames = round(args.minutes * 60 * FPS)
    path = args.keep or scratch_dir("protolabel-video-bench-") / "synthetic_1080p.mp4"
    if not path.exists():
        made = make_video(path, frames, args.gop)
        print(
            f"made {path.name}: {frames} frames 1920x1080 H.264, gop {args.gop}, {path.stat().st_size / 1e6:.0f} MB "
            f"in {made:.0f} s"
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"av {av.__version__}, FFmpeg {av.ffmpeg_version_info}; {os.cpu_count()} CPUs, load average {load:.1f}")

    start = time.perf_counter()
    with VideoReader(path) as reader:
        opened = time.perf_counter() - start
        print(f"open (SHA-256 + demux index of {len(reader)} frames): {opened:.2f} s")
    rng = random.Random(0)
    with VideoReader(path, index=reader.index, cache_frames=1) as reader:
        targets = [rng.randrange(len(reader)) for _ in range(args.seeks)]
        latencies = []
        for i in targets:
            t = time.perf_counter()
            reader.read(i)
            latencies.append((time.perf_counter() - t) * 1e3)
        q = statistics.quantiles(latencies, n=20)
        walk = statistics.mean(i - (reader.index.keyframe_at_or_before(i) or 0) for i in targets)
        print(
            f"random seek ({args.seeks} reads): p50 {statistics.median(latencies):.1f} ms, p95 {q[18]:.1f} ms, "
            f"max {max(latencies):.1f} ms (goal p95 <= 60 ms); {walk:.1f} frames decoded past the keyframe on average"
        )
    with VideoReader(path, index=reader.index) as reader:
        count = min(args.sequential, len(reader))
        t = time.perf_counter()
        for i in range(count):
            reader.read(i)
        print(f"sequential decode: {count / (time.perf_counter() - t):.1f} frames/s (BGR arrays, {count} frames)")
    if args.skip_rss:
        return
    with VideoReader(path, index=reader.index) as reader:
        samples = [rss_mb()]
        every = max(1, len(reader) // 40)
        t = time.perf_counter()
        for i in range(len(reader)):
            reader.read(i)
            if i % every == 0:
                samples.append(rss_mb())
        samples.append(rss_mb())
        quarter = [samples[round(len(samples) * q / 4)] for q in (1, 2, 3)]
        print(
            f"RSS over all {len(reader)} frames ({len(reader) / FPS / 60:.1f} min): before {samples[0]:.0f} MB, "
            f"after the first frames {samples[1]:.0f} MB, at 25/50/75 % {quarter[0]:.0f}/{quarter[1]:.0f}/"
            f"{quarter[2]:.0f} MB, max {max(samples):.0f} MB, end {samples[-1]:.0f} MB; "
            f"{len(reader) / (time.perf_counter() - t):.1f} frames/s"
        )


if __name__ == "__main__":
    main()
