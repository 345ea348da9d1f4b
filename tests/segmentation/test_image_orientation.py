"""Images are read as they are shown: the EXIF orientation of a camera JPEG is applied (Pillow is the oracle)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from protolabel.segmentation.images import read_image

# A 60 x 40 (w x h) picture of four flat quadrants, so JPEG's loss stays far below the colour differences.
QUADRANTS = {(0, 0): (220, 30, 30), (0, 1): (30, 220, 30), (1, 0): (30, 30, 220), (1, 1): (220, 220, 30)}  # RGB


def _camera_jpeg(path, orientation: int) -> None:
    rgb = np.zeros((40, 60, 3), np.uint8)
    for (row, col), colour in QUADRANTS.items():
        rgb[row * 20 : (row + 1) * 20, col * 30 : (col + 1) * 30] = colour
    exif = Image.Exif()
    exif[0x0112] = orientation  # the Orientation tag, as a camera writes it
    Image.fromarray(rgb).save(path, quality=95, exif=exif.tobytes())


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_pillow_applies_it(orientation, tmp_path):
    path = tmp_path / f"camera_{orientation}.jpg"
    _camera_jpeg(path, orientation)
    shown = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))[:, :, ::-1]  # as BGR
    image = read_image(path)
    assert image.shape == shown.shape  # 5..8 turn it a quarter: 40 wide, 60 high
    assert image.shape[:2] == ((40, 60) if orientation <= 4 else (60, 40))
    assert np.abs(image.astype(int) - shown.astype(int)).mean() < 3  # same pixels, up to JPEG decoders


def test_a_quarter_turn_puts_the_top_left_corner_top_right(tmp_path):
    """Orientation 6 (the usual portrait photo): the stored image is shown turned 90 degrees clockwise."""
    path = tmp_path / "portrait.jpg"
    _camera_jpeg(path, 6)
    image = read_image(path)
    assert image.shape[:2] == (60, 40)
    top_right = image[5, 35].astype(int)  # BGR
    assert np.abs(top_right - np.array(QUADRANTS[(0, 0)][::-1])).max() < 20
    bottom_left = image[55, 5].astype(int)  # the stored bottom-right quadrant
    assert np.abs(bottom_left - np.array(QUADRANTS[(1, 1)][::-1])).max() < 20
