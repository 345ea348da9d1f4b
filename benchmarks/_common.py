"""Small shared pieces of the benchmark scripts: timing and synthetic official-layout checkpoints."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


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
    """An official-layout checkpoint made by shared/tools/make_checkpoint.py (no weights can be downloaded)."""
    out = out_dir / f"{config}_{seed}_0.pth"
    if not out.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        manifest = SHARED_DIR / "spec" / "checkpoint-keys" / f"{config}.json"
        tool = SHARED_DIR / "tools" / "make_checkpoint.py"
        if not manifest.exists():
            sys.exit(f"needs {manifest}: run from a checkout with shared/ beside it")
        subprocess.run([sys.executable, str(tool), str(manifest), "--seed", str(seed), "--out", str(out)],
                       check=True, capture_output=True)
    return out
