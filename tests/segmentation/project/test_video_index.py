"""The frame index kept with the project: a second open neither hashes nor demuxes the file again, a changed
file is indexed again, and a damaged entry or a planted link only costs a rebuild."""

from __future__ import annotations

import os

import pytest

from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project.video_index import INDEX_DIR_NAME, kept_index, open_project_video
from tests.segmentation.media.videos import make_video, read_stamp


@pytest.fixture
def hashes(monkeypatch):
    """How many times a VideoReader hashed a whole file."""
    calls = []
    real = VideoReader._hash
    monkeypatch.setattr(VideoReader, "_hash", lambda self: calls.append(self.path) or real(self))
    return calls


def test_a_second_open_reads_on_the_kept_index_and_a_changed_file_is_indexed_again(tmp_path, hashes):
    make_video(tmp_path / "clip.mp4", 6)
    with open_project_video(tmp_path, "clip.mp4") as first:
        index = first.index
    assert len(hashes) == 1 and kept_index(tmp_path, "clip.mp4") == index
    with open_project_video(tmp_path, "clip.mp4") as again:
        assert again.index == index and read_stamp(again.read(4)) == 4
    assert len(hashes) == 1  # nothing hashed the second time

    make_video(tmp_path / "clip.mp4", 8)  # another file under the same name
    with open_project_video(tmp_path, "clip.mp4") as changed:
        assert len(changed.index) == 8 and changed.index.sha256 != index.sha256
    assert len(hashes) == 2 and kept_index(tmp_path, "clip.mp4") == changed.index


def test_a_damaged_entry_or_a_linked_cache_folder_only_costs_a_rebuild(tmp_path, hashes):
    make_video(tmp_path / "clip.mp4", 4)
    open_project_video(tmp_path, "clip.mp4").close()
    (entry,) = (tmp_path / ".protolabel" / INDEX_DIR_NAME).iterdir()
    entry.write_text('{"video": "clip.mp4", "index": {"pts": "garbage"')
    with open_project_video(tmp_path, "clip.mp4") as reader:
        assert len(reader.index) == 4
    assert len(hashes) == 2 and kept_index(tmp_path, "clip.mp4") is not None  # rebuilt and kept again

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    cache = tmp_path / ".protolabel" / INDEX_DIR_NAME
    for child in cache.iterdir():
        child.unlink()
    cache.rmdir()
    os.symlink(outside, cache)  # planted: the index must not be read from or written there
    with open_project_video(tmp_path, "clip.mp4") as reader:
        assert len(reader.index) == 4
    assert list(outside.iterdir()) == [] and kept_index(tmp_path, "clip.mp4") is None
