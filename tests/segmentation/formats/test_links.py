"""One rule for links in every format (folders.path_inside): a file a dataset names is read through a link whose
target lies inside the dataset's folder, never through one that leads outside; an export never writes through a
link that leads outside the folder it was given."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from protolabel.segmentation.formats.base import FormatError
from protolabel.segmentation.formats.registry import by_name
from protolabel.segmentation.project.export import export_project
from protolabel.segmentation.project.store import ProjectStore

# per format: the exported file a link replaces, and the exported sub-folder a link replaces
PLANTED = {
    "labelme": ("a.json", "sub"),
    "yolo": ("labels/a.txt", "labels"),
    "voc": ("Annotations/a.xml", "Annotations"),
    "cvat": ("annotations.xml", None),
}


def _export(project: Path, out: Path, name: str) -> None:
    with ProjectStore.open(project) as store:
        export_project(store, by_name(name), out, labels=("cup", "plate"))


def _read(out: Path, name: str, project: Path):
    """The export read back; its images' names and its notes (an error's message stands for both)."""
    try:
        data = by_name(name).read(out, project)
    except FormatError as exc:
        return None, str(exc)
    return sorted(image.file_name for image in data.images), "\n".join(data.import_notes)


def _relink(path: Path, target: Path) -> None:
    """`path` moved to `target` and replaced by a link to it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(path, target)
    path.symlink_to(target)


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_a_file_linked_inside_the_folder_is_read(project: Path, tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    _export(project, out, name)
    before = _read(out, name, project)
    planted = out / PLANTED[name][0]
    _relink(planted, planted.with_name(planted.name + ".kept"))  # a name no format reads on its own
    assert _read(out, name, project) == before


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_a_file_linked_outside_the_folder_is_never_read(project: Path, tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    _export(project, out, name)
    planted = out / PLANTED[name][0]
    _relink(planted, tmp_path / "elsewhere" / planted.name)
    names, said = _read(out, name, project)
    assert "a link that leads outside the folder" in said
    assert names is None or "a.png" not in names  # the formats that skip a file name it; VOC and CVAT stop


@pytest.mark.parametrize("name", [n for n, (_, folder) in sorted(PLANTED.items()) if folder])
def test_an_export_never_writes_through_a_folder_linked_outside(project: Path, tmp_path: Path, name: str) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    out.mkdir()
    (out / PLANTED[name][1]).symlink_to(elsewhere)
    with pytest.raises(FormatError, match="a link that leads outside .*out; the export writes only inside"):
        _export(project, out, name)
    assert not any(elsewhere.iterdir())


def test_an_export_writes_through_a_folder_linked_inside(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "kept").mkdir(parents=True)
    (out / "labels").symlink_to(out / "kept")
    _export(project, out, "yolo")
    assert (out / "kept" / "a.txt").is_file()


def test_the_cvat_export_replaces_a_link_in_its_place_and_leaves_its_target(project: Path, tmp_path: Path) -> None:
    out, secret = tmp_path / "out.xml", tmp_path / "secret.xml"
    secret.write_text("mine")
    out.symlink_to(secret)
    _export(project, out, "cvat")
    assert secret.read_text() == "mine" and not out.is_symlink()
