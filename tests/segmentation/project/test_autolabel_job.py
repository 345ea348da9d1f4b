"""Auto-label jobs with a real (synthetic-weight) YOLACT checkpoint: results land in the store, people's work stays."""

from __future__ import annotations

import threading

import cv2
import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.autolabel import (
    AutoLabelJob,
    AutoLabelQueue,
    AutoLabelSettings,
    drop_duplicates_of,
)
from protolabel.segmentation.project.labels import ClassMapping
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore
from tests.memo_engine import MemoEngineCache


@pytest.fixture(scope="module")
def engines():
    return MemoEngineCache()


@pytest.fixture
def photo_folder(tmp_path, astronaut_bgr):
    folder = tmp_path / "photos"
    folder.mkdir()
    small = cv2.resize(astronaut_bgr, (96, 96), interpolation=cv2.INTER_AREA)
    for i in range(3):
        cv2.imwrite(str(folder / f"p{i}.png"), small)
    (folder / "broken.png").write_bytes(b"not a png")
    return folder


def _settings(checkpoint, **kw):
    return AutoLabelSettings(weights=checkpoint, device="cpu", score_threshold=0.0, top_k=20, **kw)


def test_job_labels_images_reports_failures_and_leaves_verified_alone(
    photo_folder, resnet50_checkpoint, engines, square
):
    with ProjectStore.open(photo_folder) as store:
        (verified,) = store.write_change(
            "p2.png", saved=[AnnotatedObject("tree", square(1, 1), Provenance.VERIFIED)], status=ImageStatus.VERIFIED
        )
    job = AutoLabelJob(photo_folder, ["p0.png", "broken.png", "p2.png"], _settings(resnet50_checkpoint), engines)
    done, failed, progress, devices = [], [], [], []
    job.events.image_done.connect(lambda n, o: done.append((n, o)))
    job.events.image_failed.connect(lambda n, r: failed.append((n, r)))
    job.events.progress.connect(progress.append)
    job.events.engine_ready.connect(devices.append)
    summary = job.run()

    assert (summary.labelled, summary.skipped, summary.failed, summary.cancelled) == (1, 1, 1, False)
    assert devices == ["cpu"]
    assert [n for n, _ in done] == ["p0.png", "p2.png"]
    assert failed[0][0] == "broken.png" and "broken.png" in failed[0][1]
    assert [p.done for p in progress] == [1, 2, 3] and progress[-1].eta_s == 0.0
    with ProjectStore.open(photo_folder) as store:
        objects = store.objects("p0.png")
        assert 0 < len(objects) <= 20
        assert all(o.provenance is Provenance.AUTO and o.score is not None for o in objects)
        assert all(not o.shape.is_empty() for o in objects)
        assert store.status("p0.png") is ImageStatus.AUTO_LABELED
        assert store.image_size("p0.png") == (96, 96)
        assert store.objects("p2.png") == [verified]
        assert store.status("broken.png") is ImageStatus.UNLABELED


def test_class_mapping_filters_and_renames(photo_folder, resnet50_checkpoint, engines):
    job = AutoLabelJob(photo_folder, ["p0.png"], _settings(resnet50_checkpoint), engines)
    job.run()
    with ProjectStore.open(photo_folder) as store:
        model_labels = {o.label for o in store.objects("p0.png")}
    renamed_class = sorted(model_labels)[0]
    mapping = ClassMapping(keep=frozenset({renamed_class}), rename={renamed_class: "thing"})
    AutoLabelJob(photo_folder, ["p1.png"], _settings(resnet50_checkpoint, mapping=mapping), engines).run()
    with ProjectStore.open(photo_folder) as store:
        labels = [o.label for o in store.objects("p1.png")]
    assert labels and set(labels) == {"thing"}
    mapping = ClassMapping(keep=frozenset({"no such class"}))
    AutoLabelJob(photo_folder, ["p1.png"], _settings(resnet50_checkpoint, mapping=mapping), engines).run()
    with ProjectStore.open(photo_folder) as store:
        assert store.objects("p1.png") == []  # old auto objects replaced by nothing


def test_rerun_keeps_edited_objects_and_drops_their_duplicates(photo_folder, resnet50_checkpoint, engines):
    settings = _settings(resnet50_checkpoint)
    AutoLabelJob(photo_folder, ["p0.png"], settings, engines).run()
    with ProjectStore.open(photo_folder) as store:
        first = store.objects("p0.png")
        edited = first[0].with_changes(provenance=Provenance.EDITED, label="mine")
        store.write_change("p0.png", saved=[edited], status=ImageStatus.EDITED)
    AutoLabelJob(photo_folder, ["p0.png"], settings, engines).run()
    with ProjectStore.open(photo_folder) as store:
        objects = store.objects("p0.png")
        assert objects[0] == edited
        assert len(objects) == len(first)  # the same detection again was dropped as the edited object's duplicate
        assert store.status("p0.png") is ImageStatus.EDITED


def test_a_rerun_does_not_bring_back_an_object_a_person_rejected_until_the_reject_is_undone(
    photo_folder, resnet50_checkpoint, engines
):
    from protolabel.segmentation.project.document import ImageAnnotations

    settings = _settings(resnet50_checkpoint)
    AutoLabelJob(photo_folder, ["p0.png"], settings, engines).run()
    with ProjectStore.open(photo_folder) as store:  # the window's store; a job writes through its own
        document = ImageAnnotations(store, "p0.png")
        first = document.objects
        rejected = first[0]
        applied = document.apply(document.reject_objects([rejected.id]))  # N on the first object
        AutoLabelJob(photo_folder, ["p0.png"], settings, engines).run()  # the same model, the same detections
        again = store.objects("p0.png")
        assert len(again) == len(first) - 1
        assert not any(o.label == rejected.label and o.shape == rejected.shape for o in again)
        document.reload()
        document.apply(applied.inverted())  # Ctrl+Z: the rejected object comes back, and is no longer rejected
        assert store.rejected_shapes("p0.png") == []
        AutoLabelJob(photo_folder, ["p0.png"], settings, engines).run()
        assert len(store.objects("p0.png")) == len(first)


def test_drop_duplicates_uses_overlap(square):
    kept = [AnnotatedObject("a", square(0, 0, 10))]
    same = AnnotatedObject("b", square(1, 0, 10))  # IoU 9/11
    other = AnnotatedObject("c", square(6, 0, 10))  # IoU 4/16
    assert drop_duplicates_of([same, other], [o.shape for o in kept]) == [other]


def test_cancel_stops_after_the_current_batch(photo_folder, resnet50_checkpoint, engines):
    job = AutoLabelJob(photo_folder, ["p0.png", "p1.png", "p2.png"], _settings(resnet50_checkpoint), engines)
    job.events.image_done.connect(lambda n, o: job.cancel())
    summary = job.run()
    assert summary.cancelled and summary.labelled == 1
    with ProjectStore.open(photo_folder) as store:
        assert store.status("p1.png") is ImageStatus.UNLABELED


def test_bad_weights_finish_with_a_message(photo_folder, tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"junk")
    finished = []
    job = AutoLabelJob(photo_folder, ["p0.png"], AutoLabelSettings(weights=bad, device="cpu"))
    job.events.finished.connect(finished.append)
    summary = job.run()
    assert summary.error and "bad.pth" in summary.error and finished == [summary]


def test_queue_runs_jobs_in_order_in_a_worker_thread(photo_folder, resnet50_checkpoint, engines):
    queue = AutoLabelQueue()
    order = []
    queue.events.job_finished.connect(lambda job, summary: order.append((job.names, summary.labelled)))
    queue.submit(AutoLabelJob(photo_folder, ["p0.png"], _settings(resnet50_checkpoint), engines))
    queue.submit(AutoLabelJob(photo_folder, ["p1.png"], _settings(resnet50_checkpoint), engines))
    assert queue.busy
    worker = threading.Thread(target=queue.run_pending)
    worker.start()
    worker.join(timeout=120)
    assert order == [(["p0.png"], 1), (["p1.png"], 1)]
    assert not queue.busy


def test_jobs_with_different_thresholds_share_one_engine_at_once(tmp_path, astronaut_bgr, resnet50_checkpoint):
    """Two jobs on one EngineCache, in two threads: each stores what it stores when it runs alone."""
    from protolabel.segmentation.project.autolabel import EngineCache

    image = cv2.resize(astronaut_bgr, (96, 96), interpolation=cv2.INTER_AREA)
    settings = {
        "strict": AutoLabelSettings(weights=resnet50_checkpoint, device="cpu", score_threshold=0.2, top_k=3),
        "loose": AutoLabelSettings(weights=resnet50_checkpoint, device="cpu", score_threshold=0.0, top_k=20),
    }
    cache = EngineCache()

    def run(kind, run_name, start=None):
        folder = tmp_path / run_name / kind
        folder.mkdir(parents=True)
        cv2.imwrite(str(folder / "a.png"), image)
        job = AutoLabelJob(folder, ["a.png"], settings[kind], cache)
        if start is not None:
            start.wait()
        job.run()
        with ProjectStore.open(folder) as store:
            return [(o.label, o.score, o.shape) for o in store.objects("a.png")]

    alone = {kind: run(kind, "alone") for kind in settings}
    assert len(alone["strict"]) < len(alone["loose"])  # the settings make a difference on this image
    start, together = threading.Barrier(2), {}
    threads = [
        threading.Thread(target=lambda k=kind: together.__setitem__(k, run(k, "together", start))) for kind in settings
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together.keys() == alone.keys()
    for kind in settings:
        assert together[kind] == alone[kind]  # labels, scores and shapes (Shape compares its vertices)


def test_a_class_renamed_in_the_project_stays_renamed_in_the_next_run(photo_folder, resnet50_checkpoint, engines):
    """Issue 20 (W1): renaming toaster -> kettle, then labelling another image, brought 'toaster' back."""
    from protolabel.segmentation.project.project import Project

    AutoLabelJob(photo_folder, ["p0.png"], _settings(resnet50_checkpoint), engines).run()
    project = Project.open(photo_folder)
    try:
        model_class = sorted(project.class_counts())[0]
        project.rename_class(model_class, "kettle")
        settings = _settings(resnet50_checkpoint, mapping=project.class_mapping)
    finally:
        project.close()
    AutoLabelJob(photo_folder, ["p1.png"], settings, engines).run()  # the same picture: the same detections
    with ProjectStore.open(photo_folder) as store:
        labels = {o.label for o in store.objects("p1.png")}
        listed = store.setting("labels")
    assert "kettle" in labels and model_class not in labels
    assert model_class not in listed


def test_loading_the_model_is_announced_only_when_the_engine_is_loaded(monkeypatch, image_folder, tmp_path):
    """Issue 20: "Loading the model…" showed on every run, though the engine cache kept the model."""
    from protolabel.segmentation import engine
    from protolabel.segmentation.project.autolabel import AutoLabelJob, AutoLabelSettings, EngineCache

    built = []

    class _Engine:  # stands in for YolactEngine: no checkpoint is read
        device = "cpu"

        def __init__(self, weights, config, device, backend=None, onnx_cache_dir=None):
            built.append((weights, device))

        def predict(self, images, settings=None):
            raise RuntimeError("not needed: the test stops at the first image")

    monkeypatch.setattr(engine, "YolactEngine", _Engine)
    cache = EngineCache()
    weights = tmp_path / "model.pth"

    def announced(device: str) -> int:
        job = AutoLabelJob(image_folder, ["img1.png"], AutoLabelSettings(weights=weights, device=device), cache)
        loading = []
        job.events.loading_model.connect(lambda: loading.append(True))
        job.run()
        return len(loading)

    assert announced("cpu") == 1  # first run: the model is loaded
    assert announced("cpu") == 0  # same model: the cached engine, nothing to load
    assert announced("cuda:0") == 1  # another device: loaded again
    assert len(built) == 2
