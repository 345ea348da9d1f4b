"""Video reading speed and memory (segmentation/media/reader.py) on a synthetic 1080p H.264 file made with PyAV.

Reports, for one file of --minutes minutes at 30 frames/s with a keyframe every --gop frames (x264
`ultrafast`, so no B-frames unless --bframes asks for them):
- the time to open it (SHA-256 of the file + the demux pass that builds the frame index);
- exact random-seek latency, p50 / p95 / max in ms (the goal is p95 <= 60 ms): frames read in a random order
  (seeded; most land outside the cache and the GOP being decoded, so they seek) by two readers in turn: one
  as the reader was before seek shortcuts (`seek_shortcuts=False`: every frame from the keyframe decoded and
  cached), one as it is, both with the app's cache size. Their frames are compared, so a shortcut that
  returned another frame would stop the run. On a loaded machine trust the ratio of the two, and the CPU
  time per seek (all threads), which says how much work each did whatever else the machine runs;
- sequential decode: frames/s reading frames in order, the two readers in turn by blocks of 20 frames
  (BGR arrays, as the app and `label` get them);
- resident memory (RSS) while the current reader reads the whole file in order: at the start, at each
  quarter, the largest, and at the end.

The picture is a still gradient with a moving block and a frame counter pattern: cheap to make (the
encoder dominates the making), realistic enough for GOP structure (P/B-frames carry the motion).

    PYTHONPATH=build/namespace .venv/bin/python benchmarks/video_decode.py [--minutes 20] [--gop 60]
        [--bframes 0] [--seeks 200] [--sequential 600] [--keep FILE] [--skip-rss]
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
from protolabel.segmentation.media.frame_index import FrameIndex  # noqa: E402
from protolabel.segmentation.media.reader import VideoReader  # noqa: E402

WIDTH, HEIGHT, FPS = 1920, 1080, 30


def make_video(path: Path, frames: int, gop: int, bframes: int = 0) -> float:
    """Write the synthetic 1080p H.264 file (`bframes` B-frames in a row at most); seconds taken."""
    start = time.perf_counter()
    y = (np.add.outer(np.arange(HEIGHT) // 4, np.arange(WIDTH) // 8) % 256).astype(np.uint8)
    chroma = np.full((HEIGHT // 2, WIDTH), 128, np.uint8)  # U and V planes, stacked as yuv420p wants
    base = np.vstack([y, chroma])
    with av.open(str(path), "w") as container:
        options = {"g": str(gop), "preset": "ultrafast"} | ({"bf": str(bframes)} if bframes else {})
        stream = container.add_stream("libx264", rate=FPS, options=options)
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


def percentiles(latencies: list[float]) -> tuple[float, float, float]:
    """(p50, p95, max) of `latencies`."""
    return statistics.median(latencies), statistics.quantiles(latencies, n=20, method="inclusive")[18], max(latencies)


def seek_latencies(
    path: Path, index: FrameIndex, targets: list[int]
) -> tuple[dict[bool, list[float]], dict[bool, float]]:
    """Wall ms per exact read of each target by a reader without (False) and with (True) seek shortcuts, read in
    turn; and the CPU seconds (all threads) each spent: the work done, which the machine's load does not inflate."""
    latencies: dict[bool, list[float]] = {False: [], True: []}
    cpu = {False: 0.0, True: 0.0}
    with (
        VideoReader(path, index=index, seek_shortcuts=False) as before,
        VideoReader(path, index=index, seek_shortcuts=True) as after,
    ):
        readers = {False: before, True: after}
        for n, i in enumerate(targets):
            images = {}
            for shortcuts in (n % 2 == 0, n % 2 == 1):  # each goes first half the time
                t, c = time.perf_counter(), time.process_time()
                images[shortcuts] = readers[shortcuts].read(i)
                latencies[shortcuts].append((time.perf_counter() - t) * 1e3)
                cpu[shortcuts] += time.process_time() - c
            if not np.array_equal(images[False], images[True]):
                raise SystemExit(f"frame {i}: the two readers returned different pixels")
    return latencies, cpu


def sequential_rates(
    path: Path, index: FrameIndex, count: int, block: int = 20
) -> tuple[dict[bool, float], dict[bool, float]]:
    """Frames/s reading frames 0..count-1 in order without (False) and with (True) shortcuts, by blocks in turn;
    and CPU ms (all threads) per frame."""
    seconds = {False: 0.0, True: 0.0}
    cpu = {False: 0.0, True: 0.0}
    with (
        VideoReader(path, index=index, seek_shortcuts=False) as before,
        VideoReader(path, index=index, seek_shortcuts=True) as after,
    ):
        for start in range(0, count, block):
            for shortcuts, reader in ((False, before), (True, after)):
                t, c = time.perf_counter(), time.process_time()
                for i in range(start, min(count, start + block)):
                    reader.read(i)
                seconds[shortcuts] += time.perf_counter() - t
                cpu[shortcuts] += time.process_time() - c
    return (
        {shortcuts: count / spent for shortcuts, spent in seconds.items()},
        {shortcuts: spent / count * 1e3 for shortcuts, spent in cpu.items()},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--gop", type=int, default=60, help="frames between keyframes (default 60: 2 s)")
    parser.add_argument("--bframes", type=int, default=0, help="B-frames in a row at most (default 0, as ultrafast)")
    parser.add_argument("--seeks", type=int, default=200)
    parser.add_argument("--sequential", type=int, default=600, help="frames timed for sequential decode")
    parser.add_argument("--keep", type=Path, default=None, help="reuse / keep the video at this path")
    parser.add_argument("--skip-rss", action="store_true", help="leave out the read-everything RSS pass")
    args = parser.parse_args()
    frames = round(args.minutes * 60 * FPS)
    if frames < 2 or args.gop < 1 or args.bframes < 0 or args.seeks < 2 or args.sequential < 1:
        parser.error("needs --minutes of 2 frames or more, --gop >= 1, --bframes >= 0, --seeks >= 2, --sequential >= 1")
    path = args.keep or scratch_dir("protolabel-video-bench-") / "synthetic_1080p.mp4"
    if not path.exists():
        made = make_video(path, frames, args.gop, args.bframes)
        print(
            f"made {path.name}: {frames} frames 1920x1080 H.264, gop {args.gop}, {args.bframes} B-frames, "
            f"{path.stat().st_size / 1e6:.0f} MB in {made:.0f} s"
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"av {av.__version__}, FFmpeg {av.ffmpeg_version_info}; {os.cpu_count()} CPUs, load average {load:.1f}")

    start = time.perf_counter()
    with VideoReader(path) as reader:
        opened = time.perf_counter() - start
        index = reader.index
    keyframes = sum(index.keyframes)
    print(f"open (SHA-256 + demux index of {len(index)} frames, {keyframes} keyframes): {opened:.2f} s")

    rng = random.Random(0)
    targets = [rng.randrange(len(index)) for _ in range(args.seeks)]
    latencies, cpu = seek_latencies(path, index, targets)
    walk = statistics.mean(i - (index.keyframe_at_or_before(i) or 0) for i in targets)
    (b50, b95, bmax), (a50, a95, amax) = percentiles(latencies[False]), percentiles(latencies[True])
    print(
        f"exact random seek ({args.seeks} reads, {walk:.1f} frames past the keyframe on average), goal p95 <= 60 ms:\n"
        f"  before: p50 {b50:.1f} ms, p95 {b95:.1f} ms, max {bmax:.1f} ms\n"
        f"  after:  p50 {a50:.1f} ms, p95 {a95:.1f} ms, max {amax:.1f} ms  (after/before: p50 {a50 / b50:.2f}, "
        f"p95 {a95 / b95:.2f}; same pixels on every read)\n"
        f"  CPU per seek (all threads): before {cpu[False] / len(targets) * 1e3:.1f} ms, after "
        f"{cpu[True] / len(targets) * 1e3:.1f} ms (after/before {cpu[True] / cpu[False]:.2f})"
    )
    count = min(args.sequential, len(index))
    rates, per_frame = sequential_rates(path, index, count)
    print(
        f"sequential decode ({count} frames, BGR arrays): before {rates[False]:.1f} frames/s, "
        f"after {rates[True]:.1f} frames/s (after/before {rates[True] / rates[False]:.2f}); CPU per frame "
        f"before {per_frame[False]:.2f} ms, after {per_frame[True]:.2f} ms"
    )
    if args.skip_rss:
        return
    with VideoReader(path, index=index) as reader:
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
