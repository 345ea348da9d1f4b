"""Hostile names in a folder (issue 20): a symlink that leads outside it, names that are not UTF-8.

`import` and `train` follow one rule for files a COCO file names (folders.path_inside); `label` and
`import` skip a name that is not UTF-8 by name, with a message, instead of a UnicodeEncodeError."""

from __future__ import annotations

import json
import os
import sys

import cv2
import numpy as np
import pytest

from protolabel.segmentation.cli import main

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="only Linux file systems take names that are not UTF-8")


def _photo(path) -> None:
    """A 32x24 PNG at `path` (str or bytes: OpenCV cannot take a name that is not UTF-8, so the bytes are
    written here)."""
    with open(path, "wb") as f:
        f.write(cv2.imencode(".png", np.full((24, 32, 3), 90, np.uint8))[1].tobytes())


def _coco(path, names) -> None:
    """A COCO file with one square object on each named 32x24 image (names written as JSON escapes them)."""
    data = {
        "images": [{"id": i, "file_name": name, "width": 32, "height": 24} for i, name in enumerate(names, 1)],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [
            {
                "id": i,
                "image_id": i,
                "category_id": 1,
                "bbox": [2, 2, 8, 8],
                "area": 64,
                "iscrowd": 0,
                "segmentation": [[2, 2, 10, 2, 10, 10, 2, 10]],
            }
            for i in range(1, len(names) + 1)
        ],
    }
    path.write_text(json.dumps(data))


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_import_refuses_a_link_out_of_the_folder_as_training_does(tmp_path, capsys):
    outside, folder = tmp_path / "outside", tmp_path / "images"
    outside.mkdir()
    folder.mkdir()
    _photo(outside / "secret.png")
    _photo(folder / "ok.png")
    os.symlink(outside / "secret.png", folder / "link.png")
    os.symlink(folder / "ok.png", folder / "alias.png")  # a link that stays inside is an ordinary name
    coco = tmp_path / "in.json"
    _coco(coco, ["link.png", "ok.png", "alias.png"])
    from protolabel.segmentation.folders import path_inside

    assert path_inside(folder, "link.png") is None
    assert main(["import", str(folder), "--coco", str(coco)]) == 0
    out = capsys.readouterr().out
    assert "Merged 2 images with 2 objects." in out
    assert "Skipped 1 image, outside the folder: link.png" in out  # the old import merged it
    code = main(
        [
            "train",
            "--coco",
            str(coco),
            "--images",
            str(folder),
            "--weights",
            "never-read.pth",
            "--out",
            str(tmp_path / "run"),
            "--device",
            "cpu",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "lead outside the images folder" in err and "'link.png'" in err, err


@linux_only
def test_import_skips_a_name_that_is_not_utf8_by_name(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    _photo(os.fsencode(folder) + b"/caf\xe9.png")
    _photo(folder / "ok.png")
    coco = tmp_path / "in.json"
    _coco(coco, [os.fsdecode(b"caf\xe9.png"), "ok.png"])  # the name as Python holds it: a lone surrogate
    assert main(["import", str(folder), "--coco", str(coco)]) == 0  # a UnicodeEncodeError traceback before
    out = capsys.readouterr().out
    assert "Merged 1 image with 1 object." in out
    assert "Skipped 1 image, name not valid UTF-8: rename it to use it: caf\\xe9.png" in out


@linux_only
def test_label_skips_a_name_that_is_not_utf8_by_name(tmp_path, resnet50_checkpoint, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    _photo(os.fsencode(folder) + b"/caf\xe9.png")
    _photo(folder / "ok.png")
    out = tmp_path / "labels.json"
    code = main(["label", str(folder), "--weights", str(resnet50_checkpoint), "--device", "cpu", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err  # a UnicodeEncodeError traceback before, after all the work
    assert "left out 1 (name not valid UTF-8: rename it to use it): caf\\xe9.png" in err
    assert [image["file_name"] for image in json.loads(out.read_text())["images"]] == ["ok.png"]
