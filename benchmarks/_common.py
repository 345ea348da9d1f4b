"""Small shared pieces of the benchmark scripts: timing and synthetic official-layout checkpoints."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


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


def synthetic_checkpoint(config: str, out_dir: Path, seed: int = 0) -> Path:
    """An official-layout checkpoint with seeded synthetic weights (no weights can be downloaded).

    The same tensors as shared/tools/make_checkpoint.py makes (segmentation.yolact.synthetic).
    """
    from segmentation.yolact.synthetic import write_synthetic_checkpoint

    out = out_dir / f"{config}_{seed}_0.pth"
    if not out.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        write_synthetic_checkpoint(out, config, seed)
    return out
