"""A folder of numbered frames as a sequence of the project store (docs/adr/0006, "Frame folders"): its frames
are its files' image rows, so labels made on them as loose images stay theirs, and move with the files."""

from __future__ import annotations

import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.media.frame_folder import FrameFolderReader, frame_sequence_at
from protolabel.segmentation.project.export import EXPORTED_STATUSES
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.video_store import NotTheLabelledVideoError, VideoStore
from tests.segmentation.media.frame_folders import make_frame_folder
from tests.segmentation.project.conftest import make_square


def record(store: VideoStore, folder, path: str = "walk/"):
    """Record the frame folder as the app does when it opens it."""
    return store.record_sequence_folder(FrameFolderReader(folder, frame_sequence_at(folder, path)))


def test_frames_labelled_as_loose_images_keep_their_labels_and_status_as_frames(tmp_path):
    make_frame_folder(tmp_path / "walk", range(1, 9))
    with VideoStore.open(tmp_path) as store:  # an older session: walk/ was loose images, one labelled
        store.write_change(
            "walk/00003.png",
            saved=[AnnotatedObject("person", make_square(5, 5), Provenance.EDITED)],
            status=ImageStatus.EDITED,
        )
    project = Project.open(tmp_path)
    try:
        images, store = project.images, project.store
        assert images.sequence_of("walk/00003.png") == "walk/" and images.frame_position("walk/00003.png") == 2
        assert images.status("walk/00003.png") is ImageStatus.EDITED  # listed as a frame with the status it had
        assert images.rows() == [("walk/", True)]
        video = record(store, tmp_path)
        assert (video.path, video.frame_count, video.width, video.height) == ("walk/", 8, 96, 64)
        frame = store.frame("walk/00003.png")
        assert (frame.index, frame.pts, frame.status) == (2, 3, ImageStatus.EDITED)
        assert [o.label for o in store.frame_objects("walk/00003.png")] == ["person"]
        # export and import still see the frames as the image files they are
        assert store.annotated_images(EXPORTED_STATUSES) == ["walk/00003.png"]
        assert store.statuses() == {"walk/00003.png": ImageStatus.EDITED}
    finally:
        project.close()


def test_a_frame_file_added_or_removed_moves_the_later_frames_not_their_labels(tmp_path):
    paths = make_frame_folder(tmp_path / "walk", [1, 2, 3, 5, 6, 7])
    with VideoStore.open(tmp_path) as store:
        video = record(store, tmp_path)
        track = store.create_track(video.id, "person").tracks_after[0]
        for key in ("walk/00005.png", "walk/00006.png"):
            store.write_change(key, saved=[AnnotatedObject("person", make_square(5, 5), track_id=track.id)])
        assert [o.frame_index for o in store.track_objects(track.id)] == [3, 4]

        make_frame_folder(tmp_path / "walk", [4])  # the missing frame comes back
        record(store, tmp_path)
        assert [o.frame_key for o in store.track_objects(track.id)] == ["walk/00005.png", "walk/00006.png"]
        assert [o.frame_index for o in store.track_objects(track.id)] == [4, 5]
        assert store.video("walk/").frame_count == 7

        paths[3].unlink()  # 00005.png is deleted: its frame leaves the sequence, its object stays stored
        record(store, tmp_path)
        assert [f.key for f in store.frames(video.id)][3:] == ["walk/00004.png", "walk/00006.png", "walk/00007.png"][:3]
        assert store.frame("walk/00005.png") is None
        assert [o.label for o in store.objects("walk/00005.png")] == ["person"]
        make_frame_folder(tmp_path / "walk", [5])  # and back with it
        record(store, tmp_path)
        assert [o.frame_key for o in store.track_objects(track.id)] == ["walk/00005.png", "walk/00006.png"]


def test_frames_renamed_to_another_pattern_are_refused_and_nothing_changes(tmp_path):
    make_frame_folder(tmp_path / "walk", range(6))
    with VideoStore.open(tmp_path) as store:
        video = record(store, tmp_path)
        store.write_change("walk/00002.png", saved=[AnnotatedObject("person", make_square(5, 5))])
        for n in range(6):
            (tmp_path / "walk" / f"{n:05d}.png").rename(tmp_path / "walk" / f"frame_{n}.png")
        with pytest.raises(NotTheLabelledVideoError, match="walk/: its frames are named in another pattern"):
            record(store, tmp_path)
        assert [f.key for f in store.frames(video.id)] == [f"walk/{n:05d}.png" for n in range(6)]
        assert [o.label for o in store.frame_objects("walk/00002.png")] == ["person"]


@pytest.mark.parametrize(
    "path, keys, numbers, message",
    [
        ("walk", ["walk/1.png"], [1], "does not end in '/'"),
        ("../walk/", ["../walk/1.png"], [1], "not a '/'-separated path inside the folder"),
        ("walk/", ["run/1.png"], [1], "is not a file directly in the frame folder"),
        ("walk/", ["walk/a/1.png"], [1], "is not a file directly in the frame folder"),
        ("walk/", ["walk/1.png", "walk/2.png"], [2, 1], "in increasing order"),
        ("walk/", ["walk/1.png"], [1, 2], "1 frame files but 2 frame numbers"),
    ],
)
def test_a_malformed_frame_folder_is_refused(tmp_path, path, keys, numbers, message):
    with VideoStore.open(tmp_path) as store:
        with pytest.raises(ValueError, match=message):
            store.record_frame_folder(path, keys, numbers, sha256="0" * 64, width=4, height=4, size_bytes=0)
        assert store.videos() == []
