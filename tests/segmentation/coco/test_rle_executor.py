"""RLE masks traced by an executor (a helper process during an import) read exactly as traced here, and
whatever goes wrong with the executor costs only time: the masks are then traced here."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from protolabel.segmentation.coco import CocoFormatError, read_coco
from protolabel.segmentation.coco.reader import _RleMasks
from protolabel.segmentation.pipeline.pools import postprocess_pool

MASKS = 2 * _RleMasks.BATCH + 40  # two full batches handed over, the rest traced here


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


def _write(path, corrupt_at: int | None = None) -> None:
    rng = np.random.default_rng(3)
    annotations = []
    for i in range(MASKS):
        mask = np.zeros((24, 32), bool)
        x, y = rng.integers(0, 20), rng.integers(0, 14)
        mask[y : y + 9, x : x + 11] = True
        mask[y + 3 : y + 5, x + 3 : x + 6] = False  # a hole: why such objects are RLE
        rle = _rle(mask)
        if i == corrupt_at:
            rle["counts"] = rle["counts"][:-2] + "{{"
        annotations.append({"id": i + 1, "image_id": 1 + i % 4, "category_id": 1, "segmentation": rle})
        annotations.append(
            {"id": 10_000 + i, "image_id": 1 + i % 4, "category_id": 1, "segmentation": [[1, 1, 8, 1, 8, 6]]}
        )
    path.write_text(
        json.dumps(
            {
                "images": [{"id": k, "file_name": f"{k}.png", "width": 32, "height": 24} for k in range(1, 5)],
                "categories": [{"id": 1, "name": "cup"}],
                "annotations": annotations,
            }
        ),
        encoding="utf-8",
    )


def _shapes(dataset) -> list:
    return [shape for image in dataset.images for shape in image.instances.shapes]


def test_a_helper_process_traces_what_this_process_would(tmp_path):
    path = tmp_path / "masks.json"
    _write(path)
    helper = postprocess_pool(1)
    try:
        helped = read_coco(path, executor=helper)
    finally:
        helper.shutdown(wait=True)
    alone = read_coco(path)
    assert _shapes(helped) == _shapes(alone)
    assert sum(s.has_holes for s in _shapes(helped)) == MASKS
    rings = [r for s in _shapes(helped) for p in s.polygons for r in (p.exterior, *p.holes)]
    assert not any(r.flags.writeable for r in rings)  # shapes stay immutable after the trip


def test_a_corrupt_mask_in_a_handed_over_batch_is_named_as_without_help(tmp_path):
    path = tmp_path / "corrupt.json"
    _write(path, corrupt_at=5)
    with pytest.raises(CocoFormatError) as alone:
        read_coco(path)
    helper = postprocess_pool(1)
    try:
        with pytest.raises(CocoFormatError) as helped:
            read_coco(path, executor=helper)
    finally:
        helper.shutdown(wait=True)
    assert helped.value.problems == alone.value.problems
    assert helped.value.problems[0][0] == "$.annotations[10].segmentation.counts"


class _FailingExecutor(Executor):
    """Takes every task and fails it, as a pool whose process died does."""

    def __init__(self) -> None:
        self.taken = 0

    def submit(self, fn, /, *args, **kwargs) -> Future:
        self.taken += 1
        future: Future = Future()
        future.set_running_or_notify_cancel()
        future.set_exception(BrokenProcessPool("a helper process terminated abruptly"))
        return future


def test_failed_tasks_and_a_closed_executor_are_traced_here(tmp_path):
    path = tmp_path / "masks.json"
    _write(path)
    expected = _shapes(read_coco(path))
    failing = _FailingExecutor()
    assert _shapes(read_coco(path, executor=failing)) == expected
    assert failing.taken == 2
    closed = ThreadPoolExecutor(1)
    closed.shutdown()
    assert _shapes(read_coco(path, executor=closed)) == expected  # submit raises: nothing handed over


def test_batches_the_executor_has_not_started_are_taken_back(tmp_path):
    """A busy executor is not waited for: what it has not started is traced here."""
    path = tmp_path / "masks.json"
    _write(path)
    expected = _shapes(read_coco(path))
    busy, release = ThreadPoolExecutor(1), threading.Event()
    busy.submit(release.wait)  # occupies its only thread until the read is over
    result: list = []
    reader = threading.Thread(target=lambda: result.append(read_coco(path, executor=busy)))
    reader.start()
    reader.join(timeout=60)
    finished = not reader.is_alive()
    release.set()
    busy.shutdown(wait=True)
    assert finished, "the read waited for an executor that had not started its batches"
    assert _shapes(result[0]) == expected
