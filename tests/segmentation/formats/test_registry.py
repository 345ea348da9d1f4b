"""The registry finds every format module, picks one by name, and recognises a path's format or says why not."""

from __future__ import annotations

import json

import pytest

from protolabel.segmentation.formats import registry
from protolabel.segmentation.formats.base import FormatError


def test_every_module_with_a_format_is_found_coco_first():
    names = registry.format_names()
    assert names[0] == "coco" and {"labelme", "yolo"} <= set(names)
    assert registry.by_name(" YOLO ").name == "yolo"


def test_unknown_name_lists_the_formats():
    with pytest.raises(FormatError, match="unknown format 'voc2'; the formats are coco, .*labelme"):
        registry.by_name("voc2")


def test_detect_recognises_each_format(tmp_path):
    coco = tmp_path / "c.json"
    coco.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    labelme = tmp_path / "l"
    labelme.mkdir()
    (labelme / "a.json").write_text(json.dumps({"version": "5.5.0", "shapes": [], "imagePath": "a.png"}))
    yolo = tmp_path / "y"
    yolo.mkdir()
    (yolo / "data.yaml").write_text("names: [cup]\n")
    assert registry.detect(coco).name == "coco"
    assert registry.detect(labelme).name == "labelme"
    assert registry.detect(labelme / "a.json").name == "labelme"
    assert registry.detect(yolo).name == "yolo" and registry.detect(yolo / "data.yaml").name == "yolo"


def test_detect_names_the_formats_when_nothing_matches(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(FormatError, match=r"notes.txt: not recognised as any of the formats \(coco, .*\); name one"):
        registry.detect(other)


def test_detect_refuses_to_guess_between_two(tmp_path, monkeypatch):
    both = tmp_path / "d"
    both.mkdir()
    (both / "data.yaml").write_text("names: [cup]\n")
    (both / "a.json").write_text(json.dumps({"shapes": [], "imagePath": "a.png"}))
    with pytest.raises(FormatError, match="could be labelme and yolo; name one with --from"):
        registry.detect(both)
