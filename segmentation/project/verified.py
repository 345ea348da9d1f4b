"""What "verified" means: the one definition the review, the file list, the export and training share.

- An object is verified when a person accepted it: Y (accept) on the object, or V on its image.
- An image is verified when it holds objects and a person accepted every one of them (V accepts them
  all at once; an image marked V with no object is verified as "nothing here"). Its status is then
  ImageStatus.VERIFIED (`status_after_review`).
- An image with verified objects and others not accepted yet (still auto, or hidden under the score
  filter) is *partly verified*; its status stays edited. The file list counts and filters these.
- Training on verified objects learns from every verified object, in every image that holds one
  (`VerifiedCounts.objects` in `VerifiedCounts.images_with_objects` images). The image's other objects
  go to training as regions to ignore (COCO crowd regions): neither an object to find nor background,
  so an object nobody has checked is never taught as background.
- The export's "verified images only" writes verified images: a COCO image states all its objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus, Provenance


def status_after_review(remaining: Iterable[AnnotatedObject]) -> ImageStatus:
    """An image's status after a person accepted or rejected objects: verified when it keeps objects and
    every one is verified, else edited (a person has worked on it)."""
    remaining = list(remaining)
    if remaining and all(o.provenance == Provenance.VERIFIED for o in remaining):
        return ImageStatus.VERIFIED
    return ImageStatus.EDITED


def verified_in(objects: Iterable[AnnotatedObject]) -> int:
    """How many of these objects are verified."""
    return sum(1 for o in objects if o.provenance == Provenance.VERIFIED)


@dataclass(frozen=True)
class VerifiedCounts:
    """Verified images and objects of a project, by the definition above."""

    images: int  # verified images: every object accepted (status verified)
    partly: int  # partly verified images: some objects accepted, others not yet
    objects: int  # verified objects, over every image
    images_with_objects: int  # images holding a verified object: what training on verified objects reads
