"""`protolabel label --cluster ray[://ADDRESS]`: the pre-labelling run spread over a Ray cluster.

The driver splits the images to label into shards (consecutive runs of the folder order), and
Ray Data sends them to a pool of actors, each holding one engine (one per GPU, or CPU actors).
An actor labels its shard with the same `prelabel_folder` a single-process run uses and writes
the shard as a COCO file plus a "done" record under `<out>.shards/` (shared storage), so an
interrupted run resumes: a shard whose record is there is not labelled again. The driver then
merges the shards into `--out` by the single-process rules (existing images and human edits kept,
categories and their ids the same) and deletes the shards once the merged file is written.

Ray is an optional extra: it is imported only when a cluster run starts.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protolabel.segmentation.coco.dataset import Category, CocoDataset, CocoImage
from protolabel.segmentation.coco.export import write_coco
from protolabel.segmentation.coco.reader import read_coco
from protolabel.segmentation.errors import first_line
from protolabel.segmentation.files import atomic_write_text
from protolabel.segmentation.output_paths import write_with_fallback
from protolabel.segmentation.prelabel import FolderScan, LabelModel, LabelReport, merge_labeled, prelabel_folder
from protolabel.segmentation.project.labels import ClassMapping

SHARD_SIZE = 64  # images per shard: the unit of work an actor takes and of what an interruption loses
CPUS_PER_CPU_ACTOR = 4  # CPU cores an engine gets by default on a CPU-only cluster (torch threads)
RAY_INSTALL_HINT = 'pip install -e ".[ray]"'
SHARD_FORMAT = 1
SHARD_FILE = re.compile(r"^\.?[0-9a-f]{20}\.(coco|done)\.json(\..+\.tmp)?$")


class ClusterError(Exception):
    """A cluster run cannot start (no Ray, a bad --cluster value, no GPU); the message is one line."""


def parse_cluster(text: str) -> str | None:
    """The Ray address a --cluster value names: None for `ray` (RAY_ADDRESS or a local instance),
    `ray://HOST:PORT` for a remote cluster through Ray Client. ClusterError otherwise."""
    if text == "ray":
        return None
    if text.startswith("ray://") and len(text) > len("ray://"):
        return text
    raise ClusterError(f"--cluster: expected 'ray' or 'ray://HOST:PORT', got {text!r}")


def import_ray():
    """The ray module, or ClusterError naming the extra to install (the base install has no Ray)."""
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data is the `data` part of the extra)
    except ImportError:
        raise ClusterError(f"--cluster ray needs Ray, an optional extra: {RAY_INSTALL_HINT}") from None
    return ray


def shard_dir_for(out_path: str | os.PathLike) -> Path:
    """Where a cluster run keeps its shards: `<out>.shards/` beside the output (shared storage)."""
    out = Path(os.path.abspath(out_path))
    return out.with_name(out.name + ".shards")


@dataclass(frozen=True)
class Shard:
    """A run of consecutive images to label, named by a digest of its names and the run's settings."""

    key: str
    names: tuple[str, ...]

    @property
    def coco_name(self) -> str:
        return f"{self.key}.coco.json"

    @property
    def done_name(self) -> str:
        return f"{self.key}.done.json"


def plan_shards(
    todo: Sequence[str], settings_key: str, categories: Sequence[Category], shard_size: int = SHARD_SIZE
) -> list[Shard]:
    """`todo` cut into shards of `shard_size`; a shard's key changes with its names, the settings and
    the starting categories, so a re-run with other settings never takes an old shard for its own."""
    cats = json.dumps([[c.id, c.name] for c in categories], ensure_ascii=False)
    shards = []
    for start in range(0, len(todo), max(1, shard_size)):
        names = tuple(todo[start : start + shard_size])
        text = "\n".join([f"shard format {SHARD_FORMAT}", settings_key, cats, *names])
        shards.append(Shard(hashlib.sha256(text.encode("utf-8")).hexdigest()[:20], names))
    return shards


def read_done(shard_dir: Path, shard: Shard) -> dict[str, Any] | None:
    """A finished shard's record (labelled count, objects, unreadable messages), None if not finished."""
    try:
        record = json.loads((shard_dir / shard.done_name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("names") != list(shard.names):
        return None
    if record.get("labeled") and not (shard_dir / shard.coco_name).is_file():
        return None
    return record


def label_shard(
    model: LabelModel,
    shard: Shard,
    paths: Sequence[str],
    shard_dir: Path,
    categories: Sequence[Category],
    *,
    mapping: ClassMapping,
    batch_size: int,
    tolerance: float,
    min_area: float,
    workers: int = 0,
) -> dict[str, Any]:
    """Label one shard (its images at `paths`) with `prelabel_folder` into `<key>.coco.json`, then
    write its done record; the shard starts from the existing `categories`, so ids come out the same."""
    coco_path = shard_dir / shard.coco_name
    coco_path.unlink(missing_ok=True)  # a partial file of an interrupted attempt
    failed: list[str] = []
    scan = FolderScan([(name, Path(path)) for name, path in zip(shard.names, paths)], [])
    report = prelabel_folder(
        scan,
        coco_path,
        shard.names,
        lambda: model,
        existing=CocoDataset(tuple(categories)),
        mapping=mapping,
        batch_size=batch_size,
        tolerance=tolerance,
        min_area=min_area,
        on_unreadable=failed.append,
        save_every_s=math.inf,
        workers=workers,
    )
    if report.note:
        raise OSError(f"{coco_path}: cannot write the shard ({report.note})")
    record = {"names": list(shard.names), "labeled": report.labeled, "objects": report.objects, "failed": failed}
    atomic_write_text(shard_dir / shard.done_name, json.dumps(record, ensure_ascii=False))
    return record


class ShardLabeler:
    """A Ray Data actor: loads one engine when it starts, then labels the shards it is given."""

    def __init__(
        self,
        load_model: Callable[[], LabelModel],
        shard_dir: str,
        categories: Sequence[Category],
        options: dict[str, Any],
    ) -> None:
        self.model = load_model()
        self.shard_dir, self.categories, self.options = Path(shard_dir), tuple(categories), options

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        out: dict[str, list] = {"key": [], "record": []}
        for key, names, paths in zip(batch["key"], batch["names"], batch["paths"]):
            shard = Shard(str(key), tuple(json.loads(str(names))))
            record = label_shard(
                self.model, shard, json.loads(str(paths)), self.shard_dir, self.categories, **self.options
            )
            out["key"].append(shard.key)
            out["record"].append(json.dumps(record, ensure_ascii=False))
        return out


def actor_resources(ray, device: str, actors: int | None) -> tuple[int, dict[str, float], str]:
    """How many actors, what each asks of Ray, and the device its engine uses."""
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
    wants_gpu = device.startswith("cuda") or (device == "auto" and gpus > 0)
    if wants_gpu:
        if gpus == 0:
            raise ClusterError(f"--device {device}: the Ray cluster has no GPU (use --device cpu or auto)")
        # Ray gives each actor its own GPU as cuda:0 (CUDA_VISIBLE_DEVICES), whatever index was asked for
        return (actors or gpus), {"num_gpus": 1}, "cuda"
    count = actors or max(1, cpus // CPUS_PER_CPU_ACTOR)
    return count, {"num_cpus": max(1, cpus // count)}, "cpu"


def label_on_ray(
    scan: FolderScan,
    out_path: str | os.PathLike,
    todo: Sequence[str],
    model_for_device: Callable[[str], LabelModel],
    *,
    existing: CocoDataset | None = None,
    mapping: ClassMapping | None = None,
    settings_key: str = "",
    address: str | None = None,
    device: str = "auto",
    actors: int | None = None,
    shard_size: int = SHARD_SIZE,
    batch_size: int = 1,
    pipeline_workers: int = 0,
    tolerance: float,
    min_area: float,
    progress: Callable[[int, int, str], None] | None = None,
    on_unreadable: Callable[[str], None] | None = None,
) -> LabelReport:
    """Label `todo` on a Ray cluster and merge the result into `out_path` as `prelabel_folder` would.

    `actors` engines run at once (default: one per GPU, else one per CPUS_PER_CPU_ACTOR cores);
    `pipeline_workers` is each actor's `prelabel_folder(workers=)` (0: sequential).
    `model_for_device(device)` builds an engine on an actor ("cuda" or "cpu"); it and everything
    it refers to must be picklable and importable on every node. `settings_key` names what changes
    the labels (weights, thresholds, class selection): a shard made with other settings is redone.
    The folder, the weights and the output's folder must be at the same path on every node.
    An interruption keeps the finished shards for the next run and writes nothing to `out_path`;
    a failure on the cluster raises ClusterError (one line), the finished shards kept as well.
    """
    ray = import_ray()
    base = existing or CocoDataset(())
    shard_dir = shard_dir_for(out_path)
    shard_dir.mkdir(exist_ok=True)
    shards = plan_shards(todo, settings_key, base.categories, shard_size)
    records = {s.key: r for s in shards if (r := read_done(shard_dir, s)) is not None}
    done = 0
    for shard in shards:
        if shard.key in records:
            done += len(shard.names)
            _tell(on_unreadable, records[shard.key]["failed"])
    if records and progress is not None:
        progress(done, len(todo), f"{len(records)} of {len(shards)} shards done before")

    report = LabelReport()
    pending = [s for s in shards if s.key not in records]
    if pending:
        started = not ray.is_initialized()
        if started:
            ray.init(address=address, logging_level="warning")
        try:
            options = {
                "mapping": mapping or ClassMapping(),
                "batch_size": batch_size,
                "tolerance": tolerance,
                "min_area": min_area,
                "workers": pipeline_workers,
            }
            rows = _run_shards(
                ray, scan, pending, shard_dir, base.categories, model_for_device, options, device=device, actors=actors
            )
            with contextlib.closing(rows):  # an interruption stops the Ray Data run too
                for shard, record in rows:
                    records[shard.key] = record
                    _tell(on_unreadable, record["failed"])
                    done += len(shard.names)
                    if progress is not None:
                        progress(done, len(todo), shard.names[-1])
        except KeyboardInterrupt as exc:
            report.interrupted, report.interruption = True, exc
        except ray.exceptions.RayError as exc:
            raise ClusterError(
                f"the Ray run failed: {failure_line(exc)} ({len(records)} of {len(shards)} shards "
                f"finished, kept in {shard_dir}; run again to resume)"
            ) from None
        finally:
            if started:
                ray.shutdown()

    for shard in shards:
        if shard.key in records:
            report.failed.extend(records[shard.key]["failed"])
    if report.interrupted or len(records) < len(shards):
        report.interrupted = True
        return report
    categories, new = _read_shards(shard_dir, shards, records)
    final = merge_shards(
        base.with_categories([c.name for c in categories], [c.id for c in categories]),
        [name for name, _ in scan.images],
        new,
    )
    report.labeled = len(new)
    report.objects = sum(len(img.instances) for img in new.values())
    report.kept = sum(1 for img in final.images if img.file_name not in new and len(img.instances))
    if new:
        written = write_with_fallback(out_path, lambda path: write_coco(path, final))
        report.written, report.note = written.path, written.note()
        if report.note:
            return report  # the merged file went to a fallback: the shards stay for a re-run
    remove_shards(shard_dir)
    return report


def _tell(on_unreadable: Callable[[str], None] | None, messages: Sequence[str]) -> None:
    for message in messages:
        if on_unreadable is not None:
            on_unreadable(message)


def _run_shards(
    ray,
    scan: FolderScan,
    pending: Sequence[Shard],
    shard_dir: Path,
    categories: Sequence[Category],
    model_for_device: Callable[[str], LabelModel],
    options: dict[str, Any],
    *,
    device: str,
    actors: int | None,
) -> Iterator[tuple[Shard, dict[str, Any]]]:
    """The pending shards through a Ray Data actor pool; yields each shard with its record as it finishes."""
    # The command has its own progress line: no Ray Data bars, nor its INFO lines about the run
    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "progress bars disabled"
    count, remote_args, actor_device = actor_resources(ray, device, actors)
    paths = {name: os.path.abspath(path) for name, path in scan.images}  # a worker's cwd is not the driver's
    items = [
        {
            "key": s.key,
            "names": json.dumps(list(s.names), ensure_ascii=False),
            "paths": json.dumps([paths[name] for name in s.names], ensure_ascii=False),
        }
        for s in pending
    ]
    results = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        ShardLabeler,
        batch_size=1,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=min(count, len(pending))),
        fn_constructor_kwargs={
            "load_model": functools.partial(model_for_device, actor_device),
            "shard_dir": str(shard_dir),
            "categories": tuple(categories),
            "options": options,
        },
        **remote_args,
    )
    by_key = {s.key: s for s in pending}
    for row in results.iter_rows():
        yield by_key[str(row["key"])], json.loads(str(row["record"]))


def remove_shards(shard_dir: Path) -> None:
    """Delete the shard files a cluster run wrote, then the folder if nothing else is in it."""
    for path in shard_dir.iterdir():
        if SHARD_FILE.match(path.name):  # shards, and temp files a killed write left behind
            path.unlink(missing_ok=True)
    try:
        shard_dir.rmdir()
    except OSError:
        pass  # something else is in it: not ours to delete


def failure_line(exc: BaseException) -> str:
    """What went wrong on the cluster, in one line: the innermost error the user's code raised
    (an actor's own traceback ends with it when Ray passes no cause object along)."""
    inner: BaseException | None = exc
    while inner is not None:
        cause = getattr(inner, "cause", None) or inner.__cause__
        if cause is None or cause is inner:
            break
        inner = cause
    if inner is not None and not type(inner).__module__.startswith("ray") and str(inner).strip():
        return f"{type(inner).__name__}: {first_line(inner)}"
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    errors = [
        line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Exception): ", line) and not line.startswith("ray.")
    ]
    return errors[-1] if errors else first_line(exc)


def _read_shards(
    shard_dir: Path, shards: Sequence[Shard], records: dict[str, dict]
) -> tuple[tuple[Category, ...], dict[str, CocoImage]]:
    """The shards' categories (the same in every shard) and the images they labelled, by name
    (a shard without a labelled image has no COCO file)."""
    categories: tuple[Category, ...] = ()
    new: dict[str, CocoImage] = {}
    for shard in shards:
        if records[shard.key]["labeled"]:
            dataset = read_coco(shard_dir / shard.coco_name)
            categories = dataset.categories
            new.update((image.file_name, image) for image in dataset.images)
    return categories, new


def merge_shards(existing: CocoDataset, on_disk: Sequence[str], new: dict[str, CocoImage]) -> CocoDataset:
    """The shards' images merged by the single-process rule (`prelabel.merge_labeled`); a relabelled image
    keeps its existing id and extra keys, and its objects are indexed by the merged category list."""
    old = {img.file_name: img for img in existing.images}
    names_all = existing.category_names
    relabeled = {}
    for name, image in new.items():
        previous = old.get(name)
        relabeled[name] = CocoImage(
            name,
            image.width,
            image.height,
            image.instances.with_class_names(names_all),
            previous.id if previous else None,
            previous.extra if previous else {},
        )
    return merge_labeled(existing, on_disk, relabeled)
