"""Per-object review: the next or previous object not yet verified, across the images of a project.

Qt-free so the app's Tab / Shift+Tab and the benchmark share one rule. Objects are visited in id
order within an image and images in folder order; images whose status says they hold no unverified
object (unlabeled, verified) are skipped without reading them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus

_MAY_HOLD_UNVERIFIED = (ImageStatus.AUTO_LABELED, ImageStatus.EDITED)


Skip = Callable[[AnnotatedObject], bool]


def unverified_ids(project: Project, name: str, skip: Skip | None = None) -> list[int]:
    """Ids of the image's objects that are not verified (nor skipped), in id order ([] for an unreadable image)."""
    document = project.document(name)
    return [o.id for o in document.objects if o.provenance != Provenance.VERIFIED and (skip is None or not skip(o))]


def next_unverified(
    project: Project, name: str | None, object_id: int | None, step: int = 1, skip: Skip | None = None
) -> tuple[str, int] | None:
    """(image, object id) of the first unverified object after (step=1) or before (step=-1) the given one.

    Starts inside `name` after `object_id` (or at the image's first/last object when None), then the
    following images in folder order, wrapping around once. `skip` passes over objects the person has
    hidden (the score filter, eye toggles). None when every object is verified (or skipped).
    """
    names = project.images.names
    if not names:
        return None
    start = project.images.index_of(name) if name in project.images else (0 if step > 0 else len(names) - 1)
    if name in project.images:
        ids = unverified_ids(project, name, skip)
        if object_id is None:
            here = ids if step > 0 else ids[::-1]
        else:
            here = [i for i in ids if i > object_id] if step > 0 else [i for i in reversed(ids) if i < object_id]
        if here:
            return name, here[0]
    count = len(names)
    for offset in range(1, count + 1):
        candidate = names[(start + step * offset) % count]
        if project.images.status(candidate) not in _MAY_HOLD_UNVERIFIED:
            continue
        ids = unverified_ids(project, candidate, skip)
        if ids:
            return candidate, ids[0] if step > 0 else ids[-1]
    return None


def next_from_selection(
    project: Project, selected: Iterable[int], step: int = 1, skip: Skip | None = None
) -> tuple[str, int] | None:
    """What Tab (step=1) or Shift+Tab (step=-1) goes to: the next unverified object after the last selected
    object of the current image (before the first, going back), or from the image's start (end) when none
    of its objects is selected. Objects selected but no longer in the image do not count."""
    name = project.current_name
    document = None if name is None else project.document(name)
    ids = [] if document is None else [i for i in selected if i in document]
    anchor = (max(ids) if step > 0 else min(ids)) if ids else None
    return next_unverified(project, name, anchor, step, skip)
