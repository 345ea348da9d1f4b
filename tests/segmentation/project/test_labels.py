"""Project classes: rename, merge and delete everywhere in one step, counts, colours, and the export's 'keep' rule."""

from __future__ import annotations

import json

import pytest

from protolabel.segmentation.project.export import export_coco
from protolabel.segmentation.project.labels import ClassMapping, class_colors
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore, StaleEditError
from tests.segmentation.project.conftest import make_square, write_images


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    write_images(folder, ["a.png", "b.png"])
    with ProjectStore.open(folder) as store:
        for name, labels in (("a.png", ["cat", "dog", "cat"]), ("b.png", ["dog", "toaster"])):
            store.write_change(
                name,
                status=ImageStatus.EDITED,
                saved=[AnnotatedObject(lab, make_square(2 + 12 * i, 2)) for i, lab in enumerate(labels)],
            )
    project = Project.open(folder)
    project.set_labels(("cat", "dog", "toaster", "spare"))
    yield project
    project.close()


def stored_labels(project):
    return {name: sorted(o.label for o in project.store.objects(name)) for name in ("a.png", "b.png")}


def test_counts_include_classes_without_objects(project):
    assert project.class_counts() == {"cat": 2, "dog": 2, "toaster": 1, "spare": 0}


def test_rename_everywhere_and_in_open_documents(project):
    doc = project.document("a.png")
    assert project.rename_class("cat", "kitten").count == 2
    assert stored_labels(project) == {"a.png": ["dog", "kitten", "kitten"], "b.png": ["dog", "toaster"]}
    assert project.labels == ("kitten", "dog", "toaster", "spare")
    assert sorted(o.label for o in doc.objects) == ["dog", "kitten", "kitten"]  # reloaded


def test_merge_into_an_existing_class_keeps_one_entry_and_moves_the_kept_flag(project):
    project.set_kept("toaster", True)
    project.set_class_color("toaster", "#123456")
    assert project.rename_class("toaster", "dog").count == 1
    assert project.labels == ("cat", "dog", "spare")
    assert project.class_counts() == {"cat": 2, "dog": 3, "spare": 0}
    assert project.kept_classes == {"dog"}
    assert project.class_colors_chosen == {"dog": "#123456"}


def test_delete_removes_its_objects_and_old_edits_of_them_are_refused(project):
    with ProjectStore.open(project.folder) as other:  # another window read the toaster before the delete
        (toaster,) = [o for o in other.objects("b.png") if o.label == "toaster"]
        assert project.delete_class("toaster").count == 1
        assert stored_labels(project)["b.png"] == ["dog"] and "toaster" not in project.labels
        with pytest.raises(StaleEditError):
            other.write_change("b.png", saved=[toaster.with_changes(label="cat")])
    assert stored_labels(project)["b.png"] == ["dog"]  # never resurrected


def test_renamed_objects_are_stale_for_older_readers(project):
    with ProjectStore.open(project.folder) as other:
        (dog,) = [o for o in other.objects("b.png") if o.label == "dog"]
        project.rename_class("dog", "hound")
        with pytest.raises(StaleEditError):
            other.write_change("b.png", saved=[dog.with_changes(shape=make_square(30, 30))])


def test_unused_classes_are_exported_only_when_kept(project, tmp_path):
    export_coco(project.store, tmp_path / "plain.json", labels=project.labels)
    project.set_kept("spare", True)
    export_coco(project.store, tmp_path / "kept.json", labels=project.labels)
    plain = [c["name"] for c in json.loads((tmp_path / "plain.json").read_text())["categories"]]
    kept = [c["name"] for c in json.loads((tmp_path / "kept.json").read_text())["categories"]]
    assert plain == ["cat", "dog", "toaster"]
    assert kept == ["cat", "dog", "toaster", "spare"]


def test_first_classes_get_distinct_palette_colours_and_choices_win():
    palette = ["#000001", "#000002", "#000003"]
    colors = class_colors(["a", "b", "c", "d"], palette, {"b": "#ffffff"})
    assert colors == {"a": "#000001", "b": "#ffffff", "c": "#000003", "d": "#000001"}
    many = class_colors([f"class{i}" for i in range(3)], palette, {})
    assert len(set(many.values())) == 3


# ---------------------------------------------------------------- undo and redo of class steps
def snapshot(project):
    """Everything a class step may touch, read back from a fresh connection: objects (all fields) and settings."""
    with ProjectStore.open(project.folder) as store:
        objects = {
            name: [(o.id, o.label, o.provenance, o.score, o.shape) for o in store.objects(name)]
            for name in ("a.png", "b.png")
        }
        settings = {key: store.setting(key) or None for key in ("labels", "label_colors", "keep_classes")}
    return objects, settings


def test_rename_undo_redo_puts_objects_names_colours_and_keep_back(project):
    project.set_kept("cat", True)
    project.set_class_color("cat", "#112233")
    doc = project.document("b.png")
    before = snapshot(project)
    edit = project.rename_class("cat", "kitten")
    renamed = snapshot(project)
    assert renamed != before and project.kept_classes == {"kitten"}
    edit = project.undo_class_edit(edit)
    assert snapshot(project) == before
    assert project.labels == ("cat", "dog", "toaster", "spare") and project.class_colors_chosen == {"cat": "#112233"}
    edit = project.redo_class_edit(edit)
    assert snapshot(project) == renamed
    project.undo_class_edit(edit)  # versions followed the replays: a second undo is not refused
    assert snapshot(project) == before and len(doc) == 2


def test_merge_undo_restores_both_classes_and_which_objects_were_in_each(project):
    with ProjectStore.open(project.folder) as store:
        dogs_before = {o.id for name in ("a.png", "b.png") for o in store.objects(name) if o.label == "dog"}
    before = snapshot(project)
    edit = project.rename_class("cat", "dog")
    assert edit.text.startswith("Merge") and project.class_counts()["dog"] == 4
    project.undo_class_edit(edit)
    assert snapshot(project) == before
    with ProjectStore.open(project.folder) as store:
        assert {o.id for name in ("a.png", "b.png") for o in store.objects(name) if o.label == "dog"} == dogs_before


def test_delete_undo_recreates_the_objects_with_provenance_score_and_vertices(project):
    auto = AnnotatedObject("toaster", make_square(30, 30, 7.25), provenance="auto", score=0.625)
    project.store.write_change("a.png", saved=[auto])
    before = snapshot(project)
    edit = project.delete_class("toaster")
    assert edit.count == 2 and "toaster" not in project.labels
    edit = project.undo_class_edit(edit)
    assert snapshot(project) == before
    project.redo_class_edit(edit)
    assert "toaster" not in project.class_counts()


def test_undo_added_classes_stay(project):
    edit = project.rename_class("cat", "kitten")
    project.set_labels(project.labels + ("bird",))
    project.undo_class_edit(edit)
    assert project.labels == ("cat", "dog", "toaster", "spare", "bird")


@pytest.mark.parametrize("newer", ["edit", "delete"])
def test_undo_is_refused_when_another_window_changed_an_object_since(project, newer):
    edit = project.rename_class("dog", "hound")
    with ProjectStore.open(project.folder) as other:
        (hound,) = [o for o in other.objects("b.png") if o.label == "hound"]
        if newer == "edit":
            other.write_change("b.png", saved=[hound.with_changes(shape=make_square(30, 30))])
        else:
            other.write_change("b.png", removed=[hound])
    after = snapshot(project)
    with pytest.raises(StaleEditError, match=f"object {hound.id} .*b.png"):
        project.undo_class_edit(edit)
    assert snapshot(project) == after  # nothing written: no label, no class list, no resurrected object


def test_undo_of_a_delete_is_refused_for_another_store(project):
    edit = project.delete_class("toaster")
    with ProjectStore.open(project.folder) as other:  # only the store that deleted may re-create
        other.set_setting("probe", 1)
    other_project = Project.open(project.folder)
    try:
        with pytest.raises(StaleEditError):
            other_project.undo_class_edit(edit)
    finally:
        other_project.close()
    assert "toaster" not in project.class_counts()


def test_steps_over_more_objects_than_one_statement_takes(project):
    many = [AnnotatedObject("cat", make_square(i % 40, i % 30, 3)) for i in range(1_100)]
    project.store.write_change("b.png", saved=many)
    before = snapshot(project)
    edit = project.delete_class("cat")
    assert edit.count == 1_102 and project.class_counts().get("cat", 0) == 0
    project.redo_class_edit(project.undo_class_edit(edit))
    assert project.class_counts().get("cat", 0) == 0
    project.undo_class_edit(project.redo_class_edit(project.undo_class_edit(edit)))
    assert snapshot(project) == before


# ---------------------------------------------------------------- a rename reaches later model runs (issue 20, W1)
def test_a_rename_or_merge_becomes_part_of_the_class_mapping(project):
    project.set_class_mapping(ClassMapping(rename={"hotdog": "toaster", "cow": "dog"}))
    project.rename_class("toaster", "kettle")
    mapping = project.class_mapping
    assert mapping.label_for("toaster") == "kettle"  # the model's own class of that name
    assert mapping.label_for("hotdog") == "kettle"  # a model class the mapping already gave that name
    assert mapping.label_for("cow") == "dog"  # others keep theirs
    project.rename_class("cat", "dog")  # a merge
    assert project.class_mapping.label_for("cat") == "dog"


def test_a_rename_keeps_a_filtered_class_filtered_and_a_rename_back_clears_the_entry(project):
    project.set_class_mapping(ClassMapping(keep=frozenset({"cat", "dog"})))
    project.rename_class("toaster", "kettle")
    assert project.class_mapping.label_for("toaster") is None  # filtered out before, still filtered out
    project.rename_class("cat", "kitten")
    project.rename_class("kitten", "cat")
    assert project.class_mapping.label_for("cat") == "cat" and "cat" not in project.class_mapping.rename


def test_undo_of_a_rename_undoes_its_mapping_change_and_keeps_a_later_one(project):
    changed = []
    project.events.class_mapping_changed.connect(changed.append)
    edit = project.rename_class("toaster", "kettle")
    assert changed[-1].label_for("toaster") == "kettle"  # the auto-label panel hears of it
    project.set_class_mapping(ClassMapping(rename={**project.class_mapping.rename, "cow": "cattle"}))
    edit = project.undo_class_edit(edit)
    assert project.class_mapping == ClassMapping(rename={"cow": "cattle"})
    assert changed[-1] == project.class_mapping
    project.redo_class_edit(edit)
    assert project.class_mapping == ClassMapping(rename={"cow": "cattle", "toaster": "kettle"})
    with ProjectStore.open(project.folder) as store:  # stored, not only held
        assert ClassMapping.from_json(store.setting("class_mapping")).label_for("toaster") == "kettle"


def test_a_damaged_stored_mapping_is_a_clear_error_not_a_crash(project):
    project.store.set_setting("class_mapping", [1, 2])
    with pytest.raises(ValueError, match="class mapping is damaged.*Class Filter and Mapping"):
        project.rename_class("toaster", "kettle")
    assert project.class_counts()["toaster"] == 1  # nothing renamed
    project.set_class_mapping(ClassMapping())  # what the dialog writes: repaired
    project.rename_class("toaster", "kettle")
    assert project.class_mapping.label_for("toaster") == "kettle"
