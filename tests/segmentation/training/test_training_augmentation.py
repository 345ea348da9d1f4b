import cv2
import numpy as np
import pytest

from protolabel.segmentation.training.augment import PhotometricDistortion, TrainAugmentation
from protolabel.segmentation.training.dataset import ImageSample, ObjectMask
from protolabel.segmentation.yolact.transform import MEAN_BGR


def rectangles_sample(height: int = 90, width: int = 120) -> ImageSample:
    """Three solid rectangles of distinct colours and a crowd region, on a gradient."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = np.linspace(20, 230, width, dtype=np.uint8)[None, :, None]
    rects = [(5, 10, 40, 50), (60, 5, 110, 35), (70, 50, 100, 85)]
    masks, boxes = [], []
    for k, (x1, y1, x2, y2) in enumerate(rects):
        image[y1:y2, x1:x2] = (40 * k, 255 - 60 * k, 90)
        masks.append(ObjectMask(x1, y1, np.ones((y2 - y1, x2 - x1), bool)))
        boxes.append((x1, y1, x2, y2))
    return ImageSample(
        image, np.asarray(boxes, np.float64), np.array([0, 1, 0]), tuple(masks), np.array([[0.0, 60.0, 30.0, 90.0]])
    )


def test_without_augmentation_the_image_is_only_stretched():
    sample = rectangles_sample()
    out = TrainAugmentation(64, augment=False)(sample, np.random.default_rng(0))
    expected = cv2.resize(sample.image, (64, 64), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    assert np.abs(out.image - expected).max() <= 1.0
    assert out.boxes == pytest.approx(sample.boxes / np.array([120, 90, 120, 90]), abs=1e-6)
    assert out.labels.tolist() == [0, 1, 0]
    assert out.crowd_boxes == pytest.approx(np.array([[0, 60 / 90, 30 / 120, 1.0]]), abs=1e-6)
    for box, mask in zip(out.boxes, out.masks):
        ys, xs = np.nonzero(mask)
        assert xs.min() / 64 == pytest.approx(box[0], abs=1.5 / 64)
        assert (xs.max() + 1) / 64 == pytest.approx(box[2], abs=1.5 / 64)


@pytest.mark.parametrize("seed", range(40))
def test_augmented_masks_boxes_and_pixels_stay_together(seed):
    sample = rectangles_sample()
    size = 96
    out = TrainAugmentation(size)(sample, np.random.default_rng(seed))
    assert out.image.shape == (size, size, 3) and out.image.dtype == np.float32
    assert 0 <= out.image.min() and out.image.max() <= 255
    assert len(out.labels) >= 1 and set(out.labels.tolist()) <= {0, 1}
    assert ((out.boxes >= 0) & (out.boxes <= 1)).all()
    for box, mask in zip(out.boxes, out.masks):
        x1, y1, x2, y2 = box * size
        ys, xs = np.nonzero(mask)
        assert len(xs)
        # the mask fills its box (solid rectangles), whatever expand / crop / mirror did
        assert xs.min() >= x1 - 1 and xs.max() + 1 <= x2 + 1 and ys.min() >= y1 - 1 and ys.max() + 1 <= y2 + 1
        assert len(xs) >= 0.6 * (x2 - x1) * (y2 - y1)


def test_augmentation_is_reproducible_from_its_generator():
    sample = rectangles_sample()
    a = TrainAugmentation(80)(sample, np.random.default_rng(7))
    b = TrainAugmentation(80)(sample, np.random.default_rng(7))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.masks, b.masks) and np.array_equal(a.boxes, b.boxes)


def gray_sample(height: int = 90, width: int = 120) -> ImageSample:
    """Gray objects on a gray image: photometric distortion keeps gray pixels gray, so any colour is the fill."""
    image = np.full((height, width, 3), 200, np.uint8)
    rects = [(5, 10, 40, 50), (60, 5, 110, 35), (70, 50, 100, 85)]
    for k, (x1, y1, x2, y2) in enumerate(rects):
        image[y1:y2, x1:x2] = 40 + 60 * k
    masks = tuple(ObjectMask(x1, y1, np.ones((y2 - y1, x2 - x1), bool)) for x1, y1, x2, y2 in rects)
    return ImageSample(image, np.asarray(rects, np.float64), np.array([0, 1, 0]), masks, np.zeros((0, 4)))


def test_expanded_canvas_is_filled_with_the_mean_colour():
    sample = gray_sample()
    mean = np.asarray(MEAN_BGR, np.float32)
    with_fill = 0
    for seed in range(60):
        image = TrainAugmentation(64)(sample, np.random.default_rng(seed)).image
        gray = (image.max(axis=-1) - image.min(axis=-1)) < 1e-3
        fill = np.abs(image - mean).max(axis=-1) < 1e-3
        seam = cv2.dilate(gray.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~gray
        # Every pixel is the photo, the mean colour, or a one-pixel blend of the two at the photo's edge.
        assert np.all(gray | fill | seam), f"seed {seed}: colours that are neither the photo nor the fill"
        assert gray.any(), f"seed {seed}: the photo is gone"
        rows, cols = np.nonzero(gray)  # the photo is one rectangle: no fill inside its bounds
        assert not fill[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].any(), f"seed {seed}"
        with_fill += bool(fill.any())
    # expand runs for half of the draws; a crop keeps some of its border in about half of those
    assert with_fill >= 20, f"only {with_fill} of 60 draws show an expanded canvas"


def test_photometric_distortion_keeps_the_value_range_and_changes_colours():
    image = np.random.default_rng(0).uniform(0, 255, (16, 16, 3)).astype(np.float32)
    strong = PhotometricDistortion(brightness=30.0, contrast=1.5, contrast_first=True, saturation=1.5, hue=15.0)
    out = strong.apply(image)
    assert out.min() >= 0 and out.max() <= 255 and not np.allclose(out, image)
    only_brightness = PhotometricDistortion(
        brightness=-10.0, contrast=None, contrast_first=True, saturation=None, hue=None
    )
    assert np.allclose(only_brightness.apply(image), np.clip(image - 10, 0, 255))


def test_a_large_photo_is_warped_straight_to_the_input_size():
    image = np.full((3000, 4000, 3), 200, np.uint8)
    image[1000:1400, 2000:2600] = 30
    sample = ImageSample(
        image,
        np.array([[2000.0, 1000.0, 2600.0, 1400.0]]),
        np.array([0]),
        (ObjectMask(2000, 1000, np.ones((400, 600), bool)),),
        np.zeros((0, 4)),
    )
    for seed in range(5):
        out = TrainAugmentation(128)(sample, np.random.default_rng(seed))
        assert out.masks.shape == (1, 128, 128) and out.masks.any()


@pytest.mark.parametrize("mirror", [False, True])
def test_fill_share_equals_warping_an_all_ones_image(mirror):
    from protolabel.segmentation.training.augment import _coverage, _Geometry

    matrix = _Geometry(300, 200, 37, 11, mirror).matrix(64)
    warped = cv2.warpAffine(
        np.ones((100, 150), np.float32),
        matrix,
        (64, 64),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    assert np.abs(_coverage(matrix, 64, (100, 150)) - warped).max() < 1e-3
