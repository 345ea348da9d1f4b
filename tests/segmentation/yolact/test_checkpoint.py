import json
import shutil

import numpy as np
import pytest
import torch

from protolabel.segmentation.engine import YolactEngine
from protolabel.segmentation.yolact.checkpoint import CheckpointError, infer_config, load_yolact, read_state_dict
from protolabel.segmentation.yolact.classes import COCO_CLASSES, YOUTUBE_VIS_CLASSES
from protolabel.segmentation.yolact.config import CONFIGS, config_name_from_filename
from protolabel.segmentation.yolact.model import Yolact
from tests.conftest import fixture_path, make_checkpoint

RELEASED = sorted(n for n in CONFIGS if fixture_path("checkpoint-keys", f"{n}.json").is_file())


@pytest.mark.parametrize("name", RELEASED)
def test_model_state_dict_matches_official_manifest(name):
    manifest = json.loads(fixture_path("checkpoint-keys", f"{name}.json").read_text())
    state = Yolact(CONFIGS[name]).state_dict()
    # same keys, shapes, dtypes and order: checkpoints we save (fine-tuning) and the synthetic builder's
    # (segmentation.yolact.synthetic, which takes its layout from the model) are laid out as the official ones
    ours = [(k, list(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in state.items()]
    assert ours == [(k, list(s), d) for k, s, d in manifest]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_config_loads_its_checkpoint_and_runs(name, astronaut_bgr):
    path = make_checkpoint(name, seed=0)
    model, info = load_yolact(path)
    assert info.config.name == name
    assert info.class_names == (YOUTUBE_VIS_CLASSES if CONFIGS[name].dataset == "youtube_vis" else COCO_CLASSES)
    state = read_state_dict(path)
    key = "prediction_layers.0.mask_layer.weight"
    assert torch.equal(model.state_dict()[key], state[key])
    engine = YolactEngine.from_model(model, info, device="cpu")
    det = engine.predict_image(astronaut_bgr[::4, ::4].copy())
    assert len(det) > 0 and det.masks.image_size == (128, 128)
    assert np.all(np.diff(det.scores) <= 0)


@pytest.mark.parametrize(
    "filename,expected",
    [
        ("yolact_base_54_800000.pth", "yolact_base"),
        ("yolact_plus_resnet50_54_800000.pth", "yolact_plus_resnet50"),
        ("yolact_im700_54_800000.pth", "yolact_im700"),
        ("yolact_darknet53.pth", "yolact_darknet53"),
        ("my_model.pth", None),
        ("yolact_base_54_800000_copy.pth", None),
        ("yolact_edge_54_800000.pth", "yolact_edge"),
        ("yolact_edge_resnet50_54_800000.pth", "yolact_edge_resnet50"),
        ("yolact_edge_vid_847_50000.pth", "yolact_edge_vid"),
        ("yolact_edge_vid_resnet50_847_50000.pth", "yolact_edge_vid_resnet50"),
    ],
)
def test_config_name_from_official_filename(filename, expected):
    assert config_name_from_filename(filename) == expected


def test_renamed_checkpoint_config_is_inferred_from_keys(resnet50_checkpoint, tmp_path):
    renamed = tmp_path / "best model (final).pth"
    shutil.copy(resnet50_checkpoint, renamed)
    _, info = load_yolact(renamed)
    assert info.config.name == "yolact_resnet50"


def test_custom_class_count_with_sidecar_names(resnet50_checkpoint, tmp_path):
    state = read_state_dict(resnet50_checkpoint)
    num_classes = 4  # background + 3
    w = state["prediction_layers.0.conf_layer.weight"]
    state["prediction_layers.0.conf_layer.weight"] = w[: 3 * num_classes].clone()
    state["prediction_layers.0.conf_layer.bias"] = state["prediction_layers.0.conf_layer.bias"][
        : 3 * num_classes
    ].clone()
    state["semantic_seg_conv.weight"] = state["semantic_seg_conv.weight"][:3].clone()
    state["semantic_seg_conv.bias"] = state["semantic_seg_conv.bias"][:3].clone()
    path = tmp_path / "weeds.pth"
    torch.save(state, path)
    _, info = load_yolact(path)
    assert info.config.num_classes == 4
    assert info.class_names == ("class_1", "class_2", "class_3") and info.category_ids == (1, 2, 3)
    (tmp_path / "weeds.classes.json").write_text(json.dumps(["thistle", "dock", "nettle"]))
    _, info = load_yolact(path)
    assert info.class_names == ("thistle", "dock", "nettle")


def test_truncated_file_gets_one_clear_error(resnet50_checkpoint, tmp_path):
    data = resnet50_checkpoint.read_bytes()
    broken = tmp_path / "yolact_resnet50_54_800000.pth"
    broken.write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match="truncated or not a PyTorch file"):
        load_yolact(broken)


@pytest.mark.parametrize(
    "payload",
    [b"", b"not a checkpoint at all", b"\x89PNG\r\n\x1a\n" + bytes(100), b"abc", b"\x80\x02", b"PK\x03\x04"],
)
def test_garbage_file_is_rejected(tmp_path, payload):
    path = tmp_path / "x.pth"
    path.write_bytes(payload)
    with pytest.raises(CheckpointError, match=str(path.name)):
        load_yolact(path)


class NotATensor:
    pass


def test_pickled_objects_are_refused_with_a_reason(tmp_path):
    path = tmp_path / "model.pth"
    torch.save({"model": NotATensor()}, path)
    with pytest.raises(CheckpointError, match="not a plain weights file"):
        load_yolact(path)


def test_dict_without_yolact_keys_is_rejected(tmp_path):
    path = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, path)
    with pytest.raises(CheckpointError, match="not a YOLACT checkpoint"):
        load_yolact(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="no such weights file"):
        load_yolact(tmp_path / "nope.pth")


def test_wrong_config_names_the_mismatching_keys(resnet50_checkpoint):
    with pytest.raises(CheckpointError) as err:
        load_yolact(resnet50_checkpoint, "yolact_base")
    assert "missing keys" in str(err.value) and "backbone.layers.2.6." in str(err.value)
    with pytest.raises(CheckpointError) as err:
        load_yolact(resnet50_checkpoint, "yolact_plus_resnet50")
    message = str(err.value)
    assert "YOLACT v1 checkpoint" in message and "shape mismatches" in message
    assert (
        "prediction_layers.0.bbox_layer.weight (file [12, 256, 3, 3], yolact_plus_resnet50 needs [36, 256, 3, 3])"
        in message
    )


def test_unknown_config_name():
    with pytest.raises(CheckpointError, match="unknown config 'yolact_huge'"):
        infer_config({}, None, "yolact_huge")


def test_legacy_keys_are_dropped_and_training_keys_tolerated(resnet50_checkpoint, tmp_path):
    state = read_state_dict(resnet50_checkpoint)
    state["backbone.layer1.0.conv1.weight"] = torch.zeros(1)  # pre-1.0 naming
    state["fpn.downsample_layers.2.weight"] = torch.zeros(1)  # v1.0 had more levels
    del state["semantic_seg_conv.weight"], state["semantic_seg_conv.bias"]
    for key in [k for k in state if k.endswith("num_batches_tracked")]:
        del state[key]
    path = tmp_path / "yolact_resnet50_1_2.pth"
    torch.save(state, path)
    model, _ = load_yolact(path)
    key = "backbone.layers.0.0.conv1.weight"
    assert torch.equal(model.state_dict()[key], state[key])
