"""The pipelined folder run: the same output as the sequential run, byte for byte, in order, bounded, and no
worker process left behind when it stops early."""

from __future__ import annotations

import multiprocessing
import os
import select
import shutil
import subprocess
import sys
import threading
import time
from contextlib import closing

import cv2
import numpy as np
import pytest

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.images import ImageReadError
from protolabel.segmentation.pipeline import run_pipeline, workers_for
from protolabel.segmentation.prelabel import prelabel_folder, scan_folder
from tests.conftest import make_checkpoint
from tests.memo_engine import MemoEngine, MemoEngineCache

CONFIG = "yolact_resnet50_im128"  # the synthetic resnet50 weights at a small input size: CPU-cheap


# --- a real folder and the real model -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    """Five scikit-image photos of mixed sizes, formats and channels, and one corrupt file in the middle."""
    from skimage import data

    root = tmp_path_factory.mktemp("pipeline") / "photos"
    (root / "sub").mkdir(parents=True)
    bgr = lambda rgb: np.ascontiguousarray(rgb[:, :, ::-1])  # noqa: E731
    cv2.imwrite(str(root / "a1.png"), cv2.resize(bgr(data.astronaut()), (96, 96), interpolation=cv2.INTER_AREA))
    cv2.imwrite(str(root / "a2.jpg"), cv2.resize(bgr(data.coffee()), (150, 100), interpolation=cv2.INTER_AREA))
    (root / "a3.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    cv2.imwrite(str(root / "a4.png"), cv2.resize(data.camera(), (80, 110), interpolation=cv2.INTER_AREA))  # gray
    cv2.imwrite(str(root / "a10.png"), bgr(data.chelsea())[100:220, 150:310])  # a crop, 160 x 120
    cv2.imwrite(str(root / "sub" / "rocket.png"), cv2.resize(bgr(data.rocket()), (72, 120)))
    return root


@pytest.fixture(scope="module")
def memo_engines():
    """One engine per option set, each image predicted once: both runs of a comparison get the same detections
    from the real model, so what differs is only how the pipeline decodes, post-processes and orders."""
    engines: dict = {}

    def engine_from_args(args):
        from protolabel.segmentation.cli import engine_from_args as build

        key = (args.weights, args.config, args.device, args.score_threshold, args.top_k, args.nms)
        if key not in engines:
            engines[key] = _MemoCommandEngine(build(args))
        return engines[key]

    return engine_from_args


class _MemoCommandEngine(MemoEngine):
    """MemoEngine with the rest of the engine's attributes (class names, info) for the commands."""

    def __getattr__(self, name):
        return getattr(self.engine, name)


def _no_new_workers(before: set) -> bool:
    return not [p for p in multiprocessing.active_children() if p.pid not in before]


def _children() -> set:
    return {p.pid for p in multiprocessing.active_children()}


def test_label_pipelined_writes_the_same_file_as_sequential(photo_folder, tmp_path, memo_engines, monkeypatch):
    import protolabel.segmentation.commands.label as label_command
    from protolabel.segmentation.cli import main

    monkeypatch.setattr(label_command, "engine_from_args", memo_engines)
    weights = str(make_checkpoint("yolact_resnet50", 0))
    files = {}
    for workers in ("0", "2"):
        out = tmp_path / f"workers{workers}" / "labels.json"
        out.parent.mkdir()
        assert (
            main(
                [
                    "label",
                    str(photo_folder),
                    "--weights",
                    weights,
                    "--config",
                    CONFIG,
                    "--device",
                    "cpu",
                    "--score-threshold",
                    "0",
                    "--top-k",
                    "8",
                    "--batch-size",
                    "2",
                    "--workers",
                    workers,
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        files[workers] = out.read_bytes()
    assert files["0"] == files["2"]
    from protolabel.segmentation.coco import read_coco

    dataset = read_coco(tmp_path / "workers2" / "labels.json")
    assert [img.file_name for img in dataset.images] == ["a1.png", "a2.jpg", "a4.png", "a10.png", "sub/rocket.png"]
    assert sum(len(img.instances) for img in dataset.images) > 0  # a comparison of something


@pytest.mark.cuda
def test_label_on_cuda_pipelined_writes_the_same_file_as_sequential(photo_folder, tmp_path, memo_engines, monkeypatch):
    import torch  # not at the top: the worker processes import this module for its post-processing functions

    import protolabel.segmentation.commands.label as label_command
    from protolabel.segmentation.cli import main

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    monkeypatch.setattr(label_command, "engine_from_args", memo_engines)
    weights = str(make_checkpoint("yolact_resnet50", 0))
    files = {}
    for workers in ("0", "3"):
        out = tmp_path / f"cuda{workers}.json"
        assert (
            main(
                [
                    "label",
                    str(photo_folder),
                    "--weights",
                    weights,
                    "--device",
                    "cuda",
                    "--score-threshold",
                    "0",
                    "--top-k",
                    "20",
                    "--batch-size",
                    "4",
                    "--workers",
                    workers,
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        files[workers] = out.read_bytes()
    assert files["0"] == files["3"] and b'"segmentation"' in files["0"]


def test_predict_on_a_folder_pipelined_writes_the_same_json(photo_folder, tmp_path, memo_engines, monkeypatch, capsys):
    import protolabel.segmentation.commands.predict as predict_command
    from protolabel.segmentation.cli import main

    monkeypatch.setattr(predict_command, "engine_from_args", memo_engines)
    weights = str(make_checkpoint("yolact_resnet50", 0))
    files = {}
    for workers in ("0", "2"):
        out = tmp_path / f"predict{workers}.json"
        assert (
            main(
                [
                    "predict",
                    "--weights",
                    weights,
                    "--config",
                    CONFIG,
                    "--device",
                    "cpu",
                    "--top-k",
                    "8",
                    "--batch-size",
                    "3",
                    "--workers",
                    workers,
                    "--out",
                    str(out),
                    str(photo_folder),
                ]
            )
            == 0
        )
        files[workers] = out.read_bytes()
        err = capsys.readouterr().err
        assert "a3.png" in err and "5 images processed, 1 skipped" in err
    assert files["0"] == files["2"] and len(files["0"]) > 1000


def test_autolabel_job_pipelined_stores_the_same_objects(photo_folder, tmp_path):
    from protolabel.segmentation.project.autolabel import AutoLabelJob, AutoLabelSettings
    from protolabel.segmentation.project.store import ProjectStore

    engines = MemoEngineCache()
    names = [name for name, _ in scan_folder(photo_folder).images]
    stored = {}
    for workers in (0, 2):
        folder = tmp_path / f"project{workers}"
        shutil.copytree(photo_folder, folder)
        settings = AutoLabelSettings(
            weights=make_checkpoint("yolact_resnet50", 0),
            config=CONFIG,
            device="cpu",
            score_threshold=0.0,
            top_k=8,
            batch_size=2,
            workers=workers,
        )
        done, failed = [], []
        job = AutoLabelJob(folder, names, settings, engines)
        job.events.image_done.connect(lambda name, outcome: done.append(name))  # noqa: B023 run() below calls it
        job.events.image_failed.connect(lambda name, reason: failed.append(name))  # noqa: B023 likewise
        summary = job.run()
        assert (summary.labelled, summary.failed, summary.error) == (5, 1, None)
        assert done == [n for n in names if n != "a3.png"] and failed == ["a3.png"]  # events in input order
        with ProjectStore.open(folder) as store:
            stored[workers] = {
                name: (store.objects(name), store.status(name), store.image_size(name)) for name in names
            }
    assert sum(len(objects) for objects, _, _ in stored[0].values()) > 0
    for name in names:
        objects0, status0, size0 = stored[0][name]
        objects2, status2, size2 = stored[2][name]
        assert (status0, size0) == (status2, size2)
        assert [(o.label, o.provenance, o.score) for o in objects0] == [
            (o.label, o.provenance, o.score) for o in objects2
        ]
        assert all(a.shape == b.shape for a, b in zip(objects0, objects2))


# --- the runner with stand-ins: order, bounds, stopping -------------------------------------------------------


def fake_read(path) -> np.ndarray:
    """A 'decoded image' whose pixels hold its number; names starting with 'bad' are unreadable."""
    name = path.name
    if name.startswith("bad"):
        raise ImageReadError(f"{path}: not an image or the file is corrupt")
    return np.full((4 + int(name) % 3, 5, 3), int(name) % 256, np.uint8)


def fake_predict(images) -> list[Detections]:
    out = []
    for image in images:
        h, w = image.shape[:2]
        masks = np.zeros((1, h, w), bool)
        masks[0, : h // 2] = True
        out.append(
            Detections(
                image_size=(h, w),
                classes=np.array([0]),
                scores=np.array([image[0, 0, 0] / 255], np.float32),
                boxes=np.zeros((1, 4), np.float32),
                boxes_rel=np.zeros((1, 4), np.float32),
                masks=masks,
                coefficients=np.zeros((1, 2), np.float32),
                prototypes=np.ones((3, 3, 2), np.float32),
                class_names=("thing",),
                category_ids=(1,),
            )
        )
    return out


def value_and_prototype_size(name: str, detections: Detections) -> tuple[str, float, int]:
    """The post-processing of the stand-in runs: what came in, and proof that the prototypes did not travel."""
    return name, float(detections.scores[0]), int(detections.prototypes.size)


def fails_on_seven(name: str, detections: Detections):
    if name == "7":
        raise ValueError("post-processing failed on 7")
    return name


def items(n: int, bad: tuple[int, ...] = ()):
    from pathlib import Path

    return [(str(i), Path(f"bad{i}" if i in bad else str(i))) for i in range(n)]


@pytest.mark.parametrize("workers", [0, 2])
def test_results_come_in_input_order_with_unreadable_images_as_errors(workers):
    results = list(
        run_pipeline(
            items(23, bad=(4, 5, 17)),
            fake_predict,
            lambda: value_and_prototype_size,
            batch_size=3,
            workers=workers,
            read=fake_read,
        )
    )
    assert [r.index for r in results] == list(range(23)) and [r.name for r in results] == [str(i) for i in range(23)]
    for r in results:
        if r.index in (4, 5, 17):
            assert r.value is None and r.image_size is None and f"bad{r.index}" in r.error
        else:
            assert r.error is None and r.value == (str(r.index), pytest.approx(r.index / 255), 0)
            assert r.image_size == (4 + r.index % 3, 5)
    assert [r.index for r in results if r.last_in_batch] == [2, 5, 8, 11, 14, 17, 20, 22]
    assert [r.batch for r in results] == [i // 3 for i in range(23)]


def test_sequential_run_uses_no_pool_and_no_thread():
    """workers=0: reading, the model and the post-processing all run here (a lambda need not be picklable)."""
    here = threading.get_ident()
    seen = []

    def read(path):
        seen.append(threading.get_ident())
        return fake_read(path)

    before = _children()
    results = list(
        run_pipeline(
            items(5), fake_predict, lambda: lambda name, det: threading.get_ident(), batch_size=2, workers=0, read=read
        )
    )
    assert set(seen) == {here} and {r.value for r in results} == {here}
    assert _children() == before


def test_in_flight_work_is_bounded_while_the_consumer_is_slow():
    """A 1000-image input: however slow the consumer, only a few images are read and predicted ahead of it."""
    counts = {"read": 0, "predicted": 0}
    lock = threading.Lock()

    def read(path):
        with lock:
            counts["read"] += 1
        return fake_read(path)

    def predict(images):
        counts["predicted"] += len(images)
        return fake_predict(images)

    batch_size, workers, max_post = 4, 2, 3
    results = run_pipeline(
        items(1000),
        predict,
        lambda: value_and_prototype_size,
        batch_size=batch_size,
        workers=workers,
        max_postprocessing=max_post,
        read=read,
    )
    consumed = 0
    with closing(results):
        for _ in results:
            consumed += 1
            if consumed in (1, 40):
                time.sleep(1.0)  # unbounded stages would read and predict hundreds of images meanwhile
                # decoded ahead: the batch at the model, two more batches and 2; predicted ahead: the
                # post-processing limit and a batch
                assert counts["read"] - consumed <= 3 * batch_size + 2 + max_post
                assert counts["predicted"] - consumed <= max_post + batch_size
            if consumed == 60:
                break
    assert consumed == 60 and counts["read"] < 100


@pytest.mark.parametrize("workers", [0, 2])
def test_stop_finishes_the_batch_in_progress_and_nothing_after(workers):
    stop = threading.Event()
    names = []
    for result in run_pipeline(
        items(40),
        fake_predict,
        lambda: value_and_prototype_size,
        batch_size=4,
        workers=workers,
        read=fake_read,
        stop=stop,
    ):
        names.append(result.name)
        if result.index == 5:
            stop.set()
    assert names == [str(i) for i in range(8)]  # batch 1 (images 4-7) was in progress


def test_a_failing_model_fails_its_batch_when_asked_and_raises_otherwise():
    def predict(images):
        if any(image[0, 0, 0] == 4 for image in images):
            raise IndexError("index 0 is out of bounds")
        return fake_predict(images)

    results = list(
        run_pipeline(
            items(8),
            predict,
            lambda: value_and_prototype_size,
            batch_size=3,
            workers=2,
            read=fake_read,
            on_predict_error=lambda exc: f"inference failed: {exc}",
        )
    )
    assert [r.error is not None for r in results] == [False] * 3 + [True] * 3 + [False] * 2
    assert "out of bounds" in results[4].error
    before = _children()
    with pytest.raises(IndexError):
        list(run_pipeline(items(8), predict, lambda: value_and_prototype_size, batch_size=3, workers=2, read=fake_read))
    assert _no_new_workers(before)


def test_a_postprocessing_error_raises_in_order_and_leaves_no_worker():
    before = _children()
    seen = []
    with pytest.raises(ValueError, match="failed on 7"):
        for result in run_pipeline(
            items(30), fake_predict, lambda: fails_on_seven, batch_size=2, workers=2, read=fake_read
        ):
            seen.append(result.name)
    assert seen == [str(i) for i in range(7)]
    assert _no_new_workers(before)


def test_interruption_in_the_consumer_or_the_model_leaves_no_worker():
    before = _children()
    with pytest.raises(KeyboardInterrupt):
        with closing(
            run_pipeline(
                items(50), fake_predict, lambda: value_and_prototype_size, batch_size=2, workers=2, read=fake_read
            )
        ) as results:
            for result in results:
                if result.index == 3:
                    raise KeyboardInterrupt
    assert _no_new_workers(before)

    calls = []

    def predict(images):
        calls.append(len(images))
        if len(calls) == 4:
            raise KeyboardInterrupt
        return fake_predict(images)

    with pytest.raises(KeyboardInterrupt):
        list(
            run_pipeline(items(50), predict, lambda: value_and_prototype_size, batch_size=2, workers=2, read=fake_read)
        )
    assert _no_new_workers(before)


def test_prelabel_interrupted_while_pipelined_saves_what_it_has(tmp_path):
    from tests.segmentation.test_prelabel import FakeEngine, write_image

    root = tmp_path / "photos"
    for i in range(12):
        write_image(root / f"p{i}.png", 30 + i, 40)

    class StopsAtTheFifthBatch(FakeEngine):
        def predict(self, images):
            if len(self.calls) == 4:
                raise KeyboardInterrupt
            return super().predict(images)

    scan = scan_folder(root)
    before = _children()
    report = prelabel_folder(
        scan, tmp_path / "out.json", [n for n, _ in scan.images], StopsAtTheFifthBatch, batch_size=2, workers=2
    )
    assert report.interrupted and 0 < report.labeled <= 8
    assert _no_new_workers(before)
    from protolabel.segmentation.coco import read_coco

    assert len(read_coco(tmp_path / "out.json").images) == report.labeled


KILLED_PARENT = """
import multiprocessing, sys, time
from tests.segmentation.test_pipeline import fake_predict, fake_read, items, value_and_prototype_size
from protolabel.segmentation.pipeline import run_pipeline

for result in run_pipeline(items(10_000), fake_predict, lambda: value_and_prototype_size, batch_size=2, workers=2,
                           read=fake_read):
    if result.index == 3:
        print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
        time.sleep(600)
"""


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan's zombie waits for whoever reaps it here)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_leave_when_their_parent_is_killed():
    """A parent killed with SIGKILL cannot shut its pool down: the workers notice and exit on their own."""
    from tests.conftest import REPO_ROOT

    # stderr dropped: the killed parent's resource tracker reports the semaphores it had to clean up
    parent = subprocess.Popen(
        [sys.executable, "-c", KILLED_PARENT],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        ready, _, _ = select.select([parent.stdout], [], [], 120)
        assert ready, "the pipelined run did not start"
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(_running(pid) for pid in workers)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 60
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in workers)


def test_workers_default_by_folder_size_and_cores(monkeypatch):
    assert workers_for(0, 10_000) == 0 and workers_for(3, 1) == 3
    with pytest.raises(ValueError):
        workers_for(-1, 10)
    for cores, expected in ((1, 0), (2, 0), (3, 0), (4, 2), (16, 8), (64, 8)):
        monkeypatch.setattr(os, "cpu_count", lambda cores=cores: cores)
        assert workers_for(None, 1) == 0
        assert workers_for(None, 10_000) == expected, cores
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown: the sequential run
    assert workers_for(None, 10_000) == 0
