"""The app's Export: the path is checked before any work, and a full disk keeps the export elsewhere."""

from __future__ import annotations

import errno
import os

import pytest

from protolabel.segmentation.coco import read_coco
from protolabel.segmentation.output_paths import OutputPathError
from protolabel.segmentation.project.records import AnnotatedObject
from protolabel.segmentation.project.store import ProjectStore
from tests.segmentation.project.conftest import make_square, write_images


@pytest.fixture
def store(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    write_images(folder, ["a.png", "b.png"])
    with ProjectStore.open(folder) as store:
        store.replace_auto_objects("a.png", [AnnotatedObject("cat", make_square(1, 1), score=0.9)], image_size=(48, 64))
        yield store


@pytest.mark.parametrize(
    "target,message",
    [
        (lambda d: d / "missing" / "out.json", "does not exist"),
        (lambda d: d, "is a folder"),
    ],
)
def test_unusable_paths_are_refused_before_any_work(store, tmp_path, monkeypatch, target, message):
    import protolabel.segmentation.project.export as export

    def never(*args, **kwargs):
        raise AssertionError("the project was read before the path was checked")

    monkeypatch.setattr(export, "project_dataset", never)
    with pytest.raises(OutputPathError, match=message):
        export.export_coco(store, target(tmp_path))


def test_a_full_disk_puts_the_export_in_a_fallback_and_says_where(store, tmp_path, monkeypatch):
    import protolabel.segmentation.project.export as export

    full, here = tmp_path / "full", tmp_path / "here"
    full.mkdir()
    here.mkdir()
    monkeypatch.chdir(here)
    real = export.write_coco

    def write(path, dataset):
        if os.path.abspath(path).startswith(str(full)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, dataset)

    monkeypatch.setattr(export, "write_coco", write)
    summary = export.export_coco(store, full / "annotations.json")
    assert summary.path.parent == here and summary.annotations == 1
    assert "No space left on device" in summary.note and str(summary.path) in summary.note
    assert [img.file_name for img in read_coco(summary.path).images] == ["a.png"]
    assert list(full.iterdir()) == []
