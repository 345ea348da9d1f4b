"""Project: documents shared per image, statuses flow to the image list, settings persist."""

from __future__ import annotations

from protolabel.segmentation.project.labels import ClassMapping
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore


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
