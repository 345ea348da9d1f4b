"""FileBatch, the writer of the formats with a file per image: into an empty folder the export appears whole or not
at all; into a folder with files, each file is replaced atomically and the others are kept."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from protolabel.segmentation.formats._common import FileBatch
from protolabel.segmentation.formats.base import FormatError


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _all_names(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_an_export_into_an_empty_folder_leaves_only_its_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"pixels")
    with FileBatch(out) as files:
        files.write_bytes(out / "labels" / "sub" / "a.txt", b"0 0.1 0.2\n")
        files.write_bytes(out / "data.yaml", b"names: [cup]\n")
        files.place_image(source, out / "images" / "sub" / "a.jpg")
    assert _all_names(out) == ["data.yaml", "images", "images/sub", "images/sub/a.jpg", "labels", "labels/sub",
                               "labels/sub/a.txt"]  # fmt: skip
    assert (out / "labels" / "sub" / "a.txt").read_bytes() == b"0 0.1 0.2\n"
    assert os.path.samefile(out / "images" / "sub" / "a.jpg", source)
    assert stat.S_IMODE((out / "data.yaml").stat().st_mode) == 0o666 & ~_umask()
    assert stat.S_IMODE((out / "labels").stat().st_mode) == 0o777 & ~_umask()


@pytest.mark.parametrize("existing", [False, True])
def test_a_failed_export_into_an_empty_folder_leaves_it_empty(tmp_path: Path, existing: bool) -> None:
    out = tmp_path / "out"
    if existing:
        out.mkdir()
    with pytest.raises(TypeError), FileBatch(out) as files:
        files.write_bytes(out / "a.txt", b"written")
        files.write_bytes(out / "sub" / "b.txt", b"written")
        files.write_bytes(out / "c.txt", None)  # type: ignore[arg-type]  # fails in the writer
    assert _all_names(out) == []


def test_an_error_in_the_caller_leaves_an_empty_folder_empty(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(KeyError), FileBatch(out) as files:
        files.write_bytes(out / "a.txt", b"written")
        raise KeyError("stopped")
    assert _all_names(out) == []


def test_a_name_that_appears_during_the_export_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(FormatError, match="labels appeared there during the export; nothing there is replaced"):
        with FileBatch(out) as files:
            files.write_bytes(out / "labels" / "a.txt", b"ours")
            files.write_bytes(out / "data.yaml", b"ours")
            (out / "labels").mkdir()
            (out / "labels" / "a.txt").write_bytes(b"theirs")
    assert _all_names(out) == ["labels", "labels/a.txt"]
    assert (out / "labels" / "a.txt").read_bytes() == b"theirs"


def test_an_export_into_a_folder_with_files_replaces_only_its_own(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "labels").mkdir(parents=True)
    (out / "labels" / "a.txt").write_bytes(b"old")
    (out / "notes.txt").write_bytes(b"the user's")
    with pytest.raises(TypeError), FileBatch(out) as files:
        files.write_bytes(out / "labels" / "a.txt", b"new")
        files.write_bytes(out / "labels" / "b.txt", None)  # type: ignore[arg-type]
    assert _all_names(out) == ["labels", "labels/a.txt", "notes.txt"]  # no temp file left
    assert (out / "notes.txt").read_bytes() == b"the user's"
    assert (out / "labels" / "a.txt").read_bytes() in (b"old", b"new")  # whole, either way
