"""The Classes dock's counts (ProjectStore.label_counts) on a large project, with and without the label index.

The dock re-reads them on the UI thread when a project opens, after an import or an auto-label run, and
after a class edit. Builds one project of --images images x --objects objects over 40 classes (one store
import), then times label_counts on it and on a copy whose objects_by_label index was dropped (as an older
database had it), interleaved, and prints the medians and their ratio; also the import's wall time with
and without the index, each on a fresh project.

    .venv/bin/python benchmarks/class_counts.py [--images 10000] [--objects 20] [--repeats 7]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import interleaved_medians, scratch_dir  # noqa: E402
from protolabel.segmentation.geometry import Polygon, Shape  # noqa: E402
from protolabel.segmentation.project.records import AnnotatedObject, ImportedImage  # noqa: E402
from protolabel.segmentation.project.store import ProjectStore, project_db_path  # noqa: E402

CLASSES = tuple(f"class {i}" for i in range(40))


def images(count: int, objects: int) -> Iterator[ImportedImage]:
    for i in range(count):
        yield ImportedImage(
            f"img{i:06d}.png",
            (480, 640),
            tuple(
                AnnotatedObject(
                    CLASSES[(i + j) % len(CLASSES)],
                    Shape((Polygon(((j, j), (j + 30, j), (j + 30, j + 20), (j, j + 20))),)),
                )
                for j in range(objects)
            ),
        )


def build(folder: Path, count: int, objects: int, with_index: bool) -> float:
    """A fresh project of `count` images; the import's wall seconds."""
    folder.mkdir(parents=True)
    with ProjectStore.open(folder) as store:
        if not with_index:
            store._db.execute("DROP INDEX objects_by_label")
        start = time.perf_counter()
        store.import_images(images(count, objects))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    work = scratch_dir("protolabel-class-counts-")

    imports = {True: [], False: []}
    for round_ in range(2):
        for with_index in (True, False):
            folder = work / f"import-{with_index}-{round_}"
            imports[with_index].append(build(folder, args.images, args.objects, with_index))
            shutil.rmtree(folder)
    indexed, bare = work / "indexed", work / "bare"
    build(indexed, args.images, args.objects, True)
    shutil.copytree(indexed, bare)
    db = sqlite3.connect(project_db_path(bare))
    db.execute("DROP INDEX objects_by_label")
    db.commit()
    db.close()

    with ProjectStore.open(indexed) as with_index, ProjectStore.open(bare) as without:
        # The bare copy must stay bare: opening a store makes the index again, so drop it once more.
        without._db.execute("DROP INDEX objects_by_label")
        medians = interleaved_medians(
            {"with index": with_index.label_counts, "without": without.label_counts}, args.repeats
        )
        total = sum(with_index.label_counts().values())
    print(
        f"label_counts over {total:,} objects ({args.images:,} images, {len(CLASSES)} classes), "
        f"median of {args.repeats} interleaved rounds:"
    )
    print(f"  with the label index  {medians['with index'] * 1000:7.1f} ms")
    print(
        f"  without (older db)    {medians['without'] * 1000:7.1f} ms   "
        f"ratio {medians['with index'] / medians['without']:.2f}"
    )
    print(
        f"import of the same objects (2 rounds each): with the index {min(imports[True]):.2f}-"
        f"{max(imports[True]):.2f} s, without {min(imports[False]):.2f}-{max(imports[False]):.2f} s"
    )


if __name__ == "__main__":
    main()
