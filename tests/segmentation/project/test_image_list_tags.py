"""The "Tagged:" filter of the image list: only the images carrying the tag, in folder order, kept up to date
as tags change; tag counts for the filter's entries."""

from __future__ import annotations

from pathlib import Path

from protolabel.segmentation.project.image_list import ImageList, TagFilter
from protolabel.segmentation.project.records import ImageStatus

NAMES = ["a.png", "b.png", "c.png", "d.png"]


def test_a_tag_filter_lists_only_the_tagged_images_whatever_their_status():
    images = ImageList(Path("."), NAMES, {"c.png": ImageStatus.VERIFIED})
    images.set_all_tags({"c.png": ["night", "blurry"], "a.png": ["night"], "gone.png": ["night"]})
    images.mark_unreadable("a.png", "broken")  # tagged images stay listed under their tag, readable or not
    seen = []
    images.events.filter_changed.connect(seen.append)

    images.set_filter(TagFilter("night"))
    assert seen == [TagFilter("night")]
    assert list(images.visible()) == ["a.png", "c.png"]  # names not in the folder are left out
    assert images.tag_counts() == {"blurry": 1, "night": 2}
    images.set_filter(TagFilter("rain"))
    assert list(images.visible()) == []


def test_the_tag_filter_follows_tag_changes():
    images = ImageList(Path("."), NAMES)
    images.set_filter(TagFilter("night"))
    changed = []
    images.events.tags_changed.connect(changed.append)

    images.set_tags("d.png", ["night"])
    images.set_tags("b.png", ["night", "night"])
    assert list(images.visible()) == ["b.png", "d.png"]
    assert images.neighbour("b.png", 1) == "d.png"
    images.set_tags("d.png", [])
    assert list(images.visible()) == ["b.png"] and images.tags("d.png") == ()
    images.set_tags("b.png", ["night"])  # the same tags again: no event
    images.set_tags("nowhere.png", ["night"])  # not an image of the list: ignored
    assert changed == ["d.png", "b.png", "d.png"]
    assert images.tag_counts() == {"night": 1}
    images.set_filter(None)
    assert list(images.visible()) == NAMES
