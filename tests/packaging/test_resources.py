"""resources/: the COCO class list and palette as data, found through importlib.resources from an installed wheel."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from protolabel.resources import coco_categories, label_palette

ROOT = Path(__file__).resolve().parents[2]
# COCO 2017 numbers its 80 classes 1..90; these ten ids were dropped from the original 91-class list.
COCO_UNUSED_IDS = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83}


def test_coco_categories_are_the_80_coco_2017_classes():
    categories = coco_categories()
    ids = [i for i, _ in categories]
    assert len(categories) == 80 and ids == sorted(ids)
    assert set(ids) == set(range(1, 91)) - COCO_UNUSED_IDS
    names = dict(categories)
    assert (names[1], names[18], names[44], names[90]) == ("person", "dog", "bottle", "toothbrush")


def test_palette_is_distinct_hex_colours():
    palette = label_palette()
    assert len(palette) >= 12 and len(set(c.lower() for c in palette)) == len(palette)
    assert all(re.fullmatch(r"#[0-9A-Fa-f]{6}", c) for c in palette)


@pytest.mark.slow
def test_resources_load_from_an_installed_wheel(tmp_path, built_wheel):
    """Build the wheel, install it into a bare folder, import from there (not from the checkout)."""
    wheel = built_wheel
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "protolabel/resources/coco_classes.json",
        "protolabel/resources/icons/app/protolabel-256.png",
        "protolabel/resources/icons/actions/open_folder.svg",
        "protolabel/resources/desktop/io.github.protolabel.Protolabel.desktop",
        "protolabel/resources/desktop/io.github.protolabel.Protolabel.metainfo.xml",
    } <= names
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:  # a wheel is unpacked as is: what pip install does for pure wheels
        archive.extractall(target)
    code = (
        "from protolabel import resources; import protolabel.segmentation.yolact.classes as c; "
        "print(resources.__file__); print(resources.action_icon_path('undo')); print(len(c.COCO_CLASSES))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path[:0] = [{str(target)!r}]; {code}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
        timeout=300,
    ).stdout.splitlines()
    assert out[0].startswith(str(target)) and out[1].startswith(str(target)) and out[2] == "80"
