"""YouTube-VIS written and read back: the same tracks, pixels and classes; hostile files refused clearly."""

from __future__ import annotations

import json

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from protolabel.segmentation.formats.base import FormatError
from protolabel.segmentation.formats.youtube_vis import (
    VisDataset,
    VisVideo,
    looks_like_youtube_vis,
    read_youtube_vis,
    write_youtube_vis,
)
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.tracking.association import track_video
from protolabel.segmentation.tracking.edits import correct
from protolabel.segmentation.tracking.tracks import Track, TrackFrame, TrackSet
from tests.segmentation.tracking.scenes import HEIGHT, WIDTH, MovingDisc, identity, scene

FRAMES = 8


def _dataset() -> VisDataset:
    objects = [
        MovingDisc((20, 32), (6, 0), 10, identity(0)),
        MovingDisc((82, 32), (-6, 0), 9, identity(1), class_index=1),
    ]
    tracks = track_video(scene(objects, FRAMES, hidden={1: {0, 1}}))
    ring = np.array([[60.0, 2], [90, 2], [90, 30], [60, 30]])
    holed = Shape((Polygon(ring, (np.array([[70.0, 10], [80, 10], [80, 20], [70, 20]]),)),))
    tracks = correct(tracks, 1, 3, holed).apply(tracks)  # a person's shape, with a hole
    names = tuple(f"clip/{i:05d}.jpg" for i in range(FRAMES))
    return VisDataset((VisVideo(7, names, tracks),), tracks.class_names, (3, 9))


def _pixels(video: VisVideo) -> dict:
    return {
        (t.track_id, t.class_index, f.frame, f.provenance): shape_to_mask(f.shape, HEIGHT, WIDTH)
        for t in video.tracks.tracks
        for f in t.frames
    }


@pytest.mark.parametrize("segmentation", ["rle", "polygons"])
def test_round_trip_keeps_tracks_pixels_and_classes(tmp_path, segmentation):
    dataset = _dataset()
    out = tmp_path / "vis.json"
    written = write_youtube_vis(dataset, out, segmentation=segmentation)
    assert written.notes == (
        () if segmentation == "rle" else ("1 frame shape with holes was written as RLE (polygons cannot hold holes)",)
    )
    assert (written.annotations, written.empty_frames) == (len(dataset.videos[0].tracks.tracks), 0)
    back = read_youtube_vis(out, tmp_path)
    assert back.class_names == dataset.class_names and back.category_ids == (3, 9)
    assert back.videos[0].file_names == dataset.videos[0].file_names and back.videos[0].video_id == 7
    expected, got = _pixels(dataset.videos[0]), _pixels(back.videos[0])
    assert expected.keys() == got.keys()
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=str(key))


def test_written_fields_follow_youtube_vis(tmp_path):
    dataset = _dataset()
    out = tmp_path / "vis.json"
    write_youtube_vis(dataset, out)
    data = json.loads(out.read_text())
    assert data["videos"] == [
        {"id": 7, "width": WIDTH, "height": HEIGHT, "length": FRAMES, "file_names": list(dataset.videos[0].file_names)}
    ]
    late = next(a for a in data["annotations"] if a["category_id"] == 9)
    assert late["segmentations"][:2] == [None, None] and late["bboxes"][1] is None and late["areas"][0] is None
    # pycocotools (the reference decoder) reads the pixels of the track's shape, its area and box
    track = dataset.videos[0].tracks.get(late["id"])
    rle = late["segmentations"][4]
    decoded = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)
    np.testing.assert_array_equal(decoded, shape_to_mask(track.at(4).shape, HEIGHT, WIDTH))
    assert late["areas"][4] == decoded.sum()
    rows, cols = np.flatnonzero(decoded.any(1)), np.flatnonzero(decoded.any(0))
    assert late["bboxes"][4] == [cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1]


@pytest.mark.parametrize("segmentation", ["rle", "polygons"])
def test_a_frame_shape_outside_the_frame_is_written_null_and_counted(tmp_path, segmentation):
    dataset = _dataset()
    tracks = dataset.videos[0].tracks
    outside = Shape((Polygon(np.array([[WIDTH + 5.0, 5], [WIDTH + 20, 5], [WIDTH + 20, 20], [WIDTH + 5, 20]])),))
    tracks = correct(tracks, 1, 5, outside).apply(tracks)  # dragged off the frame on frame 5
    gone = max(tracks.ids) + 1  # a track seen only off the frame
    tracks = TrackSet(
        tracks.image_size, tracks.class_names, (*tracks.tracks, Track(gone, 0, (TrackFrame(2, outside),)))
    )
    dataset = VisDataset((VisVideo(7, dataset.videos[0].file_names, tracks),), tracks.class_names, (3, 9))
    out = tmp_path / "vis.json"
    written = write_youtube_vis(dataset, out, segmentation=segmentation)
    assert (written.annotations, written.empty_frames) == (len(tracks.tracks) - 1, 2)
    assert (
        "2 frame shapes covered no pixel of their frame (outside it, or no area): written null, as for a frame "
        "where the object is not seen"
    ) in written.notes
    assert "1 track with no shape inside the frame on any frame left out" in written.notes
    data = json.loads(out.read_text())
    assert gone not in [a["id"] for a in data["annotations"]]
    (first,) = [a for a in data["annotations"] if a["id"] == 1]
    assert [first[field][5] for field in ("segmentations", "bboxes", "areas", "protolabel_provenance")] == [None] * 4
    assert all(area is None or area > 0 for a in data["annotations"] for area in a["areas"])
    assert read_youtube_vis(out, tmp_path).videos[0].tracks.get(1).at(5) is None  # read back: not seen there


def _write(tmp_path, data) -> object:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def _good(tmp_path) -> dict:
    write_youtube_vis(_dataset(), tmp_path / "good.json")
    return json.loads((tmp_path / "good.json").read_text())


def _hostile(tmp_path, change) -> str:
    data = _good(tmp_path)
    change(data)
    with pytest.raises(FormatError) as caught:
        read_youtube_vis(_write(tmp_path, data), tmp_path)
    assert "bad.json" in str(caught.value)
    return str(caught.value)


def test_wrong_lengths_are_refused(tmp_path):
    message = _hostile(tmp_path, lambda d: d["videos"][0].update(length=5))
    assert "says 'length' 5 but lists 8 file names" in message
    message = _hostile(tmp_path, lambda d: d["annotations"][0]["segmentations"].pop())
    assert "has 7 segmentations, but video 7 has 8 frames" in message


def test_bad_rle_is_refused(tmp_path):
    def truncate(d):
        rle = next(s for s in d["annotations"][0]["segmentations"] if s)
        rle["counts"] = rle["counts"][:-3] + "zz"

    assert "bad RLE" in _hostile(tmp_path, truncate)

    def wrong_size(d):
        next(s for s in d["annotations"][0]["segmentations"] if s)["size"] = [10, 10]

    assert "is not the video's [height, width] [64, 128]" in _hostile(tmp_path, wrong_size)

    def short_counts(d):
        next(s for s in d["annotations"][0]["segmentations"] if s)["counts"] = [5, 3]

    assert "do not add up" in _hostile(tmp_path, short_counts)


@pytest.mark.parametrize("name", ["../outside.jpg", "/etc/passwd", "C:\\frames\\0.jpg", "a/../../b.jpg", ""])
def test_file_names_outside_the_folder_are_refused(tmp_path, name):
    message = _hostile(tmp_path, lambda d: d["videos"][0]["file_names"].__setitem__(2, name))
    assert "not a file name inside the frames folder" in message


def test_a_link_out_of_the_frames_folder_is_refused(tmp_path):
    (tmp_path / "clip").symlink_to("/tmp")
    assert "leads outside" in _hostile(tmp_path, lambda d: None)


def test_other_hostile_files(tmp_path):
    with pytest.raises(FormatError, match="not a readable JSON file"):
        read_youtube_vis(_write(tmp_path, "{not json"))
    with pytest.raises(FormatError, match="is a JSON object, this is a list"):
        read_youtube_vis(_write(tmp_path, []))
    with pytest.raises(FormatError, match="'videos' must be a list; it is missing"):
        read_youtube_vis(_write(tmp_path, {"annotations": [], "categories": []}))
    assert "refers to video 99" in _hostile(tmp_path, lambda d: d["annotations"][0].update(video_id=99))
    assert "more than the 300 MP supported" in _hostile(tmp_path, lambda d: d["videos"][0].update(width=10**7))
    assert "has category 4" in _hostile(tmp_path, lambda d: d["annotations"][0].update(category_id=4))
    assert "appears twice" in _hostile(tmp_path, lambda d: d["annotations"][1].update(id=d["annotations"][0]["id"]))
    assert "flat list of x, y numbers" in _hostile(
        tmp_path, lambda d: d["annotations"][0]["segmentations"].__setitem__(0, [[1, 2, 3]])
    )


def _uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE written by hand (column-major runs, background first): YouTube-VIS's own files."""
    flat = mask.T.ravel().astype(np.int8)
    edges = np.flatnonzero(np.diff(flat)) + 1
    counts = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    if flat[0]:
        counts = [0, *counts]
    return {"size": list(mask.shape), "counts": counts}


def test_an_ovis_style_file_with_uncompressed_rle_is_read(tmp_path):
    disc = MovingDisc((30, 20), (5, 3), 8, identity(0))
    data = {
        "videos": [{"id": 1, "width": WIDTH, "height": HEIGHT, "file_names": ["v/0.jpg", "v/1.jpg", "v/2.jpg"]}],
        "categories": [{"id": 5, "name": "Fish", "supercategory": "animal"}],
        "annotations": [
            {
                "id": 11,
                "video_id": 1,
                "category_id": 5,
                "iscrowd": 0,
                "segmentations": [_uncompressed_rle(disc.mask(0)), None, _uncompressed_rle(disc.mask(2))],
                "bboxes": [None] * 3,
                "areas": [None] * 3,
            }
        ],
    }
    path = tmp_path / "ovis.json"
    path.write_text(json.dumps(data))
    back = read_youtube_vis(path)
    track = back.videos[0].tracks.get(11)
    assert back.class_names == ("Fish",) and track.frame_indices == (0, 2) and track.person_frames == (0, 2)
    for t in (0, 2):
        np.testing.assert_array_equal(shape_to_mask(track.at(t).shape, HEIGHT, WIDTH), disc.mask(t))


def test_writing_refuses_frame_names_outside_the_folder(tmp_path):
    dataset = _dataset()
    video = dataset.videos[0]
    bad = VisDataset((VisVideo(7, ("../x.jpg", *video.file_names[1:]), video.tracks),), dataset.class_names, (3, 9))
    with pytest.raises(ValueError, match="'../x.jpg' is not a file name inside the frames folder"):
        write_youtube_vis(bad, tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()


def test_looks_like_youtube_vis(tmp_path):
    write_youtube_vis(_dataset(), tmp_path / "vis.json")
    assert looks_like_youtube_vis(tmp_path / "vis.json")
    (tmp_path / "coco.json").write_text('{"images": [], "annotations": []}')
    assert not looks_like_youtube_vis(tmp_path / "coco.json")
    assert not looks_like_youtube_vis(tmp_path / "missing.json")
