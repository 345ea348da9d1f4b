"""Videos in the image list: a row per video, its frames (images of the list) under it when expanded."""

from __future__ import annotations

from pathlib import Path

from protolabel.segmentation.project.image_list import ImageList, video_of_key
from protolabel.segmentation.project.records import ImageStatus


def frames(video: str, count: int) -> list[str]:
    return [f"{video}#{i:06d}" for i in range(count)]


def test_frames_join_the_list_in_folder_order_under_their_video_row():
    images = ImageList(Path("/f"), ["a.png", "img2.png", "img10.png"])
    images.add_sequences(["b.mp4", "sub/c.mkv"])
    seen = []
    images.events.sequences_changed.connect(seen.append)
    assert images.rows() == [("a.png", False), ("b.mp4", True), ("img2.png", False), ("img10.png", False)] + [
        ("sub/c.mkv", True)
    ]  # not indexed yet: the video rows only, where the folder has them
    images.set_frames("b.mp4", frames("b.mp4", 3), {"b.mp4#000001": ImageStatus.EDITED})
    assert seen == ["b.mp4"]
    assert len(images) == 6 and images.counts()[ImageStatus.EDITED] == 1
    assert images.counts()[ImageStatus.UNLABELED] == 5
    assert [name for name, _ in images.rows()] == ["a.png", "b.mp4", "img2.png", "img10.png", "sub/c.mkv"]
    images.set_expanded("b.mp4", True)
    assert [name for name, _ in images.rows()][:5] == ["a.png", "b.mp4", *frames("b.mp4", 3)]
    assert images.neighbour("a.png", 1) == "b.mp4#000000"  # stepping walks the frames, not the video row
    images.set_filter(ImageStatus.EDITED)
    assert images.rows() == [("b.mp4", True), ("b.mp4#000001", False), ("sub/c.mkv", True)]


def test_a_video_that_cannot_be_read_stays_listed_with_the_reason():
    images = ImageList(Path("/f"), ["a.png"])
    images.add_sequences(["bad.mkv"])
    images.set_sequence_error("bad.mkv", "not a video")
    assert images.sequence_errors == {"bad.mkv": "not a video"} and ("bad.mkv", True) in images.rows()
    images.set_frames("bad.mkv", frames("bad.mkv", 1), {})  # read after all (the file was fixed)
    assert images.sequence_errors == {}


def test_frame_keys_and_image_names_are_told_apart():
    assert video_of_key("clip.mp4#000123") == "clip.mp4"
    assert video_of_key("a#1.mp4#000002") == "a#1.mp4"
    assert video_of_key("photo.png") is None and video_of_key("#000001") is None and video_of_key("x#y") is None
    images = ImageList(Path("/f"), ["x.png"])
    assert images.sequence_of("other.mp4#000001") is None  # not a listed video
