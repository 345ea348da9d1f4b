"""Project: documents shared per image, statuses flow to the image list, settings persist."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.labels import ClassMapping
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore, project_db_path


def test_edits_update_list_status_and_labels_and_survive_reopen(image_folder, square):
    project = Project.open(image_folder)
    current = []
    project.events.current_changed.connect(current.append)
    assert project.step(1) and current == ["img1.png"]
    doc = project.current
    assert project.document("img1.png") is doc
    doc.apply(doc.add_object("zebra", square(1, 1)))
    assert project.images.status("img1.png") is ImageStatus.EDITED
    assert project.labels == ("zebra",)
    project.set_class_mapping(ClassMapping(keep=frozenset({"person"}), rename={"person": "pedestrian"}))
    project.close()

    project = Project.open(image_folder)
    assert project.images.status("img1.png") is ImageStatus.EDITED
    assert [o.label for o in project.document("img1.png").objects] == ["zebra"]
    assert project.class_mapping.label_for("person") == "pedestrian"
    assert project.class_mapping.label_for("car") is None
    assert project.unlabeled_names() == ["img2.png", "img10.png", "sub/a.jpg"]
    project.close()


def test_record_auto_label_reloads_the_open_document(image_folder, square):
    project = Project.open(image_folder)
    doc = project.document("img2.png")
    with ProjectStore.open(image_folder) as worker_store:
        outcome = worker_store.replace_auto_objects("img2.png", [AnnotatedObject("cat", square(0, 0))])
    project.record_auto_label("img2.png", outcome)
    assert [o.label for o in doc.objects] == ["cat"]
    assert project.images.status("img2.png") is ImageStatus.AUTO_LABELED
    project.close()


def test_class_mapping_json_round_trip():
    mapping = ClassMapping(keep=frozenset({"car", "person"}), rename={"person": "pedestrian"})
    again = ClassMapping.from_json(mapping.to_json())
    assert again == mapping
    assert again.project_labels(["person", "bicycle", "car"]) == ["pedestrian", "car"]
    assert ClassMapping.from_json(None).label_for("anything") == "anything"


def test_record_import_shows_each_imported_images_status_and_marks_a_damaged_one(image_folder, square):
    project = Project.open(image_folder)
    with ProjectStore.open(image_folder) as importer:
        verified = AnnotatedObject("cat", square(0, 0), Provenance.VERIFIED)
        importer.write_change("img1.png", saved=[verified], status=ImageStatus.VERIFIED)
        importer.write_change("img2.png", saved=[AnnotatedObject("dog", square(2, 2))], status=ImageStatus.EDITED)
        importer.write_change("sub/a.jpg", saved=[AnnotatedObject("dog", square(1, 1))], status=ImageStatus.EDITED)
    with closing(sqlite3.connect(project_db_path(image_folder))) as db:
        db.execute("UPDATE images SET status = 'half-done' WHERE path = 'sub/a.jpg'")
        db.commit()
    project.record_import(["img1.png", "img2.png", "sub/a.jpg"], ["cat", "dog"])
    assert project.images.status("img1.png") is ImageStatus.VERIFIED
    assert project.images.verified_objects("img1.png") == 1
    assert project.images.status("img2.png") is ImageStatus.EDITED
    assert project.images.unreadable["sub/a.jpg"] == "unknown status 'half-done' in the project database"
    assert project.images.status("img10.png") is ImageStatus.UNLABELED  # not imported: left as it was
    assert project.labels == ("cat", "dog")
    project.close()
