"""Loading YolactEdge checkpoints as released: config from the file name or the keys, both FPN namings,
the YouTube-VIS class names, and one clear message for a layout that does not fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from protolabel.segmentation.engine import YolactEngine
from protolabel.segmentation.yolact.checkpoint import CheckpointError, load_yolact, read_state_dict
from protolabel.segmentation.yolact.classes import COCO_CLASSES, YOUTUBE_VIS_CLASSES
from tests.conftest import make_checkpoint


def _fpn_renamed_to_yolact(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The same weights under YOLACT's single-module FPN names (`fpn.*`)."""
    return {k.replace("fpn_phase_1.", "fpn.").replace("fpn_phase_2.", "fpn."): v for k, v in state.items()}


def test_youtube_vis_names_ship_with_the_package():
    assert len(YOUTUBE_VIS_CLASSES) == 40
    assert YOUTUBE_VIS_CLASSES[:3] == ("person", "giant_panda", "lizard")
    assert YOUTUBE_VIS_CLASSES[-2:] == ("earless_seal", "tennis_racket")


def test_video_checkpoint_loads_with_its_released_name_and_youtube_vis_classes(tmp_path):
    state = read_state_dict(make_checkpoint("yolact_edge_vid_resnet50", 0))
    path = tmp_path / "yolact_edge_vid_resnet50_847_50000.pth"
    torch.save(state, path)
    model, info = load_yolact(path)
    assert info.config.name == "yolact_edge_vid_resnet50" and info.config.video and info.config.num_classes == 41
    assert info.class_names == YOUTUBE_VIS_CLASSES and info.category_ids == tuple(range(1, 41))
    own = model.state_dict()
    assert all(torch.equal(own[k], v) for k, v in state.items())  # every tensor, the unused flow branch too


@pytest.mark.parametrize("config", ["yolact_edge_vid_resnet50", "yolact_edge_resnet50"])
def test_both_fpn_namings_load_to_the_same_model(config, tmp_path):
    edge_names = read_state_dict(make_checkpoint(config, 0))
    assert any(k.startswith("fpn_phase_2.") for k in edge_names)
    path = tmp_path / f"{config}_1_1.pth"
    torch.save(_fpn_renamed_to_yolact(edge_names), path)
    model, info = load_yolact(path)
    assert info.config.name == config
    own = model.state_dict()
    assert all(torch.equal(own[k], v) for k, v in edge_names.items())


def test_config_is_inferred_from_the_keys_of_a_renamed_file(tmp_path):
    for config in ("yolact_edge_vid_resnet50", "yolact_edge_resnet50"):
        path = tmp_path / "my model (copy).pth"
        torch.save(read_state_dict(make_checkpoint(config, 0)), path)
        assert load_yolact(path)[1].config.name == config


def test_coco_yolact_edge_is_yolact_on_images(resnet50_engine, astronaut_bgr):
    """The released COCO YolactEdge file holds YOLACT's weights under the split FPN names, and gives YOLACT's
    detections (the original did: coco_equivalence.json); the YOLACT detections are graded against the
    original in test_reference_fixtures.py."""
    edge_path = make_checkpoint("yolact_edge_resnet50", 0)
    assert (
        _fpn_renamed_to_yolact(read_state_dict(edge_path)).keys()
        == read_state_dict(resnet50_engine.info.weights_path).keys()
    )
    edge = YolactEngine(edge_path, device="cpu")
    assert edge.info.config.name == "yolact_edge_resnet50" and edge.class_names == COCO_CLASSES
    ours, theirs = edge.predict_image(astronaut_bgr), resnet50_engine.predict_image(astronaut_bgr)
    assert len(ours) == len(theirs) == 100
    for field in ("classes", "scores", "boxes", "boxes_rel", "coefficients", "prototypes"):
        np.testing.assert_array_equal(getattr(ours, field), getattr(theirs, field), err_msg=field)
    assert all(np.array_equal(ours.masks.dense(i), theirs.masks.dense(i)) for i in range(len(ours)))


def test_video_config_without_flow_tensors_says_so(tmp_path):
    state = read_state_dict(make_checkpoint("yolact_edge_resnet50", 0))
    path = tmp_path / "yolact_edge_vid_resnet50_847_50000.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as err:
        load_yolact(path)
    message = str(err.value)
    assert message.startswith(f"{path}: does not match config yolact_edge_vid_resnet50")
    assert "no flow net / SPA tensors" in message and "flow_net." in message


def test_unused_flow_branch_is_optional(tmp_path):
    state = read_state_dict(make_checkpoint("yolact_edge_vid_resnet50", 0))
    state = {k: v for k, v in state.items() if not k.startswith(("flow_net.pred1.", "flow_net.upfeat2."))}
    path = tmp_path / "yolact_edge_vid_resnet50_2_2.pth"
    torch.save(state, path)
    assert load_yolact(path)[1].config.video


def test_wrong_layout_gets_the_usual_message(tmp_path):
    state = read_state_dict(make_checkpoint("yolact_edge_resnet50", 0))
    path = tmp_path / "yolact_edge_54_800000.pth"  # a ResNet-50 file under the ResNet-101 name
    torch.save(state, path)
    expected = r"does not match config yolact_edge: missing keys: backbone\.layers\.2\.6"
    with pytest.raises(CheckpointError, match=expected):
        load_yolact(path)


def test_auto_label_lists_the_youtube_vis_names():
    from protolabel.segmentation.project.autolabel import model_class_names

    assert model_class_names(make_checkpoint("yolact_edge_vid_resnet50", 0)) == YOUTUBE_VIS_CLASSES
