"""Import speed: a 10,000-image `protolabel label`-style COCO file merged into a folder's project (goal <= 10 s).

The file is built as benchmarks/coco.py builds its 10,000 images (auto objects with scores, simplified
outlines, 1 in 20 with a hole), written with write_coco; the folder holds one 640x480 JPEG per image
(hard links to one file). Each repeat imports into a fresh project (plan: read + match + checks, then
one store transaction). Prints the median of the repeats, and the plan / apply split of the last one;
also the CPU seconds of this process (on a shared machine the wall time includes waiting for a core).

    .venv/bin/python benchmarks/review_import.py [--images 10000] [--objects 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.coco import HEIGHT, WIDTH, build_dataset  # noqa: E402
from protolabel.segmentation.coco import write_coco  # noqa: E402
from protolabel.segmentation.folders import PROJECT_DIR_NAME  # noqa: E402
from protolabel.segmentation.project.importing import apply_import, plan_import, read_import_file  # noqa: E402
from protolabel.segmentation.project.store import ProjectStore  # noqa: E402

GOAL_S = 10.0


def make_folder(folder: Path, names: list[str]) -> None:
    """One real JPEG of the dataset's size, hard-linked (or copied) under every image name."""
    ok, data = cv2.imencode(".jpg", np.full((HEIGHT, WIDTH, 3), 127, np.uint8))
    assert ok
    source = folder.parent / "source.jpg"
    source.write_bytes(data.tobytes())
    for name in names:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)


def import_once(folder: Path, coco: Path) -> tuple[float, float, float, int, float]:
    """(read seconds, plan seconds, apply seconds, objects merged, CPU seconds) into a fresh project."""
    shutil.rmtree(folder / PROJECT_DIR_NAME, ignore_errors=True)
    with ProjectStore.open(folder) as store:
        cpu = time.process_time()
        start = time.perf_counter()
        dataset = read_import_file(coco)
        read = time.perf_counter()
        plan = plan_import(store, dataset)
        planned = time.perf_counter()
        summary = apply_import(store, plan)
        done = time.perf_counter()
        cpu = time.process_time() - cpu
    return read - start, planned - read, done - planned, summary.objects, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    dataset, _ = build_dataset(args.images, args.objects)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        coco = Path(tmp) / "label.json"
        write_coco(coco, dataset)
        make_folder(folder, [image.file_name for image in dataset.images])
        del dataset  # the import runs in a process that holds no other copy (the collector scans what is alive)
        gc.collect()
        runs = [import_once(folder, coco) for _ in range(args.repeats)]
    totals = [read + plan + apply for read, plan, apply, _, _ in runs]
    read, plan, apply, objects, _ = runs[-1]
    median = statistics.median(totals)
    cpu = statistics.median(run[4] for run in runs)
    print(
        f"import of {args.images:,} images x {args.objects} objects ({objects:,} merged): "
        f"median {median:.2f} s over {args.repeats} (last: read {read:.2f} s + match and check {plan:.2f} s "
        f"+ one transaction {apply:.2f} s; CPU of this process, median {cpu:.2f} s); "
        f"goal <= {GOAL_S:.0f} s: {'met' if median <= GOAL_S else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
