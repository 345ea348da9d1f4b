"""ImageList: natural order, hidden folders skipped, counts and filter kept up to date."""

from __future__ import annotations

from protolabel.segmentation.project.image_list import ImageList, scan_image_names
from protolabel.segmentation.project.records import ImageStatus


def test_scan_is_recursive_natural_and_skips_hidden(tmp_path, make_images):
    make_images(tmp_path, ["img10.png", "img2.png", "img1.PNG", "b/x.jpg", ".protolabel/thumb.png"])
    (tmp_path / "notes.txt").write_text("x")
    assert scan_image_names(tmp_path) == ["b/x.jpg", "img1.PNG", "img2.png", "img10.png"]


def test_counts_filter_and_navigation(image_folder):
    images = ImageList.scan(image_folder, {"img2.png": ImageStatus.VERIFIED, "gone.png": ImageStatus.EDITED})
    assert images.names == ("img1.png", "img2.png", "img10.png", "sub/a.jpg")
    assert images.counts() == {
        ImageStatus.UNLABELED: 3,
        ImageStatus.AUTO_LABELED: 0,
        ImageStatus.EDITED: 0,
        ImageStatus.VERIFIED: 1,
    }
    events = []
    images.events.status_changed.connect(lambda n, s: events.append((n, s)))
    images.set_status("img10.png", ImageStatus.AUTO_LABELED)
    images.set_status("img10.png", ImageStatus.AUTO_LABELED)  # no change, no event
    assert events == [("img10.png", ImageStatus.AUTO_LABELED)]
    assert images.counts()[ImageStatus.UNLABELED] == 2

    images.set_filter(ImageStatus.UNLABELED)
    assert list(images.visible()) == ["img1.png", "sub/a.jpg"]
    assert images.neighbour("img1.png", 1) == "sub/a.jpg"
    assert images.neighbour("sub/a.jpg", 1) is None
    assert images.neighbour("img2.png", 1) == "sub/a.jpg"  # filtered-out current: nearest in folder order
    assert images.neighbour("img2.png", -1) == "img1.png"
    images.set_status("img1.png", ImageStatus.EDITED)
    assert list(images.visible()) == ["sub/a.jpg"]
    images.set_filter(None)
    assert images.neighbour("img2.png", 1) == "img10.png"
    assert images.neighbour(None, -1) == "sub/a.jpg"


def test_an_unreadable_image_that_reads_again_returns_to_its_status(image_folder):
    from protolabel.segmentation.project.image_list import UNREADABLE

    images = ImageList.scan(image_folder, {"img2.png": ImageStatus.VERIFIED})
    events = []
    images.events.unreadable.connect(lambda name, reason: events.append((name, reason)))
    images.mark_unreadable("img2.png", "not an image or the file is corrupt")
    images.set_filter(UNREADABLE)
    assert list(images.visible()) == ["img2.png"] and images.counts()[ImageStatus.VERIFIED] == 0
    images.mark_readable("img2.png")  # the file was replaced
    assert list(images.visible()) == [] and images.unreadable_count == 0
    assert images.counts()[ImageStatus.VERIFIED] == 1 and images.status("img2.png") is ImageStatus.VERIFIED
    images.mark_readable("img2.png")  # already readable: nothing happens
    assert events == [("img2.png", "not an image or the file is corrupt"), ("img2.png", "")]
