"""Hostile input files (issue 20): a FIFO or a device where a file is expected never blocks or fills
memory, an oversized file is refused before it is read, and a zip-bomb checkpoint is refused from its
zip directory before anything is inflated. Every reader goes through segmentation.input_files."""

from __future__ import annotations

import io
import os
import sys
import threading
import zipfile

import cv2
import numpy as np
import pytest

from protolabel.segmentation.cli import main
from protolabel.segmentation.input_files import InputTooLargeError, NotRegularFileError, read_input_bytes

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")


@pytest.fixture
def fifo(tmp_path):
    """A named pipe called x.png. Hang guard: should a reader block on it (the old code did), a writer
    opens and closes it after a while, so that reader sees an empty file and the test fails, not hangs."""
    path = tmp_path / "x.png"
    os.mkfifo(path)
    done = threading.Event()

    def unblock():
        while not done.wait(60):
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # nobody is reading: nothing to unblock
                pass

    threading.Thread(target=unblock, daemon=True).start()
    yield path
    done.set()


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), np.full((24, 32, 3), 90, np.uint8))
    return path


@needs_fifo
def test_a_fifo_named_like_an_image_is_refused_at_once(fifo):
    from protolabel.segmentation.images import ImageReadError, read_image

    with pytest.raises(ImageReadError) as info:
        read_image(fifo)
    assert str(info.value) == f"{fifo}: a named pipe (FIFO), not a regular file"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_as_a_coco_file_is_refused_before_reading():
    from protolabel.segmentation.coco import read_coco

    with pytest.raises(NotRegularFileError, match="a character device, not a regular file"):
        read_coco("/dev/zero")  # the old reader read it until memory ran out


def test_a_coco_file_over_the_bound_is_refused_before_parsing(tmp_path, monkeypatch):
    import protolabel.segmentation.coco.reader as reader

    path = tmp_path / "big.json"
    path.write_text('{"images": [], "categories": [], "annotations": []}' + " " * 200)
    monkeypatch.setattr(reader, "MAX_COCO_BYTES", 100)
    with pytest.raises(InputTooLargeError) as info:
        reader.read_coco(path)
    assert str(info.value).startswith(f"{path}: COCO file of 0.0 MB, more than")


def test_a_bounded_read_gives_the_bytes_of_a_file_within_the_bound(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc" * 10)
    assert read_input_bytes(path, 30) == b"abc" * 10
    with pytest.raises(InputTooLargeError):
        read_input_bytes(path, 29)


@needs_fifo
def test_a_fifo_as_weights_is_named_not_waited_on(fifo):
    from protolabel.segmentation.yolact.checkpoint import CheckpointError, read_state_dict

    with pytest.raises(CheckpointError, match=r"named pipe \(FIFO\), not a regular file"):  # was "no such weights file"
        read_state_dict(fifo)


@needs_fifo
@pytest.mark.parametrize("command", ["train", "import"])
def test_train_and_import_refuse_a_fifo_as_the_coco_file(tmp_path, fifo, photo, capsys, command):
    if command == "train":
        argv = [
            "train",
            "--coco",
            str(fifo),
            "--images",
            str(tmp_path),
            "--weights",
            "never-read.pth",
            "--out",
            str(tmp_path / "run"),
            "--device",
            "cpu",
        ]
    else:
        argv = ["import", "--coco", str(fifo), str(tmp_path)]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.strip() == f"protolabel {command}: {fifo}: cannot read (a named pipe (FIFO), not a regular file)"


@needs_fifo
def test_predict_and_inspect_skip_a_fifo_with_its_name(tmp_path, fifo, photo, resnet50_checkpoint, capsys):
    code = main(
        [
            "predict",
            "--weights",
            str(resnet50_checkpoint),
            "--device",
            "cpu",
            "--out",
            str(tmp_path / "p.json"),
            str(fifo),
            str(photo),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"skipped: {fifo}: a named pipe (FIFO), not a regular file" in err
    code = main(
        [
            "inspect",
            "--weights",
            str(resnet50_checkpoint),
            "--device",
            "cpu",
            "--out",
            str(tmp_path / "insp"),
            str(fifo),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1, err  # inspect's status for an image it cannot read
    assert err.strip() == f"protolabel inspect: {fifo}: a named pipe (FIFO), not a regular file"


def _zip_bomb(path, inflated: int) -> None:
    """A zip shaped like torch's (archive/data.pkl, archive/version) whose pickle member is `inflated`
    zero bytes deflated: written in chunks, so making it costs little memory."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/version", "3\n")
        with archive.open("archive/data.pkl", "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(inflated >> 20):
                member.write(chunk)


def test_a_zip_bomb_checkpoint_is_refused_before_inflating(tmp_path, monkeypatch):
    import protolabel.segmentation.yolact.checkpoint as checkpoint

    path = tmp_path / "bomb.pth"
    _zip_bomb(path, 64 << 20)
    size = path.stat().st_size
    assert size < 1 << 20  # 64 MB of zeros deflate to about 64 KB

    def never(*_args, **_kwargs):
        raise AssertionError("torch.load ran on a zip bomb")

    monkeypatch.setattr(checkpoint.torch, "load", never)
    with pytest.raises(checkpoint.CheckpointError) as info:
        checkpoint.read_state_dict(path)
    message = str(info.value)
    assert message.startswith(
        f"{path}: not loaded: its zip members would unpack to {(64 << 20) + 2:,} bytes from a {size:,}-byte file"
    )


def test_a_real_checkpoint_passes_the_zip_check(resnet50_checkpoint):
    from protolabel.segmentation.yolact.checkpoint import read_state_dict

    assert "prediction_layers.0.conf_layer.weight" in read_state_dict(resnet50_checkpoint)


def test_a_torch_zip_saved_deflated_still_loads(tmp_path):
    """A checkpoint re-zipped with compression (as some tools do) is no bomb: it inflates to about its size."""
    import torch

    from protolabel.segmentation.yolact.checkpoint import read_state_dict

    buffer = io.BytesIO()
    torch.save({"w": torch.randn(64, 64)}, buffer)
    stored = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    path = tmp_path / "deflated.pth"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for info in stored.infolist():
            out.writestr(info.filename, stored.read(info.filename))
    assert torch.equal(read_state_dict(path)["w"], torch.load(io.BytesIO(buffer.getvalue()))["w"])


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_a_symlink_is_refused_only_where_links_are_not_followed(tmp_path):
    target = tmp_path / "t.bin"
    target.write_bytes(b"x")
    os.symlink(target, tmp_path / "link.bin")
    assert read_input_bytes(tmp_path / "link.bin", 10) == b"x"
    with pytest.raises(NotRegularFileError, match="symbolic link"):
        read_input_bytes(tmp_path / "link.bin", 10, follow_links=False)
