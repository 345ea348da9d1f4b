"""`protolabel label --cluster ray` on a local Ray instance: the merged file is the single-process one."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import cv2
import pytest

from protolabel.segmentation.cli import main

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance for the module (starting one costs seconds)."""
    ray = pytest.importorskip("ray", reason='Ray is an optional extra: pip install -e ".[ray]"')
    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, logging_level="warning")
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory) -> Path:
    """Three scikit-image photos at a third of their size (one in a subfolder), a corrupt JPEG, a text file:
    with --shard-size 2, two shards, one of them holding the corrupt file."""
    from skimage import data

    root = tmp_path_factory.mktemp("cluster") / "photos"
    (root / "sub").mkdir(parents=True)
    small = lambda rgb: cv2.resize(rgb[:, :, ::-1], (rgb.shape[1] // 3, rgb.shape[0] // 3))  # noqa: E731
    for name, rgb in [
        ("astronaut.jpg", data.astronaut()),
        ("chat été.jpg", data.chelsea()),
        ("sub/coffee.png", data.coffee()),
    ]:
        ok, encoded = cv2.imencode(Path(name).suffix, small(rgb))
        assert ok
        encoded.tofile(str(root / name))
    (root / "sub" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (root / "notes.txt").write_text("not an image")
    return root


def _label(folder: Path, weights: Path, out: Path, *extra: str) -> int:
    return main(["label", str(folder), "--weights", str(weights), "--device", "cpu", "--out", str(out), *extra])


@contextlib.contextmanager
def one_torch_thread():
    """The reference run with one torch thread, as Ray gives a one-CPU actor (OMP_NUM_THREADS=1): float sums
    then run in the same order, so scores and masks agree to the last bit, not only to a tolerance."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _label_single_process(folder: Path, weights: Path, out: Path, *extra: str) -> int:
    with one_torch_thread():
        return _label(folder, weights, out, *extra)


CLUSTER = ("--cluster", "ray", "--cluster-workers", "2", "--shard-size", "2")


@pytest.fixture(scope="module")
def single_process(photo_folder, resnet50_checkpoint, tmp_path_factory) -> Path:
    """The reference: the same folder labelled by the ordinary single-process run."""
    out = tmp_path_factory.mktemp("single") / "annotations.json"
    assert _label_single_process(photo_folder, resnet50_checkpoint, out) == 0
    return out


def test_cluster_file_equals_single_process_file(
    local_ray, photo_folder, resnet50_checkpoint, single_process, tmp_path, capsys
):
    out = tmp_path / "annotations.json"
    assert _label(photo_folder, resnet50_checkpoint, out, *CLUSTER) == 0
    err = capsys.readouterr().err
    assert out.read_bytes() == single_process.read_bytes()
    assert "sub/corrupt.jpg" in err and "3 images labeled" in err and "1 unreadable" in err
    assert not (tmp_path / "annotations.json.shards").exists()  # deleted once the merged file is written


def test_interrupted_run_resumes_from_finished_shards(
    local_ray, photo_folder, resnet50_checkpoint, single_process, tmp_path, capsys, monkeypatch
):
    from protolabel.segmentation.commands import label

    def interrupt(self, done, total, name):
        raise KeyboardInterrupt  # Ctrl+C as the first shard's result reaches the driver

    out = tmp_path / "annotations.json"
    with monkeypatch.context() as patch:
        patch.setattr(label.ProgressLine, "__call__", interrupt)
        assert _label(photo_folder, resnet50_checkpoint, out, *CLUSTER) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not out.exists()
    shard_dir = tmp_path / "annotations.json.shards"
    assert list(shard_dir.glob("*.done.json"))
    (shard_dir / "my notes.txt").write_text("not a shard")

    assert _label(photo_folder, resnet50_checkpoint, out, *CLUSTER) == 0
    err = capsys.readouterr().err
    assert "shards done before" in err and "sub/corrupt.jpg" in err
    assert out.read_bytes() == single_process.read_bytes()
    assert [p.name for p in shard_dir.iterdir()] == ["my notes.txt"]  # the shards deleted, nothing else


def test_human_edits_and_existing_categories_are_kept_as_single_process_keeps_them(
    local_ray, photo_folder, resnet50_checkpoint, single_process, tmp_path, capsys
):
    data = json.loads(single_process.read_text(encoding="utf-8"))
    ids = {img["file_name"]: img["id"] for img in data["images"]}
    cleared = ids["chat été.jpg"]
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] != cleared]
    assert data["annotations"], "the synthetic model found nothing: the edit below needs an object"
    edited = data["annotations"][0]
    edited.update(segmentation=[[10, 10, 60, 10, 60, 40]], area=750.0, bbox=[10, 10, 50, 30], source="edited")
    data["categories"].append({"id": 500, "name": "my own class", "supercategory": ""})
    text = json.dumps(data)
    single, cluster = tmp_path / "single.json", tmp_path / "cluster.json"
    single.write_text(text, encoding="utf-8")
    cluster.write_text(text, encoding="utf-8")

    assert _label_single_process(photo_folder, resnet50_checkpoint, single, "--relabel-auto") == 0
    assert _label(photo_folder, resnet50_checkpoint, cluster, "--relabel-auto", *CLUSTER) == 0
    assert "labeling 3 of 4 images (1 already annotated" in capsys.readouterr().err
    assert cluster.read_bytes() == single.read_bytes()
    after = json.loads(cluster.read_text(encoding="utf-8"))
    kept = [a for a in after["annotations"] if a["source"] == "edited"]
    assert [a["segmentation"] for a in kept] == [[[10, 10, 60, 10, 60, 40]]]
    assert {"id": 500, "name": "my own class", "supercategory": ""} in after["categories"]


def test_without_ray_the_run_stops_with_the_install_command(
    photo_folder, resnet50_checkpoint, tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, as on a base install
    out = tmp_path / "annotations.json"
    assert _label(photo_folder, resnet50_checkpoint, out, "--cluster", "ray") == 2
    err = capsys.readouterr().err.strip()
    assert err == 'protolabel label: --cluster ray needs Ray, an optional extra: pip install -e ".[ray]"'
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--cluster", "spark"], "--cluster: expected 'ray' or 'ray://HOST:PORT', got 'spark'"),
        (["--shard-size", "4"], "--cluster-workers and --shard-size need --cluster"),
    ],
)
def test_bad_cluster_arguments_are_usage_errors(photo_folder, resnet50_checkpoint, tmp_path, capsys, argv, message):
    assert _label(photo_folder, resnet50_checkpoint, tmp_path / "out.json", *argv) == 2
    assert capsys.readouterr().err.strip() == f"protolabel label: {message}"
    assert list(tmp_path.iterdir()) == []


def test_a_node_without_the_weights_fails_in_one_line_and_keeps_the_shard_folder(local_ray, photo_folder, tmp_path):
    """The driver checked the weights, but a node that does not see them (no shared storage) fails the run."""
    import functools

    from protolabel.segmentation.cli import build_parser
    from protolabel.segmentation.cluster.ray_label import ClusterError, label_on_ray
    from protolabel.segmentation.commands.label import _engine_on, engine_options
    from protolabel.segmentation.prelabel import scan_folder

    missing = tmp_path / "not on this node" / "yolact_resnet50_0_0.pth"
    out = tmp_path / "annotations.json"
    options = engine_options(
        build_parser().parse_args(
            ["label", str(photo_folder), "--weights", str(missing), "--out", str(out), "--cluster", "ray"]
        )
    )
    scan = scan_folder(photo_folder)
    (tmp_path / "annotations.json.shards").mkdir()
    (tmp_path / "annotations.json.shards" / "my notes.txt").write_text("not a shard")
    with pytest.raises(ClusterError) as failed:
        label_on_ray(
            scan,
            out,
            ["astronaut.jpg"],
            functools.partial(_engine_on, options),
            device="cpu",
            actors=1,
            tolerance=1.0,
            min_area=4.0,
        )
    message = str(failed.value)
    assert "\n" not in message and message.startswith("the Ray run failed: ") and str(missing) in message
    assert "0 of 1 shards finished" in message
    assert not out.exists() and (tmp_path / "annotations.json.shards" / "my notes.txt").exists()
