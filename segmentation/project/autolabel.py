"""Auto-labeling jobs: run YOLACT over images and write the results into the project store.

Qt-free and blocking: `AutoLabelJob.run()` / `AutoLabelQueue.run_pending()` are meant for a
worker thread (the app's UI thread never runs inference). Events are emitted from that thread;
a GUI must hand them to its own thread before touching widgets.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from psygnal import Signal, SignalGroup, evented

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.errors import first_line
from protolabel.segmentation.geometry.outlines import DEFAULT_TOLERANCE
from protolabel.segmentation.geometry.overlap import geometry_iou, is_same_object
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapely_bridge import shape_to_geometry
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.pipeline import PipelineResult, run_pipeline, workers_for
from protolabel.segmentation.project.labels import LABELS_KEY, ClassMapping
from protolabel.segmentation.project.records import AnnotatedObject
from protolabel.segmentation.project.store import ProjectStore, ProjectStoreError
from protolabel.segmentation.yolact.config import DEFAULT_KEYFRAME_INTERVAL

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # torch: kept off the imports of the worker processes that run `indexed_objects`
    from protolabel.segmentation.inspection.cache import InferenceCache


@dataclass(frozen=True)
class AutoLabelSettings:
    """Which model, where it runs, and what of its output becomes project objects."""

    weights: Path
    config: str | None = None
    device: str = "auto"
    backend: str = "torch"  # what runs the network: torch, onnxruntime, openvino or auto (segmentation.backends)
    score_threshold: float = 0.3
    top_k: int = 100
    batch_size: int = 1
    polygon_tolerance: float = DEFAULT_TOLERANCE  # pixels of simplification of the mask outlines
    mapping: ClassMapping = field(default_factory=ClassMapping)
    workers: int | None = None  # post-processing processes (0: sequential; None: by the machine and the job's size)
    keyframe_interval: int = DEFAULT_KEYFRAME_INTERVAL  # a video model on a video: the whole network every k frames

    def inference_settings(self):
        """The engine's per-call settings for this job (pass them to `predict`: the engine is shared)."""
        from protolabel.segmentation.engine import InferenceSettings  # torch import kept off the UI's import

        return InferenceSettings(score_threshold=self.score_threshold, top_k=self.top_k)


class EngineCache:
    """Keeps the last loaded engine, so consecutive jobs with the same weights skip the load.

    The engine is shared by every caller (the auto-label pool, the inspector's pool): callers pass
    their own settings to each `predict`, and nothing here changes the engine.
    """

    def __init__(self, onnx_cache_dir: str | Path | None = None) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._engine = None
        self.onnx_cache_dir = onnx_cache_dir  # where a .pth run on an ONNX backend is exported once

    def get(self, settings: AutoLabelSettings, on_load: Callable[[], object] | None = None):
        """The engine for these settings; `on_load` is called first when it has to be loaded (not when kept)."""
        from protolabel.segmentation.engine import YolactEngine  # torch import kept off the UI's import

        key = (str(Path(settings.weights).resolve()), settings.config, settings.device, settings.backend)
        with self._lock:
            if key != self._key:
                if on_load is not None:
                    on_load()
                self._engine, self._key = None, None
                self._engine = YolactEngine(
                    settings.weights,
                    settings.config,
                    settings.device,
                    backend=settings.backend,
                    onnx_cache_dir=self.onnx_cache_dir,
                )
                self._key = key
            return self._engine


def model_class_names(weights: str | Path, config: str | None = None) -> tuple[str, ...]:
    """The class names a checkpoint (sidecar file, COCO, YouTube-VIS, or class_1..N) or an exported .onnx (its metadata)
    predicts, without building the model."""
    from protolabel.segmentation.backends.loading import is_onnx
    from protolabel.segmentation.yolact.checkpoint import class_names_for, infer_config, read_state_dict

    if is_onnx(weights):
        from protolabel.segmentation.backends.onnx_export import read_onnx_model

        return read_onnx_model(weights).info.class_names
    state = read_state_dict(weights)
    model_config = infer_config(state, weights, config)
    return class_names_for(weights, model_config.num_classes, model_config.dataset)[0]


@evented
@dataclass
class AutoLabelOptions:
    """What the user chose in the auto-label panel; `settings()` freezes it into a job's settings."""

    weights: str = ""
    config: str | None = None
    device: str = "auto"
    backend: str = "torch"
    score_threshold: float = 0.3
    top_k: int = 100
    keyframe_interval: int = DEFAULT_KEYFRAME_INTERVAL

    def use_weights(self, path: str) -> None:
        """Run the model in `path` from now on. An .onnx (from `protolabel export-onnx`) runs on an ONNX
        backend only, so `torch` becomes `auto` (the fastest installed one)."""
        from protolabel.segmentation.backends.loading import is_onnx

        self.weights = path
        if path and is_onnx(path) and self.backend == "torch":
            self.backend = "auto"

    def settings(self, mapping: ClassMapping) -> AutoLabelSettings:
        if not self.weights:
            raise ValueError("no model chosen: open a .pth or .onnx file or download an official model first")
        return AutoLabelSettings(
            weights=Path(self.weights),
            config=self.config,
            device=self.device,
            backend=self.backend,
            score_threshold=float(self.score_threshold),
            top_k=int(self.top_k),
            mapping=mapping,
            keyframe_interval=int(self.keyframe_interval),
        )


def detections_to_indexed_objects(
    detections: Detections, mapping: ClassMapping, *, tolerance: float = DEFAULT_TOLERANCE
) -> list[tuple[int, AnnotatedObject]]:
    """Detections as auto objects (classes filtered and renamed, masks traced to polygons, empty masks
    dropped), each with the detection row it came from (the inspector links them)."""
    class_map = {name: mapping.label_for(name) for name in detections.class_names}
    labels = mapping.project_labels(detections.class_names)
    instances = detections.to_instances(class_map=class_map, class_names=labels, tolerance=tolerance)
    return [
        (int(row), AnnotatedObject(label=labels[c], shape=shape, provenance=Provenance.AUTO, score=float(score)))
        for shape, c, score, row in zip(
            instances.shapes, instances.classes, instances.scores, instances.detection_index
        )
    ]


def indexed_objects(
    name: str, detections: Detections, *, mapping: ClassMapping, tolerance: float
) -> list[tuple[int, AnnotatedObject]]:
    """The per-image post-processing of a job (in a worker process when pipelined: module-level, picklable)."""
    return detections_to_indexed_objects(detections, mapping, tolerance=tolerance)


def drop_duplicates_of(objects: list[AnnotatedObject], taken: Sequence[Shape]) -> list[AnnotatedObject]:
    """Remove new auto objects that are the same object (`is_same_object`) as one of `taken`: the objects a
    person made or kept, and the auto objects a person rejected."""
    if not taken or not objects:
        return objects
    kept_geometries = [g for g in (shape_to_geometry(shape).buffer(0) for shape in taken) if not g.is_empty]
    result = []
    for obj in objects:
        geometry = shape_to_geometry(obj.shape).buffer(0)
        if not any(is_same_object(geometry_iou(geometry, other)) for other in kept_geometries):
            result.append(obj)
    return result


@dataclass(frozen=True)
class JobProgress:
    done: int  # images finished (labelled, skipped or failed)
    total: int
    failed: int
    elapsed_s: float
    eta_s: float | None  # None until the first image is done
    current: str | None  # the image just finished


@dataclass(frozen=True)
class JobSummary:
    total: int
    labelled: int
    skipped: int  # verified images left alone
    failed: int
    cancelled: bool
    elapsed_s: float
    error: str | None = None  # the job could not start (weights or store unusable)


class AutoLabelJobEvents(SignalGroup):
    started = Signal(int)  # number of images
    loading_model = Signal()  # the model is being loaded (not sent when the engine cache already holds it)
    engine_ready = Signal(str)  # the device the model runs on, e.g. "cpu" or "cuda:0"
    image_done = Signal(str, object)  # name, AutoLabelOutcome
    image_failed = Signal(str, str)  # name, reason
    progress = Signal(object)  # JobProgress
    finished = Signal(object)  # JobSummary


class AutoLabelJob:
    """Auto-label a list of images of one folder; cancellable between batches."""

    def __init__(
        self,
        folder: str | Path,
        names: Sequence[str],
        settings: AutoLabelSettings,
        engines: EngineCache | None = None,
        inference_cache: InferenceCache | None = None,
    ) -> None:
        self.events = AutoLabelJobEvents()
        self.folder = Path(folder)
        self.names = list(names)
        self.settings = settings
        self._engines = engines or EngineCache()
        self.inference_cache = inference_cache  # keeps each result for the prototype inspector
        self._cancel = threading.Event()
        self.summary: JobSummary | None = None

    def cancel(self) -> None:
        """Stop after the batch in progress (its results are still saved; later ones are not)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> JobSummary:
        """Run to the end (or to a cancel). Blocking: call from a worker thread."""
        start = time.perf_counter()
        total = len(self.names)
        self.events.started.emit(total)
        counts = {"labelled": 0, "skipped": 0, "failed": 0}
        try:
            engine = self._engines.get(self.settings, on_load=self.events.loading_model.emit)
        except Exception as exc:  # CheckpointError, a bad device, a truncated file: the message is what the user needs
            logger.exception("loading the model for auto-labelling failed")
            message = first_line(exc)
            if Path(self.settings.weights).name not in message:
                message = f"{self.settings.weights}: cannot load the model ({message})"
            return self._finish(total, counts, start, error=message)
        try:
            store = ProjectStore.open(self.folder)
        except ProjectStoreError as exc:
            return self._finish(total, counts, start, error=str(exc))
        self.events.engine_ready.emit(str(engine.device))
        done = 0
        error = None
        try:
            with closing(self._label_all(engine, store)) as outcomes:  # closed: no worker outlives the job
                for name, outcome, reason in outcomes:
                    done += 1
                    if reason is not None:
                        counts["failed"] += 1
                        self.events.image_failed.emit(name, reason)
                    else:
                        counts["skipped" if outcome.skipped else "labelled"] += 1
                        self.events.image_done.emit(name, outcome)
                    elapsed = time.perf_counter() - start
                    eta = elapsed / done * (total - done)
                    self.events.progress.emit(JobProgress(done, total, counts["failed"], elapsed, eta, name))
        except Exception as exc:  # noqa: BLE001 whatever broke, the job ends with the reason instead of vanishing
            logger.exception("auto-labelling stopped")
            error = f"auto-labeling stopped after {done} of {total} images: {first_line(exc)}"
        finally:
            store.close()
        return self._finish(total, counts, start, error=error)

    def _label_all(self, engine, store: ProjectStore):
        """Yield (name, outcome, failure reason) for each image, in order, through the pipelined run
        (segmentation/pipeline): a cancel lets the batch in progress finish."""
        inference_settings = self.settings.inference_settings()
        items = [(name, self.folder / name) for name in self.names]
        results = run_pipeline(
            items,
            lambda images: engine.predict(images, inference_settings),
            lambda: functools.partial(
                indexed_objects, mapping=self.settings.mapping, tolerance=self.settings.polygon_tolerance
            ),
            batch_size=max(1, self.settings.batch_size),
            workers=workers_for(self.settings.workers, len(items)),
            # a model that fails on these images (e.g. nms on a background-only checkpoint) fails them, not the app
            on_predict_error=lambda exc: f"inference failed: {first_line(exc)}",
            keep_detections=self.inference_cache is not None,
            stop=self._cancel,
        )
        with closing(results):
            for result in results:
                if result.error is not None:
                    yield result.name, None, result.error
                    continue
                try:
                    outcome, objects = self._store(store, result)
                except ProjectStoreError as exc:
                    yield result.name, None, str(exc)
                    continue
                if self.inference_cache is not None and not outcome.skipped:
                    survivors = {id(o) for o in objects}
                    rows = [row for row, o in result.value if id(o) in survivors]
                    self.inference_cache.record_auto_label(
                        result.name,
                        result.detections,
                        dict(zip(rows, outcome.object_ids)),
                        model=Path(self.settings.weights).name,
                    )
                yield result.name, outcome, None

    @staticmethod
    def _store(store: ProjectStore, result: PipelineResult):
        """Replace the image's auto objects with the new ones that neither repeat a person's objects nor bring
        back one a person rejected; (outcome, objects)."""
        taken = [o.shape for o in store.objects(result.name) if o.provenance is not Provenance.AUTO]
        objects = drop_duplicates_of([o for _, o in result.value], taken + store.rejected_shapes(result.name))
        return store.replace_auto_objects(
            result.name, objects, image_size=result.image_size, label_list_key=LABELS_KEY
        ), objects

    def _finish(self, total: int, counts: dict, start: float, error: str | None = None) -> JobSummary:
        self.summary = JobSummary(
            total=total,
            labelled=counts["labelled"],
            skipped=counts["skipped"],
            failed=counts["failed"],
            cancelled=self._cancel.is_set(),
            elapsed_s=time.perf_counter() - start,
            error=error,
        )
        self.events.finished.emit(self.summary)
        return self.summary


class AutoLabelQueueEvents(SignalGroup):
    job_added = Signal(object)
    job_started = Signal(object)
    job_finished = Signal(object, object)  # job, JobSummary
    idle = Signal()


class AutoLabelQueue:
    """Jobs waiting to run, one at a time, in submission order. Thread-safe."""

    def __init__(self) -> None:
        self.events = AutoLabelQueueEvents()
        self._lock = threading.Lock()
        self._pending: deque[AutoLabelJob] = deque()
        self.current: AutoLabelJob | None = None

    def submit(self, job: AutoLabelJob) -> None:
        with self._lock:
            self._pending.append(job)
        self.events.job_added.emit(job)

    @property
    def pending(self) -> list[AutoLabelJob]:
        with self._lock:
            return list(self._pending)

    @property
    def busy(self) -> bool:
        with self._lock:
            return self.current is not None or bool(self._pending)

    def cancel_all(self) -> None:
        """Drop waiting jobs and stop the running one after its current batch."""
        with self._lock:
            dropped = list(self._pending)
            self._pending.clear()
            current = self.current
        for job in dropped:
            job.cancel()
            self.events.job_finished.emit(job, JobSummary(len(job.names), 0, 0, 0, True, 0.0))
        if current is not None:
            current.cancel()

    def run_pending(self) -> None:
        """Run jobs until none is left (blocking: the body of a worker thread)."""
        while True:
            with self._lock:
                if not self._pending:
                    self.current = None
                    break
                job = self.current = self._pending.popleft()
            try:
                self.events.job_started.emit(job)
                summary = job.run()
            except Exception as exc:  # noqa: BLE001 a failing job (or listener) must not leave the queue busy for ever
                logger.exception("an auto-labelling job failed")
                summary = JobSummary(
                    len(job.names), 0, 0, 0, job.cancelled, 0.0, error=f"auto-labeling failed: {first_line(exc)}"
                )
            self.events.job_finished.emit(job, summary)
        self.events.idle.emit()
