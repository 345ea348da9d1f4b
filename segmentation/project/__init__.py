"""Qt-free project state: the SQLite store, per-image annotation documents, the image list, auto-labeling jobs."""

from segmentation.geometry.provenance import Provenance
from segmentation.project.records import AnnotatedObject, ImageStatus
from segmentation.project.store import ProjectLockedError, ProjectReadOnlyError, ProjectStore, ProjectStoreError

__all__ = [
    "AnnotatedObject",
    "ImageStatus",
    "Provenance",
    "ProjectLockedError",
    "ProjectReadOnlyError",
    "ProjectStore",
    "ProjectStoreError",
]
