"""Auto-label jobs whose model fails: the job ends with the reason, and the queue goes idle."""

from __future__ import annotations

import threading

from protolabel.segmentation.project.autolabel import AutoLabelJob, AutoLabelQueue, AutoLabelSettings, EngineCache
from protolabel.segmentation.project.records import ImageStatus
from protolabel.segmentation.project.store import ProjectStore


class _Engine:
    device = "cpu"

    def __init__(self, predict):
        self.predict = predict


class _StubEngines(EngineCache):
    """Hands out a stub engine: no checkpoint is loaded."""

    def __init__(self, predict):
        super().__init__()
        self.engine = _Engine(predict)

    def get(self, settings, on_load=None):
        return self.engine


def _nms_fails(images, settings=None):
    raise IndexError("index 0 is out of bounds for dimension 1 with size 0")  # what nms.py raised


def _settings(tmp_path):
    return AutoLabelSettings(weights=tmp_path / "model.pth", device="cpu")


def test_engine_exception_fails_the_images_and_the_job_ends(image_folder, tmp_path):
    names = ["img1.png", "img2.png"]
    job = AutoLabelJob(image_folder, names, _settings(tmp_path), _StubEngines(_nms_fails))
    failed, finished = [], []
    job.events.image_failed.connect(lambda n, r: failed.append((n, r)))
    job.events.finished.connect(finished.append)
    summary = job.run()
    assert (summary.labelled, summary.failed) == (0, 2)
    assert [n for n, _ in failed] == names
    assert all("inference failed" in r and "out of bounds" in r for _, r in failed)
    assert finished == [summary]
    with ProjectStore.open(image_folder) as store:
        assert store.status("img1.png") is ImageStatus.UNLABELED


def test_unexpected_error_after_inference_ends_the_job_with_an_error(image_folder, tmp_path):
    job = AutoLabelJob(
        image_folder, ["img1.png"], _settings(tmp_path), _StubEngines(lambda images, settings=None: [object()])
    )
    summary = job.run()
    assert summary.error is not None and "stopped after 0 of 1 images" in summary.error


def test_queue_goes_idle_when_a_job_raises(image_folder, tmp_path):
    queue = AutoLabelQueue()
    broken = AutoLabelJob(image_folder, ["img1.png"], _settings(tmp_path), _StubEngines(_nms_fails))

    def explode():
        raise RuntimeError("boom")

    broken.run = explode
    after = AutoLabelJob(image_folder, ["img2.png"], _settings(tmp_path), _StubEngines(_nms_fails))
    finished, idle = [], threading.Event()
    queue.events.job_finished.connect(lambda job, summary: finished.append((job, summary)))
    queue.events.idle.connect(idle.set)
    queue.submit(broken)
    queue.submit(after)
    worker = threading.Thread(target=queue.run_pending)
    worker.start()
    worker.join(timeout=30)
    assert idle.is_set() and not queue.busy
    assert [job for job, _ in finished] == [broken, after]
    assert "boom" in finished[0][1].error
    assert finished[1][1].failed == 1
