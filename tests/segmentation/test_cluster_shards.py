"""The cluster run's bookkeeping without Ray: shard plans, finished-shard records, actor sizing, error lines."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from protolabel.segmentation.cluster.ray_label import (
    ClusterError,
    Shard,
    actor_resources,
    failure_line,
    parse_cluster,
    plan_shards,
    read_done,
    remove_shards,
)
from protolabel.segmentation.coco.dataset import Category

NAMES = [f"img{i:02d}.jpg" for i in range(10)]


def test_shards_are_consecutive_runs_of_the_folder_order():
    shards = plan_shards(NAMES, "settings", (), shard_size=4)
    assert [s.names for s in shards] == [tuple(NAMES[0:4]), tuple(NAMES[4:8]), tuple(NAMES[8:10])]
    assert len({s.key for s in shards}) == 3


def test_a_shard_key_changes_with_its_names_the_settings_and_the_starting_categories():
    key = plan_shards(NAMES[:4], "settings", ())[0].key
    assert plan_shards(NAMES[:4], "settings", ())[0].key == key  # the same run plans the same shard
    assert plan_shards(NAMES[1:5], "settings", ())[0].key != key
    assert plan_shards(NAMES[:4], "other weights", ())[0].key != key
    assert plan_shards(NAMES[:4], "settings", (Category(3, "cat"),))[0].key != key


def _done(tmp_path, shard: Shard, record: dict, coco: bool) -> None:
    (tmp_path / shard.done_name).write_text(json.dumps(record), encoding="utf-8")
    if coco:
        (tmp_path / shard.coco_name).write_text("{}", encoding="utf-8")


def test_a_shard_counts_as_finished_only_with_its_record_and_its_file(tmp_path):
    shard = plan_shards(NAMES[:2], "settings", ())[0]
    record = {"names": NAMES[:2], "labeled": 2, "objects": 5, "failed": []}
    assert read_done(tmp_path, shard) is None
    _done(tmp_path, shard, record, coco=False)
    assert read_done(tmp_path, shard) is None  # labelled images but no COCO file: redo
    _done(tmp_path, shard, record, coco=True)
    assert read_done(tmp_path, shard) == record
    _done(tmp_path, shard, {**record, "names": NAMES[:1]}, coco=True)
    assert read_done(tmp_path, shard) is None  # another shard's record under this name
    (tmp_path / shard.done_name).write_text("{broken", encoding="utf-8")
    assert read_done(tmp_path, shard) is None


def test_a_shard_of_unreadable_files_is_finished_without_a_coco_file(tmp_path):
    shard = plan_shards(["broken.jpg"], "settings", ())[0]
    record = {"names": ["broken.jpg"], "labeled": 0, "objects": 0, "failed": ["broken.jpg: not an image"]}
    _done(tmp_path, shard, record, coco=False)
    assert read_done(tmp_path, shard) == record


def test_removing_shards_leaves_other_files_and_their_folder(tmp_path):
    shard = plan_shards(NAMES[:2], "settings", ())[0]
    _done(tmp_path, shard, {"names": NAMES[:2], "labeled": 2, "objects": 0, "failed": []}, coco=True)
    (tmp_path / f".{shard.coco_name}.x1y2.tmp").write_text("half written by a killed actor")
    (tmp_path / "notes.json").write_text("{}")
    remove_shards(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.json"]
    (tmp_path / "notes.json").unlink()
    remove_shards(tmp_path)
    assert not tmp_path.exists()


def _cluster(**resources):
    return SimpleNamespace(cluster_resources=lambda: resources)


@pytest.mark.parametrize(
    "device, resources, actors, expected",
    [
        ("auto", {"CPU": 32.0, "GPU": 4.0}, None, (4, {"num_gpus": 1}, "cuda")),  # one engine per GPU
        ("cuda:1", {"CPU": 32.0, "GPU": 4.0}, 2, (2, {"num_gpus": 1}, "cuda")),  # each actor sees its GPU as cuda:0
        ("cpu", {"CPU": 32.0, "GPU": 4.0}, None, (8, {"num_cpus": 4}, "cpu")),
        ("auto", {"CPU": 16.0}, None, (4, {"num_cpus": 4}, "cpu")),
        ("auto", {"CPU": 2.0}, 2, (2, {"num_cpus": 1}, "cpu")),
        ("auto", {"CPU": 2.0}, None, (1, {"num_cpus": 2}, "cpu")),
    ],
)
def test_actors_are_one_per_gpu_or_share_the_cpus(device, resources, actors, expected):
    assert actor_resources(_cluster(**resources), device, actors) == expected


def test_cuda_on_a_cluster_without_gpus_is_refused():
    with pytest.raises(ClusterError, match="--device cuda: the Ray cluster has no GPU"):
        actor_resources(_cluster(CPU=8.0), "cuda", None)


def test_cluster_values():
    assert parse_cluster("ray") is None
    assert parse_cluster("ray://head.example:10001") == "ray://head.example:10001"
    for bad in ("ray://", "spark", "ray:head", ""):
        with pytest.raises(ClusterError, match="expected 'ray' or 'ray://HOST:PORT'"):
            parse_cluster(bad)


class _RayError(Exception):
    """Stands for a Ray exception: Ray's types live in the `ray` package."""


_RayError.__module__ = "ray.exceptions"


def test_the_failure_line_is_the_users_error_not_rays_wrapper():
    carried = _RayError("task failed")
    carried.cause = FileNotFoundError("/data/w.pth: no such file")
    assert failure_line(carried) == "FileNotFoundError: /data/w.pth: no such file"
    # Ray Data passes only the formatted traceback along: its last line that is not Ray's own
    text = (
        '\x1b[36mray::MapWorker.submit()\x1b[39m (pid=1)\n  File "x.py", line 3, in predict\n'
        '    raise RuntimeError("CUDA out of memory")\nRuntimeError: CUDA out of memory\n'
        "ray.exceptions.UserCodeException: UDF failed to process a data block."
    )
    assert failure_line(_RayError(text)) == "RuntimeError: CUDA out of memory"
    assert failure_line(_RayError("node lost\ndetails")) == "node lost"
