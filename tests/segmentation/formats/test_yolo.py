"""YOLO segmentation in and out: Ultralytics' layout and label rule, hostile lines named by file:line, parts
joined and holes counted on export."""

from __future__ import annotations

import pytest

from protolabel.segmentation.formats import yolo
from protolabel.segmentation.formats.base import FormatError
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from tests.segmentation.formats.conftest import write_images


@pytest.fixture
def dataset(tmp_path):
    """images/train/{a.png, c.png}, images/val/sub/b.jpg (64x48) and data.yaml; labels written by each test."""
    root = tmp_path / "ds"
    write_images(root / "images" / "train")
    (root / "images" / "val" / "sub").mkdir(parents=True)
    (root / "images" / "train" / "sub" / "b.jpg").rename(root / "images" / "val" / "sub" / "b.jpg")
    (root / "data.yaml").write_text("path: /etc\ntrain: images/train\nval: images/val\nnames:\n  0: cup\n  1: plate\n")
    return root


def _labels(root, name, text):
    path = root / "labels" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_reads_polygons_and_boxes_in_pixels(dataset):
    _labels(dataset, "train/a.txt", "0 0.0625 0.0833333 0.3125 0.0833333 0.3125 0.4166667\n\n1 0.5 0.5 0.25 0.5\n")
    data = yolo.read(dataset, dataset.parent / "elsewhere")
    assert data.category_names == ("cup", "plate")
    by_name = {img.file_name: img for img in data.images}
    assert set(by_name) == {"train/a.png", "train/c.png", "val/sub/b.jpg"}  # below their `images` folder
    inst = by_name["train/a.png"].instances
    assert inst.labels == ["cup", "plate"] and len(by_name["train/c.png"].instances) == 0
    assert inst.shapes[0].polygons[0].exterior[1].tolist() == pytest.approx([20, 4], abs=1e-4)
    box = shape_to_mask(inst.shapes[1], 48, 64)
    assert box.sum() == 16 * 24 and box[24, 32]
    assert any("1 line of 4 numbers read as boxes" in n for n in data.import_notes)


@pytest.mark.parametrize(
    "line, reason",
    [
        ("0 0.1 0.1 0.2 0.1 0.2", "5 coordinates: polygons need x y pairs, at least 3 of them"),
        ("0 0.1 0.1 1.5 0.1 0.2 0.3", "coordinates must be normalised to 0..1"),
        ("0 -0.1 0.1 0.5 0.1 0.2 0.3", "coordinates must be normalised to 0..1"),
        ("7 0.1 0.1 0.5 0.1 0.2 0.3", "class 7 is not in data.yaml's names (0..1)"),
        ("0 0.1 abc 0.5 0.1 0.2 0.3", "not a class number followed by numbers"),
        ("cup 0.1 0.1 0.5 0.1 0.2 0.3", "not a class number followed by numbers"),
        ("0 0.1 0.1 0.1 0.1 0.1 0.1", "fewer than 3 distinct points"),
        ("0 nan 0.1 0.5 0.1 0.2 0.3", "coordinates must be normalised to 0..1"),
        ("0 0.1 0.1 nan 0.1 0.2 0.3", "coordinates must be normalised to 0..1"),  # not first: min/max miss it
        ("0 0.1 0.1 0.5 0.1 0.2 inf", "coordinates must be normalised to 0..1"),
        ("0 0.1 -inf 0.5 0.1 0.2 0.3", "coordinates must be normalised to 0..1"),
    ],
)
def test_a_bad_line_is_named_by_file_and_line_and_its_image_skipped(dataset, line, reason):
    _labels(dataset, "train/a.txt", f"0 0.1 0.1 0.5 0.1 0.2 0.3\n{line}\n")
    _labels(dataset, "train/c.txt", "1 0.1 0.1 0.5 0.1 0.2 0.3\n")
    data = yolo.read(dataset, dataset)
    assert sorted(img.file_name for img in data.images) == ["images/train/c.png", "images/val/sub/b.jpg"]
    assert data.import_notes == (f"Skipped 1 image, {reason}: labels/train/a.txt:2",)


@pytest.mark.parametrize(
    "text, message",
    [
        (None, "data.yaml: missing; a YOLO dataset names its classes there"),
        ("names: [", "data.yaml: not valid YAML"),
        ("nc: 2\n", "data.yaml: `names` must list the class names"),
        ("names: {0: a, 2: b}\n", "`names` must number the classes 0..1"),
        ("names: [a, a]\n", "class names must be non-empty and different"),
    ],
)
def test_a_bad_data_yaml_is_an_error_naming_it(dataset, text, message):
    if text is None:
        (dataset / "data.yaml").unlink()
    else:
        (dataset / "data.yaml").write_text(text)
    with pytest.raises(FormatError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        yolo.read(dataset, dataset)


def test_export_layout_follows_ultralytics_label_rule(project, tmp_path):
    from protolabel.segmentation.formats.registry import by_name
    from protolabel.segmentation.project.export import export_project
    from protolabel.segmentation.project.store import ProjectStore

    with ProjectStore.open(project) as store:
        summary = export_project(store, by_name("yolo"), tmp_path / "out", labels=("cup", "plate"))
    out = tmp_path / "out"
    assert (out / "images" / "sub" / "b.jpg").read_bytes() == (project / "sub" / "b.jpg").read_bytes()
    (line,) = (out / "labels" / "sub" / "b.txt").read_text().splitlines()
    assert line.split()[0] == "1" and len(line.split()) % 2 == 1
    assert "names:\n  0: cup\n  1: plate\n" in (out / "data.yaml").read_text()
    assert len(summary.notes) == 2  # one object joined, one with holes


def test_join_parts_walks_every_part_and_comes_back():
    import numpy as np

    square = np.array([[0, 0], [2, 0], [2, 2], [0, 2]], float)
    ring = yolo.join_parts([square, square + [5, 0], square + [5, 5]])
    assert len(ring) == 12 + 4  # every vertex once, and each seam's two ends walked back
    for part in (square, square + [5, 0], square + [5, 5]):
        assert {tuple(p) for p in part} <= {tuple(p) for p in ring}


def test_the_export_refuses_a_folder_inside_the_project(project):
    from protolabel.segmentation.formats.registry import by_name
    from protolabel.segmentation.output_paths import OutputPathError
    from protolabel.segmentation.project.export import check_export_path

    with pytest.raises(OutputPathError, match="would hold or lie inside the project folder"):
        check_export_path(project, project / "yolo", by_name("yolo"))
    with pytest.raises(OutputPathError, match="would hold or lie inside the project folder"):
        check_export_path(project, project.parent, by_name("yolo"))


def test_a_label_file_linked_outside_the_folder_is_not_read(dataset, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("0 0.1 0.1 0.5 0.1 0.2 0.3\n")
    (dataset / "labels" / "train").mkdir(parents=True)
    (dataset / "labels" / "train" / "a.txt").symlink_to(secret)
    data = yolo.read(dataset, dataset)
    assert "images/train/a.png" not in [img.file_name for img in data.images]
    assert data.import_notes == (
        "Skipped 1 image, its image or label file is a link that leads outside the folder: images/train/a.png",
    )


def test_exporting_again_into_the_same_folder_replaces_its_files(project, tmp_path):
    from protolabel.segmentation.formats.registry import by_name
    from protolabel.segmentation.project.export import export_project
    from protolabel.segmentation.project.store import ProjectStore

    out = tmp_path / "out"
    with ProjectStore.open(project) as store:
        export_project(store, by_name("yolo"), out)
        (out / "labels" / "a.txt").write_text("stale\n")
        export_project(store, by_name("yolo"), out)
    assert (out / "labels" / "a.txt").read_text().startswith("0 ")
    assert (out / "images" / "a.png").read_bytes() == (project / "a.png").read_bytes()
    assert not [p for p in out.rglob("*.tmp")]  # no temporary file left behind


def test_a_label_file_without_its_image_is_named(dataset):
    _labels(dataset, "train/a.txt", "0 0.1 0.1 0.5 0.1 0.2 0.3\n")
    _labels(dataset, "train/gone.txt", "0 0.1 0.1 0.5 0.1 0.2 0.3\n")
    data = yolo.read(dataset, dataset)
    assert data.import_notes == ("1 label file without an image, not read: labels/train/gone.txt",)


@pytest.mark.parametrize("vertices", [5, 40])  # below and above yolo.SMALL_PAIRS vertex pairs
def test_join_parts_seams_two_parts_at_their_closest_vertices(vertices):
    import numpy as np

    rng = np.random.default_rng(vertices)
    a = rng.uniform(0, 50, size=(vertices, 2))
    b = rng.uniform(60, 90, size=(vertices, 2))
    pairs = [(float(np.hypot(*(p - q))), i, k) for i, p in enumerate(a) for k, q in enumerate(b)]
    _, i, k = min(pairs)
    ring = yolo.join_parts([a, b])
    assert len(ring) == 2 * vertices + 2
    seam = [n for n in range(len(ring)) if (ring[n] == a[i]).all() and (ring[(n + 1) % len(ring)] == b[k]).all()]
    assert len(seam) == 1  # walked there once ...
    back = [n for n in range(len(ring)) if (ring[n] == b[k]).all() and (ring[(n + 1) % len(ring)] == a[i]).all()]
    assert len(back) == 1  # ... and back
