"""Small shared pieces of the benchmark scripts: timing and synthetic official-layout checkpoints."""

from __future__ import annotations

import atexit
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]


def scratch_dir(prefix: str) -> Path:
    """A new temporary folder that is removed when the script exits, Ctrl+C included: the synthetic
    checkpoints and photos of one run take hundreds of MB, and runs left behind filled the disk."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    return work


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of `fn` over `repeats` runs, after `warmup` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_medians(runs: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, float]:
    """Median seconds of each variant over `repeats` rounds, each round running every variant once in turn
    (so a change of load on a shared machine hits all alike), after `warmup` untimed rounds. A run that
    returns a float reports its own seconds (its setup left out); otherwise its wall time is taken."""
    for _ in range(warmup):
        for fn in runs.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - start
            times[name].append(float(result) if isinstance(result, float) else elapsed)
    return {name: statistics.median(t) for name, t in times.items()}


def matched_share(reference, candidate, iou: float = 0.98) -> float:
    """Share of `reference`'s detections that `candidate` finds again: same class and mask IoU >= `iou`
    (two empty masks agree), matched one to one in the reference's score order (the fidelity of a faster
    variant to fp32)."""
    from protolabel.segmentation.geometry.box_masks import pairwise_iou

    if len(reference) == 0:
        return 1.0
    ious = pairwise_iou(reference.masks, candidate.masks) if len(candidate) else None
    if ious is not None:  # two empty masks agree (pairwise_iou says 0 for them)
        ious[np.ix_(reference.masks.areas == 0, candidate.masks.areas == 0)] = 1.0
    free = set(range(len(candidate)))
    found = 0
    for i in range(len(reference)):
        same = [j for j in sorted(free) if candidate.classes[j] == reference.classes[i] and ious[i, j] >= iou]
        if same:
            free.discard(max(same, key=lambda j: ious[i, j]))
            found += 1
    return found / len(reference)


def synthetic_checkpoint(config: str, out_dir: Path, seed: int = 0) -> Path:
    """An official-layout checkpoint with seeded synthetic weights (no weights can be downloaded).

    The same tensors as shared/tools/make_checkpoint.py makes (segmentation.yolact.synthetic).
    """
    from protolabel.segmentation.yolact.synthetic import write_synthetic_checkpoint

    out = out_dir / f"{config}_{seed}_0.pth"
    if not out.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        write_synthetic_checkpoint(out, config, seed)
    return out
