"""A project.db written by a newer Protolabel is refused with a clear message, and left exactly as it was."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from protolabel.segmentation.project import store as store_module
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore, ProjectStoreError, project_db_path


def _files(folder):
    """sha256 of every file of the project folder (the database and any journal beside it)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in project_db_path(folder).parent.iterdir()}


@pytest.mark.parametrize("ahead", [1, 7])
def test_newer_schema_is_refused_and_nothing_is_changed(tmp_path, square, ahead):
    newer = store_module.SCHEMA_VERSION + ahead  # relative: stays right when the schema moves on
    with ProjectStore.open(tmp_path) as project:
        project.write_change("a.png", saved=[AnnotatedObject("cat", square(0, 0))], status=ImageStatus.VERIFIED)
    db = sqlite3.connect(project_db_path(tmp_path))
    db.execute(f"PRAGMA user_version={newer}")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    before = _files(tmp_path)

    with pytest.raises(ProjectStoreError) as refused:
        ProjectStore.open(tmp_path)
    message = str(refused.value)
    assert "newer Protolabel" in message and f"schema {newer}" in message
    assert f"knows {store_module.SCHEMA_VERSION}" in message and str(project_db_path(tmp_path)) in message
    assert "\n" not in message

    assert _files(tmp_path) == before  # not migrated, not set aside, no journal left behind
    with sqlite3.connect(project_db_path(tmp_path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == newer


def test_the_current_schema_opens(tmp_path, square):
    with ProjectStore.open(tmp_path) as project:
        project.write_change("a.png", saved=[AnnotatedObject("cat", square(0, 0))], status=ImageStatus.EDITED)
    with sqlite3.connect(project_db_path(tmp_path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == store_module.SCHEMA_VERSION
    with ProjectStore.open(tmp_path) as project:
        assert [o.label for o in project.objects("a.png")] == ["cat"]
