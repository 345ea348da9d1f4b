"""read_import_file: a large file is read with a helper process for its RLE masks, a small one alone;
either way the dataset is the one read_coco gives."""

from __future__ import annotations

import json

import numpy as np
import pycocotools.mask as mask_utils

from protolabel.segmentation.coco import read_coco
from protolabel.segmentation.project import importing


def _write(path, masks: int) -> None:
    annotations = []
    for i in range(masks):
        mask = np.zeros((20, 30), np.uint8)
        mask[2 + i % 5 : 15, 3 : 20 + i % 7] = 1
        mask[6:8, 8:11] = 0
        rle = mask_utils.encode(np.asfortranarray(mask))
        annotations.append(
            {
                "id": i + 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": {"size": [20, 30], "counts": rle["counts"].decode("ascii")},
            }
        )
    path.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.png", "width": 30, "height": 20}],
                "categories": [{"id": 1, "name": "cup"}],
                "annotations": annotations,
            }
        ),
        encoding="utf-8",
    )


def _spy(monkeypatch) -> list:
    started = []
    real = importing.postprocess_pool

    def pool(workers):
        started.append(workers)
        return real(workers)

    monkeypatch.setattr(importing, "postprocess_pool", pool)
    return started


def test_a_large_file_gets_a_helper_and_reads_the_same(tmp_path, monkeypatch):
    path = tmp_path / "label.json"
    _write(path, 600)
    started = _spy(monkeypatch)
    monkeypatch.setattr(importing, "HELPER_MIN_BYTES", 0)
    monkeypatch.setattr(importing.os, "cpu_count", lambda: 2)
    helped = importing.read_import_file(path)
    assert started == [1]
    assert list(helped.images[0].instances.shapes) == list(read_coco(path).images[0].instances.shapes)


def test_a_small_file_or_one_core_reads_alone(tmp_path, monkeypatch):
    path = tmp_path / "label.json"
    _write(path, 3)
    started = _spy(monkeypatch)
    assert len(importing.read_import_file(path).images[0].instances) == 3
    monkeypatch.setattr(importing, "HELPER_MIN_BYTES", 0)
    monkeypatch.setattr(importing.os, "cpu_count", lambda: 1)
    assert len(importing.read_import_file(path).images[0].instances) == 3
    assert started == []


def test_no_processes_to_be_had_reads_alone(tmp_path, monkeypatch):
    path = tmp_path / "label.json"
    _write(path, 300)
    monkeypatch.setattr(importing, "HELPER_MIN_BYTES", 0)
    monkeypatch.setattr(importing.os, "cpu_count", lambda: 4)

    def refused(workers):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(importing, "postprocess_pool", refused)
    assert len(importing.read_import_file(path).images[0].instances) == 300
