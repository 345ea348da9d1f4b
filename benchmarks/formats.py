"""Import and export times of every registered format against the COCO path, 10,000 images, in the same run.

A folder of 10,000 images (one 160x120 JPEG hard-linked under every name, in sub-folders of 1,000) whose project
holds 4 small objects per image (triangles, squares, one object of two parts), written with the project import.
Per format, in interleaved rounds (a change of load on a shared machine hits every format alike):
- export: `export_project` of the whole project (COCO: one file; labelme: a JSON per image; YOLO: labels, data.yaml
  and the images linked into images/; VOC: an XML and two PNGs per image, the images linked into JPEGImages/; CVAT:
  one XML), into a new folder per round (all removed when the script ends);
- import: that export read, planned and applied into a fresh project on the same images (`read_dataset`,
  `plan_import`, `apply_import`).
Prints the median seconds of each and its ratio to COCO's (goal: each within 2x).

    .venv/bin/python benchmarks/formats.py [--images 10000] [--repeats 3] [--formats voc,cvat] [--scratch DIR]

Creating a file costs from microseconds (tmpfs, a local SSD) to milliseconds (some virtual disks): the formats that
write a file per image pay it 10,000 times and COCO once, so say where --scratch was when quoting the ratios. On an
ext4 without a journal (the development machine's disk), each new file also scans the inodes freed nearby in the
last seconds, 1-3 ms of kernel time per file just after thousands were deleted: the exports are never removed
between rounds, and other jobs deleting files at the same time still slow the per-image formats.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import interleaved_medians, scratch_dir  # noqa: E402
from protolabel.segmentation.coco import Category, CocoDataset, CocoImage  # noqa: E402
from protolabel.segmentation.folders import PROJECT_DIR_NAME  # noqa: E402
from protolabel.segmentation.formats.registry import all_formats  # noqa: E402
from protolabel.segmentation.formats.youtube_vis import FORMAT_NAME as YOUTUBE_VIS  # noqa: E402
from protolabel.segmentation.geometry.instances import Instances  # noqa: E402
from protolabel.segmentation.geometry.shapes import Polygon, Shape  # noqa: E402
from protolabel.segmentation.project.export import export_project  # noqa: E402
from protolabel.segmentation.project.importing import apply_import, plan_import, read_dataset  # noqa: E402
from protolabel.segmentation.project.store import ProjectStore  # noqa: E402

WIDTH, HEIGHT = 160, 120
CLASSES = ("cup", "plate", "fork")
GOAL = 2.0


FILE_SUFFIX = {"cvat": ".xml"}  # the one-file formats that are not JSON (a CVAT path not ending .xml is a folder)


def synthetic_dataset(count: int, seed: int = 0) -> CocoDataset:
    """`count` images of 4 small objects each: a triangle, two squares and one object of two squares."""
    rng = np.random.default_rng(seed)
    square = np.array([[0, 0], [12, 0], [12, 12], [0, 12]], float)
    triangle = np.array([[0, 0], [14, 2], [6, 13]], float)
    images = []
    for n in range(count):
        spots = rng.integers(0, [WIDTH - 16, HEIGHT - 16], size=(5, 2)).astype(float)
        shapes = [
            Shape((Polygon(triangle + spots[0]),)),
            Shape((Polygon(square + spots[1]),)),
            Shape((Polygon(square + spots[2]),)),
            Shape((Polygon(square + spots[3]), Polygon(square * 0.5 + spots[4]))),
        ]
        inst = Instances(
            (HEIGHT, WIDTH), class_names=CLASSES, shapes=shapes, classes=rng.integers(0, 3, 4), provenance="edited"
        )
        images.append(CocoImage(f"part{n // 1000}/image_{n:05d}.jpg", WIDTH, HEIGHT, inst))
    return CocoDataset(tuple(Category(i + 1, c) for i, c in enumerate(CLASSES)), images)


def make_folder(folder: Path, dataset: CocoDataset) -> None:
    ok, data = cv2.imencode(".jpg", np.full((HEIGHT, WIDTH, 3), 127, np.uint8))
    assert ok
    source = folder.parent / "source.jpg"
    source.write_bytes(data.tobytes())
    for image in dataset.images:
        target = folder / image.file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--formats", default="", help="comma-separated names (default: every registered format)")
    parser.add_argument(
        "--scratch", default=None, help="folder for the photos, project and exports (default: the system's temp)"
    )
    args = parser.parse_args()
    if args.scratch:
        tempfile.tempdir = args.scratch
    work = scratch_dir("protolabel-formats-")
    folder = work / "photos"
    folder.mkdir()
    dataset = synthetic_dataset(args.images)
    make_folder(folder, dataset)
    with ProjectStore.open(folder) as store:
        apply_import(store, plan_import(store, dataset))
    scratch = work / "scratch"  # a fresh project per import, on the same images (links: no copies)
    wanted = [name.strip() for name in args.formats.split(",") if name.strip()]
    # YouTube-VIS holds videos and tracks: a folder of still images is not its data (benchmarks/video*.py)
    image_formats = [f for f in all_formats() if f.name != YOUTUBE_VIS]
    formats = tuple(f for f in image_formats if not wanted or f.name in wanted or f.name == "coco")
    outputs = {
        f.name: work / (f"out-{f.name}" + ("" if f.writes_folder else FILE_SUFFIX.get(f.name, ".json")))
        for f in formats
    }
    latest: dict[str, Path] = {}  # each format's last export, which the imports read

    rounds = itertools.count()

    def exporter(fmt):
        def run() -> float:
            # each round into a folder of its own, all removed when the script ends: on an ext4 without a
            # journal (this machine's disk) creating a file costs 1-3 ms of kernel time for some seconds after
            # many files were deleted nearby, so removing the last round's output just before would time that
            base = outputs[fmt.name]
            out = base.with_name(f"{base.stem}-{next(rounds)}{base.suffix}")
            start = time.perf_counter()
            with ProjectStore.open(folder) as store:
                export_project(store, fmt, out)
            elapsed = time.perf_counter() - start
            latest[fmt.name] = out
            return elapsed

        return run

    def importer(fmt):
        def run() -> float:
            shutil.rmtree(scratch / PROJECT_DIR_NAME, ignore_errors=True)
            start = time.perf_counter()
            with ProjectStore.open(scratch) as store:
                plan = plan_import(store, read_dataset(latest[fmt.name], fmt, scratch))
                summary = apply_import(store, plan)
            elapsed = time.perf_counter() - start
            assert len(summary.merged) == args.images, (fmt.name, summary.lines()[:3])
            return elapsed

        return run

    exports = interleaved_medians({f.name: exporter(f) for f in formats}, args.repeats)
    # the imports read the exports into a project on the same image names: the labelme files point at `folder`
    scratch = folder
    imports = interleaved_medians({f.name: importer(f) for f in formats}, args.repeats)
    objects = dataset.num_annotations
    print(f"{args.images:,} images, {objects:,} objects (medians of {args.repeats}, interleaved)")
    print(f"{'format':<10}{'export s':>10}{'x COCO':>9}{'import s':>11}{'x COCO':>9}")
    for fmt in formats:
        e, i = exports[fmt.name], imports[fmt.name]
        e_ratio, i_ratio = e / exports["coco"], i / imports["coco"]
        flag = "" if max(e_ratio, i_ratio) <= GOAL else f"  over the {GOAL:g}x goal"
        print(f"{fmt.name:<10}{e:>10.2f}{e_ratio:>9.2f}{i:>11.2f}{i_ratio:>9.2f}{flag}")


if __name__ == "__main__":
    main()
