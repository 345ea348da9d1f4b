"""`protolabel import FOLDER --from FORMAT PATH` and `protolabel export FOLDER --to FORMAT --out PATH`."""

from __future__ import annotations

import shutil

import pytest

from protolabel.segmentation.cli import main
from protolabel.segmentation.project.store import ProjectStore
from tests.segmentation.formats.conftest import make_project


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


@pytest.mark.parametrize("name", ["labelme", "yolo"])
def test_export_then_import_with_auto_detection(project, tmp_path, capsys, name):
    out = tmp_path / name
    assert main(["export", str(project), "--to", name, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"Wrote {out}: 3 images, 4 annotations" in printed
    assert "1 object with holes written filled" in printed
    shutil.rmtree(project / ".protolabel")
    assert main(["import", str(project), str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"Read {out} as ") and "Merged 3 images with 4 objects" in printed
    with ProjectStore.open(project) as store:
        assert sorted(o.label for o in store.objects("a.png")) == ["cup", "plate"]


def test_import_names_the_format_it_could_not_recognise(project, tmp_path, capsys):
    odd = tmp_path / "odd"
    odd.mkdir()
    assert main(["import", str(project), str(odd)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("protolabel import: ") and "not recognised as any of the formats (coco, " in err
    assert main(["import", str(project), "--from", "pascal", str(odd)]) == 2
    assert "unknown format 'pascal'" in capsys.readouterr().err
    assert main(["import", str(project)]) == 2
    assert "give the annotations to merge" in capsys.readouterr().err


def test_export_to_an_unknown_format_or_into_the_project_is_refused(project, capsys):
    assert main(["export", str(project), "--to", "pascal", "--out", "x"]) == 2
    assert "unknown format 'pascal'" in capsys.readouterr().err
    assert main(["export", str(project), "--to", "yolo", "--out", str(project / "out")]) == 2
    assert "would hold or lie inside the project folder" in capsys.readouterr().err
    assert not (project / "out").exists()


def test_from_names_the_format(project, tmp_path, capsys):
    out = tmp_path / "lm"
    assert main(["export", str(project), "--to", "labelme", "--out", str(out)]) == 0
    shutil.rmtree(project / ".protolabel")
    assert main(["import", str(project), "--from", "yolo", str(out)]) == 2  # not YOLO: data.yaml missing
    assert "data.yaml: missing" in capsys.readouterr().err
    assert main(["import", str(project), "--from", "labelme", str(out)]) == 0
    assert main(["import", str(project), str(out), "--coco", str(out / "a.json")]) == 2
    assert "give the annotations to merge once" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "written", "note"),
    [
        ("voc", "labelmap.txt", "1 object the model made written without saying so"),
        ("cvat", "annotations.xml", "2 objects with holes or several parts written as <mask>"),
    ],
)
def test_xml_formats_export_then_import_through_the_registry(project, tmp_path, capsys, name, written, note):
    out = tmp_path / name
    assert main(["export", str(project), "--to", name, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"Wrote {out}: 3 images, 4 annotations" in printed and note in printed
    assert (out / written).is_file()
    shutil.rmtree(project / ".protolabel")
    assert main(["import", str(project), str(out)]) == 0  # recognised without --from
    printed = capsys.readouterr().out
    assert printed.startswith(f"Read {out} as ") and "Merged 3 images with 4 objects" in printed
    with ProjectStore.open(project) as store:
        assert sorted(o.label for o in store.objects("a.png")) == ["cup", "plate"]
        assert [o.label for o in store.objects("sub/b.jpg")] == ["plate"]


def test_voc_export_places_each_image_in_jpegimages(project, tmp_path, capsys):
    out = tmp_path / "voc"
    assert main(["export", str(project), "--to", "voc", "--out", str(out)]) == 0
    assert "not placed in JPEGImages" not in capsys.readouterr().out
    for name in ("a.png", "sub/b.jpg", "c.png"):
        assert (out / "JPEGImages" / name).read_bytes() == (project / name).read_bytes()
    assert (out / "ImageSets/Segmentation/default.txt").read_text().split() == ["a", "c", "sub/b"]
    assert not list(out.rglob("*.tmp"))


def test_an_export_through_a_folder_linked_outside_is_refused_in_one_line(project, tmp_path, capsys):
    out, elsewhere = tmp_path / "lm", tmp_path / "elsewhere"
    elsewhere.mkdir()
    out.mkdir()
    (out / "sub").symlink_to(elsewhere)
    assert main(["export", str(project), "--to", "labelme", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"protolabel export: {out}/sub: a link that leads outside {out}; the export writes only")
    assert not any(elsewhere.iterdir())
