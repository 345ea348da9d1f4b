"""Export from the app (COCO or another format): the dialog, then the export (and, for COCO, its check) on a
worker thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from protolabel.app.qt_bridge import MainThreadInvoker
from protolabel.segmentation.coco import validate_coco
from protolabel.segmentation.formats.base import AnnotationFormat
from protolabel.segmentation.formats.registry import by_name
from protolabel.segmentation.output_paths import OutputPathError, OutputWriteError
from protolabel.segmentation.project.export import export_project
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import ImageStatus
from protolabel.segmentation.project.store import ProjectStore

logger = logging.getLogger(__name__)


class _ExportRun(QRunnable):
    def __init__(
        self,
        folder: Path,
        path: Path,
        verified_only: bool,
        labels: tuple[str, ...],
        validate: bool,
        on_done: Callable,
        fmt: AnnotationFormat,
        polygons: bool = False,
    ) -> None:
        super().__init__()
        self.args = (folder, path, verified_only, labels, validate, fmt, polygons)
        self.on_done = on_done

    def run(self) -> None:
        folder, path, verified_only, labels, validate, fmt, polygons = self.args
        try:
            with ProjectStore.open(folder) as store:  # a worker thread gets its own connection
                summary = export_project(
                    store, fmt, path, verified_only=verified_only, labels=labels, polygons=polygons
                )
            report = validate_coco(path) if validate and fmt.name == "coco" else None
        except (OutputPathError, OutputWriteError) as exc:  # their message names the path and the reason
            self.on_done(None, None, str(exc))
            return
        except Exception as exc:  # disk full, permission denied, ...: tell the user, keep the app
            logger.exception("export failed")
            self.on_done(None, None, f"{type(exc).__name__}: {exc}")
            return
        self.on_done(summary, report, None)


class ExportController(QObject):
    finished = Signal(object, object, object)  # ExportSummary | None, ValidationReport | None, error | None

    def __init__(self, project: Callable[[], Project | None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._project = project
        self._invoker = MainThreadInvoker(self)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)

    def counts(self) -> dict:
        project = self._project()
        counts = project.images.counts()
        labelled = sum(counts[s] for s in (ImageStatus.AUTO_LABELED, ImageStatus.EDITED, ImageStatus.VERIFIED))
        # videos: the Export dialog offers the per-video format (YouTube-VIS) only where there is one
        return {"all": labelled, "verified": counts[ImageStatus.VERIFIED], "videos": len(project.images.sequences)}

    def default_path(self) -> Path:
        project = self._project()
        return project.folder / "annotations.json"

    def export(
        self,
        path: Path,
        *,
        verified_only: bool,
        validate: bool = True,
        fmt: AnnotationFormat | None = None,
        polygons: bool = False,
    ) -> None:
        """Export on the worker; `polygons`: YouTube-VIS segmentations as polygons instead of RLE."""
        project = self._project()
        if project is None:
            return
        self._pool.start(
            _ExportRun(
                project.folder,
                Path(path),
                verified_only,
                project.labels,
                validate,
                self._invoker.wrap(self.finished.emit),
                fmt or by_name("coco"),
                polygons,
            )
        )

    def wait(self) -> None:
        self._pool.waitForDone(-1)
