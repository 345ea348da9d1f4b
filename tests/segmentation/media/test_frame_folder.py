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


def test_frame_number_of_a_name():
    from protolabel.segmentation.media.frame_folder import frame_number

    assert frame_number("a/frame_0012.PNG") == ("a/frame_.png", 12)
    assert frame_number("cover.png") is None


# ---------------------------------------------------------------- frame folders as sequences of a project


def test_a_sub_folder_of_one_numbering_is_a_sequence_in_number_order():
    from protolabel.segmentation.media.frame_folder import frame_sequences

    names = [f"walk/{n:05d}.jpg" for n in (10, 2, 3, 4, 1, 11)] + ["photo.jpg", "a/b/x1.png"]
    (sequence,) = frame_sequences(names)
    assert sequence.path == "walk/"
    assert sequence.numbers == (1, 2, 3, 4, 10, 11)
    assert sequence.keys == tuple(f"walk/{n:05d}.jpg" for n in (1, 2, 3, 4, 10, 11))
    assert sequence.missing_message() == "walk/: frames 00005-00009 are missing"


def test_mixed_names_repeated_numbers_too_few_files_and_the_top_folder_are_not_sequences():
    from protolabel.segmentation.media.frame_folder import frame_sequences

    numbered = [f"{n:04d}.png" for n in range(8)]
    assert frame_sequences(numbered) == []  # the project's own top folder
    assert frame_sequences([f"a/{n}" for n in numbered] + ["a/cover.png"]) == []  # one other image
    assert frame_sequences([f"a/{n}" for n in numbered[:4]] + [f"a/x{n}" for n in numbered[4:]]) == []
    assert frame_sequences([f"a/{n}" for n in numbered] + ["a/0003.PNG"]) == []  # 3 twice (0003.png)
    assert frame_sequences([f"a/{n}" for n in numbered[:4]]) == []  # four: photos, not a sequence
    assert [s.path for s in frame_sequences([f"a/{n}" for n in numbered[:5]])] == ["a/"]


def test_a_folder_of_every_fifth_frame_has_no_gaps_and_a_missing_one_is_named():
    from protolabel.segmentation.media.frame_folder import frame_sequences

    (every_fifth,) = frame_sequences([f"v/{n:05d}.jpg" for n in range(0, 50, 5)])
    assert (every_fifth.stride, every_fifth.gaps, every_fifth.missing_message()) == (5, (), None)
    (one_gone,) = frame_sequences([f"v/{n:05d}.jpg" for n in range(0, 50, 5) if n != 20])
    assert one_gone.missing_message() == "v/: frame 00020 is missing"
    (unpadded,) = frame_sequences([f"v/f{n}.png" for n in (1, 2, 3, 7, 8, 12)])
    assert unpadded.missing_message() == "v/: frames 4-6, 9-11 are missing (6 frames)"


def test_the_reader_reads_frames_by_place_from_their_files(tmp_path):
    from protolabel.segmentation.media.frame_folder import FrameFolderReader, frame_sequence_at
    from tests.segmentation.media.frame_folders import make_frame_folder
    from tests.segmentation.media.videos import read_stamp

    make_frame_folder(tmp_path / "walk", [1, 2, 3, 7, 8, 9])
    sequence = frame_sequence_at(tmp_path, "walk/")
    reader = FrameFolderReader(tmp_path, sequence)
    assert [read_stamp(reader.read(i)) for i in range(len(reader))] == [1, 2, 3, 7, 8, 9]
    assert reader.note == "walk/: frames 00004-00006 are missing"
    with pytest.raises(IndexError):
        reader.read(6)


def test_a_corrupt_a_resized_and_a_linked_frame_are_refused_by_name(tmp_path):
    import cv2

    from protolabel.segmentation.media.errors import FrameDecodeError
    from protolabel.segmentation.media.frame_folder import FrameFolderReader, frame_sequence_at
    from tests.segmentation.media.frame_folders import make_frame_folder

    paths = make_frame_folder(tmp_path / "walk", range(6))
    paths[2].write_bytes(b"\x89PNG\r\n\x1a\n cut off")
    cv2.imwrite(str(paths[3]), cv2.imread(str(paths[4]))[:20, :30])
    outside = tmp_path / "elsewhere.png"
    paths[4].rename(outside)
    paths[4].symlink_to(outside)
    reader = FrameFolderReader(tmp_path, frame_sequence_at(tmp_path, "walk/"), size=(96, 64))  # as recorded
    assert reader.note is not None and "walk/00004.png is a link" in reader.note
    with pytest.raises(FrameDecodeError, match="00002.png: not an image or the file is corrupt"):
        reader.read(2)
    with pytest.raises(FrameDecodeError, match=r"walk/00003.png is 30x20 pixels but the frames of walk/ are 96x64"):
        reader.read(3)
    with pytest.raises(FrameDecodeError, match="00004.png: a symbolic link, which is not followed here"):
        reader.read(4)
    assert reader.read(5).shape == (64, 96, 3)


def test_photos_numbered_like_frames_but_of_two_sizes_are_not_a_sequence(tmp_path):
    import cv2

    from protolabel.segmentation.media.frame_folder import (
        FrameFolderReader,
        NotAFrameSequenceError,
        frame_sequence_at,
    )
    from tests.segmentation.media.frame_folders import make_frame_folder

    paths = make_frame_folder(tmp_path / "DCIM", range(40), name="IMG_{:04d}.png")
    cv2.imwrite(str(paths[36]), cv2.imread(str(paths[36])).transpose(1, 0, 2))  # a photo taken upright
    sequence = frame_sequence_at(tmp_path, "DCIM/")
    with pytest.raises(NotAFrameSequenceError) as caught:
        FrameFolderReader(tmp_path, sequence)
    assert str(caught.value) == (
        "DCIM/: its images are not all one size (DCIM/IMG_0000.png is 96x64, DCIM/IMG_0036.png is 64x96), so "
        "they are listed as images, not as the frames of a sequence"
    )
    assert FrameFolderReader(tmp_path, sequence, size=(96, 64)).read(35).shape == (64, 96, 3)  # recorded: per frame
