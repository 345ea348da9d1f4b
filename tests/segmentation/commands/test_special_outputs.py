"""--out that is not a regular file: streams (pipes, /dev/stdout, character devices) are written through,
anything else is refused before the work; a device is never replaced by a file. And one exit rule for a
full disk: the file asked for was not written, so exit 1, with the results kept in a fallback file."""

from __future__ import annotations

import errno
import json
import os
import stat
import threading

import cv2
import numpy as np
import pytest

from protolabel.segmentation.cli import main

ROOT_ONLY = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root")


@pytest.fixture
def project(tmp_path):
    """A folder with one image and a project holding one object."""
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((40, 40, 3), 90, np.uint8))
    coco = tmp_path / "in.json"
    coco.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.png", "width": 40, "height": 40}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[2, 2, 20, 2, 20, 20]]}],
                "categories": [{"id": 1, "name": "cup"}],
            }
        )
    )
    assert main(["import", str(folder), "--coco", str(coco)]) == 0
    return folder


def _read_all(source: int | os.PathLike, into: list[bytes]) -> threading.Thread:
    """A thread reading `source` (a descriptor, or a named pipe it opens: that waits for the writer) to its end."""

    def run():
        with open(source, "rb") as f:
            into.append(f.read())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_export_to_a_pipe_writes_the_coco_file_through_it(project, capsys):
    read_end, write_end = os.pipe()
    received: list[bytes] = []
    reader = _read_all(read_end, received)
    try:
        code = main(["export", str(project), "--out", f"/dev/fd/{write_end}"])  # bash: --out >(cat > f)
    finally:
        os.close(write_end)
        reader.join(10)
    assert code == 0, capsys.readouterr().err
    assert [img["file_name"] for img in json.loads(received[0])["images"]] == ["a.png"]


def test_export_to_a_named_pipe_keeps_the_pipe(project, tmp_path):
    fifo = tmp_path / "coco.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = _read_all(fifo, received)
    assert main(["export", str(project), "--out", str(fifo)]) == 0
    reader.join(10)
    assert json.loads(received[0])["annotations"] and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_label_refuses_a_pipe_before_the_work(project, tmp_path, capsys, resnet50_checkpoint):
    fifo = tmp_path / "labels.json"
    os.mkfifo(fifo)
    code = main(["label", str(project), "--weights", str(resnet50_checkpoint), "--out", str(fifo)])
    err = capsys.readouterr().err
    assert code == 2 and "labels.json: is a pipe (FIFO); the --out file must be a regular file" in err
    assert "labeling" not in err and stat.S_ISFIFO(os.lstat(fifo).st_mode)


@ROOT_ONLY
def test_export_to_a_full_device_keeps_the_device_and_the_results(project, tmp_path, capsys, monkeypatch):
    node = tmp_path / "full"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # a /dev/full of our own: the real one stays safe
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    code = main(["export", str(project), "--out", str(node)])
    err = capsys.readouterr().err
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    (saved,) = here.iterdir()
    assert code == 1 and f"could not write {node} (No space left on device)" in err and str(saved) in err
    assert json.loads(saved.read_text())["annotations"]


@ROOT_ONLY
def test_export_refuses_a_block_device_before_the_work(project, tmp_path, capsys):
    node = tmp_path / "disk"
    os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(7, 0))
    assert main(["export", str(project), "--out", str(node)]) == 2
    assert "is a block device" in capsys.readouterr().err and stat.S_ISBLK(os.lstat(node).st_mode)


def test_export_on_a_full_disk_exits_1_as_label_and_predict_do(project, tmp_path, capsys, monkeypatch):
    import protolabel.segmentation.project.export as export

    full, here = tmp_path / "full", tmp_path / "here"
    full.mkdir()
    here.mkdir()
    monkeypatch.chdir(here)
    real = export.write_coco

    def disk_full_in_full(path, dataset):
        if os.path.dirname(os.path.abspath(path)) == str(full):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, dataset)

    monkeypatch.setattr(export, "write_coco", disk_full_in_full)
    code = main(["export", str(project), "--out", str(full / "coco.json")])
    captured = capsys.readouterr()
    (saved,) = here.iterdir()
    assert code == 1
    assert f"could not write {full / 'coco.json'} (No space left on device)" in captured.err
    assert str(saved) in captured.err and json.loads(saved.read_text())["annotations"]


def test_export_of_a_project_whose_database_is_a_folder_says_so(tmp_path, capsys):
    folder = tmp_path / "photos"
    (folder / ".protolabel" / "project.db").mkdir(parents=True)
    assert main(["export", str(folder), "--out", str(tmp_path / "coco.json")]) == 2
    err = capsys.readouterr().err
    assert "project.db is a folder, not a regular file" in err and "no Protolabel project" not in err
