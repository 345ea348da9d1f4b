"""ProjectStore.import_images works in chunks of images: what a chunked write could get wrong.

Each test imports more images than one chunk (IMPORT_CHUNK_IMAGES paths), so chunk boundaries fall
inside the data, and checks the result against the store's public reads, a second connection or
the same import done one image per call.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus, ImportedImage
from protolabel.segmentation.project.store import (
    IMPORT_CHUNK_IMAGES,
    ImportOutcome,
    ProjectStore,
    ProjectStoreError,
    StaleEditError,
    project_db_path,
)

AUTO, EDITED, VERIFIED = Provenance.AUTO, Provenance.EDITED, Provenance.VERIFIED


def names(count: int) -> list[str]:
    """Image names whose input order is not their sorted order (a sort by path would show)."""
    return [f"img{(i * 7919) % count:05d}.png" for i in range(count)]


def imported(path: str, square, provenances=(AUTO, AUTO), size=(48, 64)):
    """One import_images item: objects labelled o0, o1, ... in the order given."""
    return ImportedImage(
        path, size, tuple(AnnotatedObject(f"o{k}", square(k, k + 1), p, 0.5) for k, p in enumerate(provenances))
    )


def table_rows(folder) -> dict[str, list[tuple]]:
    """Every stored row, read by a separate connection."""
    with closing(sqlite3.connect(project_db_path(folder))) as db:
        return {
            table: db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("images", "objects", "deleted_objects", "meta", "sqlite_sequence")
        }


def test_worked_on_images_either_side_of_chunk_boundaries_are_untouched_and_listed_in_input_order(tmp_path, square):
    paths = names(2 * IMPORT_CHUNK_IMAGES + 7)
    chunk = IMPORT_CHUNK_IMAGES
    edited_status, verified_status, human_object = {chunk - 1, 2 * chunk + 6}, {0, chunk + 1}, {chunk, 2 * chunk}
    worked = edited_status | verified_status | human_object
    with ProjectStore.open(tmp_path) as store:
        for i in edited_status:
            store.set_status(paths[i], ImageStatus.EDITED)
        for i in verified_status:
            store.write_change(
                paths[i], saved=[AnnotatedObject("mine", square(3, 3), AUTO)], status=ImageStatus.VERIFIED
            )
        for i in human_object:  # an auto-labeled image with one object a person drew
            store.write_change(
                paths[i],
                saved=[
                    AnnotatedObject("auto", square(1, 1), AUTO, 0.9),
                    AnnotatedObject("drawn", square(2, 2), EDITED),
                ],
                status=ImageStatus.AUTO_LABELED,
            )
        before = {paths[i]: (store.objects(paths[i]), store.status(paths[i])) for i in worked}

        outcome = store.import_images([imported(path, square) for path in paths])

        assert outcome.kept == [path for i, path in enumerate(paths) if i in worked]
        assert outcome.replaced == 0
        for path, (objects, status) in before.items():
            assert store.objects(path) == objects and store.status(path) is status
            assert store.image_size(path) is None
        merged = [path for i, path in enumerate(paths) if i not in worked]
        assert all([o.label for o in store.objects(path)] == ["o0", "o1"] for path in merged)
        assert all(store.image_size(path) == (48, 64) for path in merged)


def test_statuses_follow_the_imported_objects_in_every_chunk(tmp_path, square):
    kinds = [
        ((VERIFIED, VERIFIED), ImageStatus.VERIFIED),
        ((AUTO, EDITED), ImageStatus.EDITED),
        ((AUTO, VERIFIED), ImageStatus.EDITED),
        ((AUTO, AUTO), ImageStatus.AUTO_LABELED),
    ]
    paths = names(2 * IMPORT_CHUNK_IMAGES + 3)
    with ProjectStore.open(tmp_path) as store:
        store.import_images([imported(path, square, kinds[i % 4][0]) for i, path in enumerate(paths)])
        assert store.statuses() == {path: kinds[i % 4][1] for i, path in enumerate(paths)}
        assert [o.provenance for o in store.objects(paths[-1])] == list(kinds[(len(paths) - 1) % 4][0])


def test_replaced_auto_objects_can_be_restored_only_by_the_importing_store(tmp_path, square):
    paths = names(IMPORT_CHUNK_IMAGES + 20)
    targets = [paths[3], paths[IMPORT_CHUNK_IMAGES + 5]]  # one in each chunk
    with ProjectStore.open(tmp_path) as labeller, ProjectStore.open(tmp_path) as importer:
        old = {
            path: labeller.write_change(
                path,
                saved=[
                    AnnotatedObject("old", square(7, 7), AUTO, 0.3),
                    AnnotatedObject("old2", square(8, 8), AUTO, 0.4),
                ],
                status=ImageStatus.AUTO_LABELED,
            )
            for path in targets
        }

        outcome = importer.import_images([imported(path, square) for path in paths])

        assert outcome.kept == [] and outcome.replaced == 4
        for path in targets:
            assert [o.label for o in importer.objects(path)] == ["o0", "o1"]
            with pytest.raises(StaleEditError):  # another store did not delete them: no re-creating
                labeller.write_change(path, saved=old[path])
            # The import's undo: the store that replaced them may bring them back under their ids.
            restored = importer.write_change(path, saved=old[path])
            assert {o.id for o in restored} == {o.id for o in old[path]}
            assert {o.label for o in labeller.objects(path)} == {"o0", "o1", "old", "old2"}


@pytest.mark.parametrize("failure", ["integrity", "provenance", "caller"])
def test_an_error_in_a_later_chunk_leaves_the_project_as_it_was(tmp_path, square, failure):
    paths = names(2 * IMPORT_CHUNK_IMAGES + 10)
    with ProjectStore.open(tmp_path) as store:
        store.write_change(
            paths[1], saved=[AnnotatedObject("old", square(7, 7), AUTO, 0.3)], status=ImageStatus.AUTO_LABELED
        )
        store.set_setting("labels", ["old"])
        before = table_rows(tmp_path)
        bad = 2 * IMPORT_CHUNK_IMAGES + 4  # in the third chunk: two chunks were written before it

        def images():
            for i, path in enumerate(paths):
                if i == bad and failure == "caller":
                    raise ProjectStoreError("the caller's images ran out")
                image = imported(path, square)
                objects = list(image.objects)
                if i == bad and failure == "integrity":  # objects.label is NOT NULL
                    objects[1] = objects[1].with_changes(label=None)
                if i == bad and failure == "provenance":
                    objects[0] = objects[0].with_changes(provenance="guessed")
                yield ImportedImage(image.path, image.size, tuple(objects))

        with pytest.raises((ProjectStoreError, ValueError)):
            store.import_images(images(), {"labels": ["old", "o0", "o1"]})

        assert table_rows(tmp_path) == before
        store.set_status(paths[0], ImageStatus.EDITED)  # the store is usable: no transaction left open
        assert store.statuses() == {paths[1]: ImageStatus.AUTO_LABELED, paths[0]: ImageStatus.EDITED}


def test_object_ids_ascend_within_each_image_and_across_images_in_input_order(tmp_path, square):
    paths = names(2 * IMPORT_CHUNK_IMAGES + 1)
    with ProjectStore.open(tmp_path) as store:
        store.import_images([imported(path, square, (AUTO, EDITED, VERIFIED)) for path in paths])
        ids = []
        for path in paths:
            objects = store.objects(path)  # in id order
            assert [o.label for o in objects] == ["o0", "o1", "o2"]
            ids.extend(o.id for o in objects)
        assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_one_call_equals_one_call_per_image_with_repeated_paths_across_chunks(tmp_path, square):
    """The same images imported in one call and one image per call end with the same rows (ids too)."""
    paths = names(IMPORT_CHUNK_IMAGES + 30)
    items = [imported(path, square, (AUTO,) if i % 3 else (AUTO, EDITED)) for i, path in enumerate(paths)]
    # Paths given again (a new chunk starts there): after an auto-only first import the repeat replaces
    # it, after one with an edited object it is kept.
    items[IMPORT_CHUNK_IMAGES - 2 : IMPORT_CHUNK_IMAGES - 2] = [
        imported(paths[1], square, (VERIFIED,)),
        imported(paths[3], square, (AUTO, AUTO, AUTO)),
    ]
    items.append(imported(paths[IMPORT_CHUNK_IMAGES - 1], square, (AUTO,), size=(10, 20)))
    results = {}
    for mode in ("one call", "per image"):
        folder = tmp_path / mode.replace(" ", "_")
        folder.mkdir()
        with ProjectStore.open(folder) as store:
            store.write_change(
                paths[4], saved=[AnnotatedObject("old", square(7, 7), AUTO, 0.3)], status=ImageStatus.AUTO_LABELED
            )
            if mode == "one call":
                outcome = store.import_images(items)
            else:
                calls = [store.import_images([item]) for item in items]
                outcome = ImportOutcome(
                    [path for call in calls for path in call.kept], sum(call.replaced for call in calls)
                )
            rows = table_rows(folder)
            results[mode] = (
                outcome,
                [row[:4] for row in rows["images"]],  # all but updated_at
                [row[:6] + row[7:] for row in rows["objects"]],
                sorted(r[0] for r in rows["deleted_objects"]),
            )
    assert results["one call"] == results["per image"]
    outcome, images, _, deleted = results["one call"]
    assert outcome.kept == [paths[3]]  # its first import had an edited object; paths[1]'s was auto-only: replaced
    # paths[4]'s old object, the first imports of paths[1] and of the last item
    assert outcome.replaced == len(deleted) == 3
    assert (paths[1], ImageStatus.VERIFIED.value, 64, 48) in images
    assert (paths[IMPORT_CHUNK_IMAGES - 1], ImageStatus.AUTO_LABELED.value, 20, 10) in images


def test_no_statement_binds_more_values_than_older_sqlite_builds_allow(tmp_path, square):
    paths = names(1000 + IMPORT_CHUNK_IMAGES)
    with ProjectStore.open(tmp_path) as store:
        # SQLite before 3.32 binds at most 999 values per statement; newer builds may be set back to that.
        store._db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        store.write_change(paths[-1], saved=[AnnotatedObject("old", square(7, 7), AUTO, 0.3)])
        assert store.import_images([imported(path, square) for path in paths]) == ImportOutcome([], 1)
        assert sum(store.label_counts().values()) == 2 * len(paths)
