"""Folders of numbered frames: frames by the number in their names, gaps and duplicate numbers said."""

from __future__ import annotations

import pytest

from protolabel.segmentation.media.errors import VideoError
from protolabel.segmentation.media.frame_folder import numbered_frames


def _touch(folder, *names):
    for name in names:
        (folder / name).write_bytes(b"")


def test_frames_are_numbered_by_their_names_and_gaps_are_named(tmp_path):
    _touch(tmp_path, "frame_0001.png", "frame_0002.png", "frame_0005.png", "frame_0010.png", "frame_0011.png")
    (sequence,) = numbered_frames(tmp_path)
    assert sequence.numbers == (1, 2, 5, 10, 11)
    assert sequence.path(2) == tmp_path / "frame_0005.png"
    assert sequence.gaps == ((3, 4), (6, 9))
    assert sequence.report_lines() == [f"{tmp_path / 'frame_'}*.png: 6 frame numbers missing (3-4, 6-9)"]


def test_numbers_sort_by_value_not_by_text(tmp_path):
    _touch(tmp_path, "f9.jpg", "f10.jpg", "f11.jpg", "f8.jpg")
    (sequence,) = numbered_frames(tmp_path)
    assert sequence.names == ("f8.jpg", "f9.jpg", "f10.jpg", "f11.jpg")
    assert sequence.gaps == ()
    assert sequence.report_lines() == []


def test_a_second_file_with_the_same_number_is_left_out_and_said(tmp_path):
    _touch(tmp_path, "frame_1.png", "frame_01.png", "frame_2.png")
    (sequence,) = numbered_frames(tmp_path)
    assert sequence.numbers == (1, 2)
    assert len(sequence.duplicates) == 1
    assert "frame number another file has" in sequence.report_lines()[0]


def test_sequences_with_other_prefixes_are_kept_apart_largest_first(tmp_path):
    _touch(tmp_path, "left_1.png", "left_2.png", "right_1.png", "right_2.png", "right_3.png", "notes.txt", "cover.png")
    (tmp_path / "sub").mkdir()
    _touch(tmp_path / "sub", "right_4.png")
    sequences = numbered_frames(tmp_path)
    assert [(s.prefix, s.numbers) for s in sequences] == [("right_", (1, 2, 3)), ("left_", (1, 2))]


def test_a_folder_without_numbered_frames(tmp_path):
    _touch(tmp_path, "cover.png", "notes.txt")
    with pytest.raises(VideoError, match="no numbered frame images"):
        numbered_frames(tmp_path)
    with pytest.raises(VideoError, match="cannot read the frame folder"):
        numbered_frames(tmp_path / "missing")
