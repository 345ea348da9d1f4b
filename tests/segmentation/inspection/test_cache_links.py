"""The inference cache under .protolabel/: a planted link (the folder or a file) is never written, read or touched."""

from __future__ import annotations

import os

import pytest

from protolabel.segmentation.inspection.cache import InferenceCache, InferenceCacheError


def test_a_linked_inference_cache_folder_is_not_written_through(tmp_path, record):
    folder, elsewhere = tmp_path / "photos", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (folder / ".protolabel").mkdir(parents=True)
    (folder / ".protolabel" / "inference").symlink_to(elsewhere)
    cache = InferenceCache(folder)
    failures = []
    cache.events.write_failed.connect(lambda name, reason: failures.append(reason))
    cache.record_image_run("a.png", record)
    assert list(elsewhere.iterdir()) == []
    assert failures and "inference is a symbolic link" in failures[0]


def test_a_linked_cache_file_is_not_read_or_touched(tmp_path, record):
    folder = tmp_path / "photos"
    folder.mkdir()
    InferenceCache(folder).record_image_run("a.png", record)
    stored = InferenceCache(folder).path_for("a.png")
    outside = tmp_path / "outside.npz"
    os.replace(stored, outside)  # a real cache file of this image, moved out and linked back in
    os.utime(outside, (1_000_000, 1_000_000))
    stored.symlink_to(outside)
    with pytest.raises(InferenceCacheError, match="symbolic link"):
        InferenceCache(folder).get("a.png")
    assert outside.stat().st_mtime == 1_000_000  # not touched through the link
