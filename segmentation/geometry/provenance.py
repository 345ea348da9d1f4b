"""Who last decided an object's shape and class: the one vocabulary of the COCO files, instances and project.

It lives at the bottom of the geometry layer so that every layer above (coco, project, app) imports
the same definition. The values are what projects and COCO files store: they never change.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum


class Provenance(str, Enum):
    """Who last decided an object's shape and class."""

    AUTO = "auto"  # straight from the model; a later auto-label run may replace it
    EDITED = "edited"  # a person changed or drew it; auto-labels never touch it
    VERIFIED = "verified"  # a person accepted it as correct


PROVENANCES: tuple[str, ...] = tuple(p.value for p in Provenance)  # the stored strings, in that order
# A dict lookup per object, not an Enum call (a large COCO import reads hundreds of thousands)
PROVENANCE_OF: Mapping[str, Provenance] = {p.value: p for p in Provenance}
HUMAN_DRAWN = Provenance.EDITED.value  # an object from another tool (no `source`) was drawn by a person
