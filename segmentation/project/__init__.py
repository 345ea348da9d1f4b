"""Qt-free project state: the SQLite store, per-image annotation documents, the image list, auto-labeling jobs."""

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import (
    ProjectLockedError,
    ProjectReadOnlyError,
    ProjectStore,
    ProjectStoreError,
)

__all__ = [
    "AnnotatedObject",
    "ImageStatus",
    "Provenance",
    "ProjectLockedError",
    "ProjectReadOnlyError",
    "ProjectStore",
    "ProjectStoreError",
]
