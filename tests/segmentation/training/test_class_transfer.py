import json

import pytest
import torch

from protolabel.segmentation.training.checkpoints import save_checkpoint
from protolabel.segmentation.training.transfer import CONF_LAYER, MASKIOU_LAST_LAYER, SEMANTIC_LAYER, prepare_model
from protolabel.segmentation.yolact.checkpoint import load_yolact, read_state_dict
from protolabel.segmentation.yolact.classes import COCO_CLASSES
from tests.conftest import fixture_path, make_checkpoint

CLASS_KEYS = {f"{layer}.{p}" for layer in (CONF_LAYER, SEMANTIC_LAYER, MASKIOU_LAST_LAYER) for p in ("weight", "bias")}


@pytest.fixture(scope="module")
def start_state(resnet50_checkpoint):
    return read_state_dict(resnet50_checkpoint)


def test_new_classes_keep_everything_but_the_class_layers(resnet50_checkpoint, start_state):
    model, info, report = prepare_model(resnet50_checkpoint, ("disc", "square"), seed=1)
    state = model.state_dict()
    assert info.config.num_classes == 3 and info.class_names == ("disc", "square")
    assert state[f"{CONF_LAYER}.weight"].shape == (3 * 3, 256, 3, 3)
    assert state[f"{SEMANTIC_LAYER}.weight"].shape == (2, 256, 1, 1)
    for key, value in state.items():
        if key not in CLASS_KEYS:
            assert torch.equal(value, start_state[key]), key
    assert torch.all(state[f"{CONF_LAYER}.bias"] == 0)  # fresh: Xavier weights, zero bias
    assert report.carried_over == () and report.fresh == ("disc", "square")
    assert set(report.reinitialised_layers) == {CONF_LAYER, SEMANTIC_LAYER}
    again, _, _ = prepare_model(resnet50_checkpoint, ("disc", "square"), seed=1)
    other, _, _ = prepare_model(resnet50_checkpoint, ("disc", "square"), seed=2)
    key = f"{CONF_LAYER}.weight"
    assert torch.equal(again.state_dict()[key], state[key]) and not torch.equal(other.state_dict()[key], state[key])


def test_classes_the_checkpoint_knows_by_name_keep_their_channels(resnet50_checkpoint, start_state):
    model, _, report = prepare_model(resnet50_checkpoint, ("unicorn", " Person"))
    state = model.state_dict()
    old_w, new_w = start_state[f"{CONF_LAYER}.weight"], state[f"{CONF_LAYER}.weight"]
    person = COCO_CLASSES.index("person") + 1
    for a in range(3):  # anchors per location: channel a * C + c
        assert torch.equal(new_w[a * 3 + 2], old_w[a * 81 + person])  # person -> new class 1
        assert torch.equal(new_w[a * 3 + 0], old_w[a * 81 + 0])  # background kept with it
        assert not torch.equal(new_w[a * 3 + 1], old_w[a * 81 + 1])  # unicorn is fresh
    assert torch.equal(state[f"{SEMANTIC_LAYER}.weight"][1], start_state[f"{SEMANTIC_LAYER}.weight"][person - 1])
    assert report.carried_over == (" Person",) and report.fresh == ("unicorn",)


def test_the_checkpoints_own_class_list_changes_nothing(resnet50_checkpoint, start_state):
    model, _, report = prepare_model(resnet50_checkpoint, COCO_CLASSES)
    assert report.reinitialised_layers == ()
    assert all(torch.equal(v, start_state[k]) for k, v in model.state_dict().items())


def test_saved_checkpoint_has_the_official_key_layout_and_loads_with_its_names(resnet50_checkpoint, tmp_path):
    model, info, _ = prepare_model(resnet50_checkpoint, ("disc", "square"), max_size=160)
    path = save_checkpoint(model, info.class_names, tmp_path / f"{info.config.name}_3_120.pth")
    manifest = json.loads(fixture_path("checkpoint-keys", "yolact_resnet50.json").read_text())
    saved = torch.load(path, weights_only=True)
    assert sorted(saved) == sorted(key for key, _, _ in manifest)  # the same names (loaders match by name)
    for key, shape, dtype in manifest:
        assert str(saved[key].dtype) == f"torch.{dtype}"
        if key not in CLASS_KEYS:
            assert list(saved[key].shape) == shape, key
    assert json.loads((tmp_path / f"{info.config.name}_3_120.classes.json").read_text()) == ["disc", "square"]
    loaded, loaded_info = load_yolact(path)
    assert loaded_info.config.name == "yolact_resnet50_im160" and loaded_info.config.max_size == 160
    assert loaded_info.class_names == ("disc", "square")
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in loaded.state_dict().items())


@pytest.mark.slow
def test_yolact_plus_also_resets_the_last_mask_rescoring_conv():
    path = make_checkpoint("yolact_plus_resnet50", 0)
    start = read_state_dict(path)
    model, info, report = prepare_model(path, ("disc", "square"))
    state = model.state_dict()
    assert MASKIOU_LAST_LAYER in report.reinitialised_layers
    assert state[f"{MASKIOU_LAST_LAYER}.weight"].shape == (2, 128, 1, 1)
    assert state[f"{CONF_LAYER}.weight"].shape == (9 * 3, 256, 3, 3)
    assert torch.equal(state["maskiou_net.maskiou_net.8.weight"], start["maskiou_net.maskiou_net.8.weight"])
    with pytest.raises(ValueError, match="at least 249"):
        prepare_model(path, ("disc", "square"), max_size=160)
