"""The cached model output of each image: what the prototype inspector rebuilds masks from.

An auto-label run (or an explicit run from the inspector, or a region re-inference) keeps the
prototypes and, per detection, its coefficients, relative box, class, score and the project
object it became. The inspector works from this and never runs the network for an interaction.

Stored per image in FOLDER/.protolabel/inference/<hash>.npz (written atomically), with a small
in-memory LRU in front. The SQLite store stays the source of truth for objects: a cached
detection only points at an object id. The npz files are uncompressed: deflating 2.4 MB of
float32 prototypes costs 40-100 ms of CPU per image, which would dominate a GPU auto-label run;
instead the folder is an LRU with a byte budget (least recently used images are dropped).
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from psygnal import Signal, SignalGroup

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.files import atomic_write_bytes
from protolabel.segmentation.folders import PROJECT_DIR_NAME
from protolabel.segmentation.geometry.boxes import ordered_box
from protolabel.segmentation.project_files import open_project_file, project_subdir

CACHE_DIR_NAME = "inference"
FORMAT_VERSION = 1
DEFAULT_MEMORY_ITEMS = 8
DEFAULT_DISK_BUDGET = 2 * 1024**3  # ~850 images of 138x138x32 prototypes
NO_OBJECT = -1


_created_lock = threading.Lock()
_last_created = 0.0


def _unique_time() -> float:
    """time.time(), nudged so that no two runs of this process share a creation time (their identity)."""
    global _last_created
    with _created_lock:
        _last_created = max(time.time(), _last_created + 1e-6)
        return _last_created


class InferenceCacheError(Exception):
    """A cached inference cannot be read; the message says which file and why."""


@dataclass(frozen=True, eq=False)
class InferenceRecord:
    """One run of YOLACT on an image, or on a region of it, reduced to what rebuilds its masks."""

    frame_size: tuple[int, int]  # (height, width) of what the model saw: the image, or the region
    origin: tuple[int, int]  # (x0, y0) of that frame in the image
    prototypes: np.ndarray  # float32 [h, w, k], after ReLU
    coefficients: np.ndarray  # float32 [D, k]
    boxes_rel: np.ndarray  # float32 [D, 4], relative to the frame, exactly what the crop used
    classes: np.ndarray  # int64 [D], model class index
    scores: np.ndarray  # float32 [D]
    object_ids: np.ndarray  # int64 [D]: the project object each detection became, NO_OBJECT for none
    class_names: tuple[str, ...]  # every model class
    region: bool = False  # a re-inference of part of the image
    model: str = ""  # weights file name, for the user
    created: float = field(default_factory=_unique_time)  # also the run's identity

    def __post_init__(self) -> None:
        d = len(self.scores)
        k = self.prototypes.shape[2] if self.prototypes.ndim == 3 else -1
        if (
            self.prototypes.ndim != 3
            or self.coefficients.shape != (d, k)
            or self.boxes_rel.shape != (d, 4)
            or self.classes.shape != (d,)
            or self.object_ids.shape != (d,)
        ):
            raise ValueError(
                f"inconsistent inference record: prototypes {self.prototypes.shape}, coefficients "
                f"{self.coefficients.shape}, boxes {self.boxes_rel.shape}, classes {self.classes.shape}, "
                f"scores {self.scores.shape}, object ids {self.object_ids.shape}"
            )

    @classmethod
    def from_detections(
        cls,
        det: Detections,
        object_ids: Mapping[int, int] | None = None,
        *,
        origin: tuple[int, int] = (0, 0),
        region: bool = False,
        model: str = "",
    ) -> InferenceRecord:
        """Keep what the inspector needs of an engine result; `object_ids` maps detection rows to objects."""
        ids = np.full(len(det), NO_OBJECT, dtype=np.int64)
        for row, object_id in (object_ids or {}).items():
            ids[int(row)] = int(object_id)
        return cls(
            frame_size=(int(det.image_size[0]), int(det.image_size[1])),
            origin=(int(origin[0]), int(origin[1])),
            prototypes=np.ascontiguousarray(det.prototypes, dtype=np.float32),
            coefficients=np.asarray(det.coefficients, dtype=np.float32),
            boxes_rel=np.asarray(det.boxes_rel, dtype=np.float32),
            classes=np.asarray(det.classes, dtype=np.int64),
            scores=np.asarray(det.scores, dtype=np.float32),
            object_ids=ids,
            class_names=tuple(det.class_names),
            region=region,
            model=model,
        )

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @property
    def num_prototypes(self) -> int:
        return int(self.prototypes.shape[2])

    def label(self, index: int) -> str:
        return self.class_names[int(self.classes[index])]

    def index_of_object(self, object_id: int) -> int | None:
        """The detection that became `object_id`, if any."""
        hits = np.flatnonzero(self.object_ids == int(object_id))
        return int(hits[0]) if len(hits) else None

    def with_object(self, index: int, object_id: int) -> InferenceRecord:
        """The same record with detection `index` linked to a project object."""
        ids = self.object_ids.copy()
        ids[int(index)] = int(object_id)
        return replace(self, object_ids=ids)

    def box_in_image(self, index: int) -> tuple[float, float, float, float]:
        """The crop box of a detection in image pixels (unclamped: it may reach outside the frame)."""
        h, w = self.frame_size
        x1, y1, x2, y2 = ordered_box(self.boxes_rel[index])
        x1, y1, x2, y2 = x1 * w, y1 * h, x2 * w, y2 * h
        return x1 + self.origin[0], y1 + self.origin[1], x2 + self.origin[0], y2 + self.origin[1]


@dataclass(frozen=True, eq=False)
class ImageInference:
    """Every cached model run of one image: at most one of the whole image, then region runs."""

    name: str  # image path relative to the folder
    records: tuple[InferenceRecord, ...] = ()

    @property
    def image_record(self) -> InferenceRecord | None:
        return next((r for r in self.records if not r.region), None)

    def find_object(self, object_id: int) -> tuple[int, int] | None:
        """(record index, detection index) of the detection that became `object_id`; the latest run wins."""
        for r in reversed(range(len(self.records))):
            index = self.records[r].index_of_object(object_id)
            if index is not None:
                return r, index
        return None

    def index_of_run(self, created: float) -> int | None:
        """The position of the run made at `created` (runs are told apart by their creation time)."""
        return next((i for i, r in enumerate(self.records) if r.created == created), None)

    def with_image_record(self, record: InferenceRecord) -> ImageInference:
        """A new run on the whole image: it replaces the old one; region runs linked to objects stay."""
        regions = tuple(r for r in self.records if r.region and np.any(r.object_ids != NO_OBJECT))
        return replace(self, records=(record, *regions))

    def with_region(self, record: InferenceRecord) -> ImageInference:
        """Add a region run; earlier region runs none of whose detections were added are dropped."""
        kept = tuple(r for r in self.records if not r.region or np.any(r.object_ids != NO_OBJECT))
        return replace(self, records=(*kept, record))

    def with_link(self, record_index: int, index: int, object_id: int) -> ImageInference:
        records = list(self.records)
        records[record_index] = records[record_index].with_object(index, object_id)
        return replace(self, records=tuple(records))


# --------------------------------------------------------------------------- file format

_RECORD_ARRAYS = ("prototypes", "coefficients", "boxes_rel", "classes", "scores", "object_ids")


def inference_to_bytes(inference: ImageInference) -> bytes:
    """An .npz (uncompressed zip of .npy files) holding every record of one image."""
    arrays: dict[str, np.ndarray] = {
        "format_version": np.asarray(FORMAT_VERSION),
        "name": np.asarray(inference.name),
        "record_count": np.asarray(len(inference.records)),
    }
    for i, r in enumerate(inference.records):
        for key in _RECORD_ARRAYS:
            arrays[f"r{i}_{key}"] = getattr(r, key)
        arrays[f"r{i}_frame_size"] = np.asarray(r.frame_size, dtype=np.int64)
        arrays[f"r{i}_origin"] = np.asarray(r.origin, dtype=np.int64)
        arrays[f"r{i}_class_names"] = np.asarray(r.class_names, dtype=str)
        arrays[f"r{i}_region"] = np.asarray(r.region)
        arrays[f"r{i}_model"] = np.asarray(r.model)
        arrays[f"r{i}_created"] = np.asarray(r.created, dtype=np.float64)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def inference_from_file(path: Path) -> ImageInference:
    """Read a cache file (never through a link); a damaged or foreign file raises InferenceCacheError."""
    try:
        with os.fdopen(open_project_file(path, os.O_RDONLY), "rb") as f, np.load(f, allow_pickle=False) as data:
            version = int(data["format_version"])
            if version != FORMAT_VERSION:
                raise InferenceCacheError(f"{path}: cache format {version}, this Protolabel reads {FORMAT_VERSION}")
            records = []
            for i in range(int(data["record_count"])):
                records.append(
                    InferenceRecord(
                        frame_size=tuple(int(v) for v in data[f"r{i}_frame_size"]),
                        origin=tuple(int(v) for v in data[f"r{i}_origin"]),
                        **{key: data[f"r{i}_{key}"] for key in _RECORD_ARRAYS},
                        class_names=tuple(str(n) for n in data[f"r{i}_class_names"]),
                        region=bool(data[f"r{i}_region"]),
                        model=str(data[f"r{i}_model"]),
                        created=float(data[f"r{i}_created"]),
                    )
                )
            return ImageInference(str(data["name"]), tuple(records))
    except InferenceCacheError:
        raise
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile, EOFError) as exc:
        raise InferenceCacheError(f"{path}: damaged cache file ({exc})") from None


# --------------------------------------------------------------------------- the cache


class InferenceCacheEvents(SignalGroup):
    stored = Signal(str)  # image name whose cached inference changed (emitted in the writing thread)
    write_failed = Signal(str, str)  # image name, reason (the result stays in memory for this session)


class InferenceCache:
    """Cached model runs of a folder's images, on disk and in a small LRU. Thread-safe."""

    def __init__(
        self, folder: str | Path, *, memory_items: int = DEFAULT_MEMORY_ITEMS, disk_budget: int = DEFAULT_DISK_BUDGET
    ) -> None:
        self.events = InferenceCacheEvents()
        self.folder = Path(folder)
        self.directory = self.folder / PROJECT_DIR_NAME / CACHE_DIR_NAME
        self.memory_items = max(1, int(memory_items))
        self.disk_budget = int(disk_budget)
        self._lock = threading.RLock()
        self._memory: OrderedDict[str, ImageInference] = OrderedDict()

    def path_for(self, name: str) -> Path:
        """The file of an image: a hash of its relative path (any characters, any depth)."""
        return self.directory / (hashlib.sha1(name.encode("utf-8")).hexdigest()[:24] + ".npz")

    def get(self, name: str) -> ImageInference | None:
        """The image's cached runs, or None when it has none. Raises InferenceCacheError for a damaged file."""
        with self._lock:
            hit = self._memory.get(name)
            if hit is not None:
                self._memory.move_to_end(name)
                return hit
            path = self.path_for(name)
            if not os.path.lexists(path):
                return None
            inference = inference_from_file(path)
            if inference.name != name:  # a hash collision, or a file copied from elsewhere
                return None
            try:
                os.utime(path, follow_symlinks=False)  # recently used: last to be evicted
            except (OSError, NotImplementedError):
                pass
            self._remember(inference)
            return inference

    def put(self, inference: ImageInference) -> None:
        """Keep an image's runs (memory at once, then the disk) and tell observers."""
        with self._lock:
            self._remember(inference)
            try:
                project_subdir(self.folder, CACHE_DIR_NAME, create=True)  # a real folder, never a planted link
                atomic_write_bytes(self.path_for(inference.name), inference_to_bytes(inference))
                self._evict_disk(keep=self.path_for(inference.name))
            except OSError as exc:
                self.events.write_failed.emit(inference.name, f"cannot save the model output: {exc}")
        self.events.stored.emit(inference.name)

    def record_image_run(self, name: str, record: InferenceRecord) -> ImageInference:
        """A new run on the whole image replaces its previous one."""
        with self._lock:
            current = self._get_or_empty(name)
            updated = current.with_image_record(record)
            self.put(updated)
            return updated

    def record_auto_label(
        self, name: str, det: Detections, object_ids: Mapping[int, int], model: str = ""
    ) -> ImageInference:
        """What an auto-label run needs to keep: the result and the object each detection row became."""
        return self.record_image_run(name, InferenceRecord.from_detections(det, object_ids, model=model))

    def add_region(self, name: str, record: InferenceRecord) -> tuple[ImageInference, int]:
        """Add a region run; returns the updated runs and the index of the new one."""
        with self._lock:
            updated = self._get_or_empty(name).with_region(record)
            self.put(updated)
            return updated, len(updated.records) - 1

    def link(self, name: str, run: float, links: Mapping[int, int]) -> ImageInference | None:
        """Note that detections of run `run` (its `created` time) became objects: {row: object id}.

        None when that run is no longer cached (a newer auto-label replaced it).
        """
        with self._lock:
            current = self._get_or_empty(name)
            record_index = current.index_of_run(run)
            if record_index is None:
                return None
            updated = current
            for index, object_id in links.items():
                updated = updated.with_link(record_index, index, object_id)
            self.put(updated)
            return updated

    def discard(self, name: str) -> None:
        with self._lock:
            self._memory.pop(name, None)
            self.path_for(name).unlink(missing_ok=True)
        self.events.stored.emit(name)

    # ---------------------------------------------------------------- internals
    def _get_or_empty(self, name: str) -> ImageInference:
        try:
            current = self.get(name)
        except InferenceCacheError:
            current = None  # a damaged file is simply replaced
        return current or ImageInference(name)

    def _remember(self, inference: ImageInference) -> None:
        self._memory[inference.name] = inference
        self._memory.move_to_end(inference.name)
        while len(self._memory) > self.memory_items:
            self._memory.popitem(last=False)

    def _evict_disk(self, keep: Path) -> None:
        """Delete least recently used files until the folder fits the byte budget."""
        entries = []
        total = 0
        with os.scandir(self.directory) as it:
            for entry in it:
                if entry.name.endswith(".npz") and entry.is_file():
                    stat = entry.stat()
                    entries.append((stat.st_mtime, stat.st_size, entry.path))
                    total += stat.st_size
        if total <= self.disk_budget:
            return
        for _, size, path in sorted(entries):
            if total <= self.disk_budget:
                break
            if Path(path) == keep:
                continue
            try:
                os.unlink(path)
                total -= size
            except OSError:
                pass
