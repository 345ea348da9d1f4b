"""A project folder with one small video (tests/segmentation/media/videos.py) recorded in its store, and tracks:
two squares moving across it, one of them re-drawn by a person on one frame and absent on another."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project.labels import LABELS_KEY
from protolabel.segmentation.project.records import AnnotatedObject, ImportedImage, VideoRecord
from protolabel.segmentation.project.video_store import VideoStore, frame_key
from tests.segmentation.media.videos import make_video

FRAMES = 6
LABELS = ("cat", "dog")


def record_video(folder: Path, name: str = "clip.mp4") -> VideoRecord:
    """Record the video `name` of `folder` (every frame) in the folder's store, as the app does when it opens it."""
    with VideoReader(folder / name) as reader, VideoStore.open(folder) as store:
        video, _keys = store.record_video(name, reader.index)
    return video


def square(x: float, y: float, size: float = 12.0) -> Shape:
    ring = np.array([[x, y], [x + size, y], [x + size, y + size], [x, y + size]], dtype=np.float64)
    return Shape((Polygon(ring),))


def holed(x: float, y: float) -> Shape:
    """A 20 px square with a 6 px hole: polygons cannot carry it, RLE can."""
    inner = np.array([[x + 7, y + 7], [x + 13, y + 7], [x + 13, y + 13], [x + 7, y + 13]], dtype=np.float64)
    ring = np.array([[x, y], [x + 20, y], [x + 20, y + 20], [x, y + 20]], dtype=np.float64)
    return Shape((Polygon(ring, (inner,)),))


def video_project(folder: Path, frames: int = FRAMES) -> dict[int, dict[int, tuple[str, Shape, str]]]:
    """Make `folder`/clip.mp4 with its project: a 'cat' track on every frame (auto, a person's shape on frame 2)
    and a 'dog' track on frames 1.. (absent on frame 3, a shape with a hole on frame 4). Returns
    {track id: {frame: (class, shape, provenance)}} as stored."""
    folder.mkdir(parents=True, exist_ok=True)
    make_video(folder / "clip.mp4", frames, gop=3)
    video = record_video(folder)
    expected: dict[int, dict[int, tuple[str, Shape, str]]] = {}
    with VideoStore.open(folder) as store:
        store.set_setting(LABELS_KEY, list(LABELS))
        cat = store.create_track(video.id, "cat").tracks_after[0].id
        dog = store.create_track(video.id, "dog").tracks_after[0].id
        expected = {cat: {}, dog: {}}
        images = []
        for i in range(frames):
            objects = []
            cat_shape, made = (
                (square(4 + 5 * i, 20), Provenance.AUTO) if i != 2 else (square(30, 30, 9), Provenance.EDITED)
            )
            objects.append(
                AnnotatedObject("cat", cat_shape, made, 0.9 if made is Provenance.AUTO else None, track_id=cat)
            )
            expected[cat][i] = ("cat", cat_shape, made.value)
            if i >= 1 and i != 3:
                dog_shape = holed(60 - 3 * i, 30) if i == 4 else square(70 - 4 * i, 40, 10)
                objects.append(AnnotatedObject("dog", dog_shape, Provenance.AUTO, 0.8, track_id=dog))
                expected[dog][i] = ("dog", dog_shape, Provenance.AUTO.value)
            images.append(ImportedImage(frame_key("clip.mp4", i), (video.height, video.width), tuple(objects)))
        store.import_images(images)
    return expected
