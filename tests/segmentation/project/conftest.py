"""Small image folders for the project-model tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from protolabel.segmentation.geometry.shapes import Polygon, Shape


def make_square(x: float, y: float, size: float = 10.0) -> Shape:
    return Shape((Polygon(np.array([[x, y], [x + size, y], [x + size, y + size], [x, y + size]])),))


@pytest.fixture
def square():
    """square(x, y, size=10) -> a one-part Shape."""
    return make_square


def write_images(folder: Path, names: list[str], size: tuple[int, int] = (48, 64)) -> None:
    rng = np.random.default_rng(0)
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), rng.integers(0, 255, (*size, 3), dtype=np.uint8))


@pytest.fixture
def make_images():
    """make_images(folder, names, size=(h, w)) writes small random images."""
    return write_images


@pytest.fixture
def image_folder(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    write_images(folder, ["img1.png", "img2.png", "img10.png", "sub/a.jpg"])
    return folder
