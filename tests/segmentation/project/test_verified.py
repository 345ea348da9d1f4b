"""What 'verified' means for images (verified.py): counts and the partly-verified filter follow edits."""

from __future__ import annotations

from protolabel.segmentation.project.image_list import PARTLY_VERIFIED
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus, Provenance
from protolabel.segmentation.project.store import ProjectStore


def test_accepting_objects_counts_them_and_the_image_is_verified_when_all_are(image_folder, square):
    with ProjectStore.open(image_folder) as store:
        store.replace_auto_objects(
            "img1.png",
            [AnnotatedObject("cat", square(1, 1), score=0.9), AnnotatedObject("dog", square(20, 5), score=0.5)],
            image_size=(48, 64),
        )
        store.write_change(
            "img2.png", saved=[AnnotatedObject("cat", square(1, 1), Provenance.VERIFIED)], status=ImageStatus.EDITED
        )  # an older version left it edited
    project = Project.open(image_folder)
    try:
        images = project.images
        assert images.verified_counts().objects == 1 and images.partly_verified("img2.png")  # read at open
        images.set_filter(PARTLY_VERIFIED)
        assert list(images.visible()) == ["img2.png"]
        document = project.document("img1.png")
        first, second = (o.id for o in document.objects)
        document.apply(document.accept_objects([first]))
        assert images.verified_counts().objects == 2 and list(images.visible()) == ["img1.png", "img2.png"]
        accepted = document.apply(document.accept_objects([second]))
        assert images.status("img1.png") is ImageStatus.VERIFIED and not images.partly_verified("img1.png")
        counts = images.verified_counts()
        assert (counts.images, counts.partly, counts.objects) == (1, 1, 3)
        document.apply(accepted.inverted())  # undo: partly verified again
        assert images.partly_verified("img1.png") and images.verified_counts().objects == 2
        project.delete_class("cat")  # a class step takes verified objects too
        assert images.verified_counts().objects == 0 and list(images.visible()) == []
    finally:
        project.close()
