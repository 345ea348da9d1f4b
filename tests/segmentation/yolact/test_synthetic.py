"""The seeded synthetic-checkpoint builder reproduces the documented generator, so the reference fixtures apply."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from protolabel.segmentation.yolact.checkpoint import load_yolact, read_state_dict
from protolabel.segmentation.yolact.config import CONFIGS
from protolabel.segmentation.yolact.synthetic import (
    checkpoint_manifest,
    synthetic_state_dict,
    write_synthetic_checkpoint,
)
from tests.conftest import SHARED_DIR, fixture_path

GENERATOR = SHARED_DIR / "tools" / "make_checkpoint.py"


def _digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's key, dtype, shape and bytes, in order (how generator-digests.json was made)."""
    h = hashlib.sha256()
    for key, tensor in state.items():
        h.update(key.encode())
        h.update(str(tensor.dtype).encode())
        h.update(repr(tuple(tensor.shape)).encode())
        h.update(tensor.contiguous().numpy().tobytes())
    return h.hexdigest()


@pytest.mark.parametrize(
    "config,seed", [("yolact_resnet50", 0), ("yolact_plus_resnet50", 1), ("yolact_edge_vid_resnet50", 0)]
)
def test_builder_equals_the_documented_generator_tensor_for_tensor(config, seed, tmp_path):
    """Against the digests recorded from the generator's own output; and, where ../shared is beside the
    checkout, against the generator run now, tensor for tensor (which also re-proves the recorded digest)."""
    path = write_synthetic_checkpoint(tmp_path / f"{config}_{seed}_0.pth", config, seed)
    ours = torch.load(path, weights_only=True)
    recorded = json.loads(fixture_path("generator-digests.json").read_text())[f"{config}:{seed}"]
    assert _digest(ours) == recorded
    if GENERATOR.is_file():
        manifest = fixture_path("checkpoint-keys", f"{config}.json")
        out = tmp_path / f"generator_{config}_{seed}.pth"
        subprocess.run(
            [sys.executable, str(GENERATOR), str(manifest), "--seed", str(seed), "--out", str(out)],
            check=True,
            capture_output=True,
        )
        expected = torch.load(out, weights_only=True)
        assert list(ours) == list(expected)  # same keys in the same order
        for key, tensor in expected.items():
            assert ours[key].dtype == tensor.dtype and ours[key].shape == tensor.shape, key
            assert torch.equal(ours[key], tensor), key
        assert _digest(expected) == recorded


# Configs of the original without a released checkpoint: no official manifest to compare with.
UNRELEASED = {"yolact_edge_youtubevis", "yolact_edge_youtubevis_resnet50", "yolact_edge_vid_minimal"}


def test_manifest_is_the_official_one_for_every_config():
    assert {n for n in CONFIGS if not fixture_path("checkpoint-keys", f"{n}.json").is_file()} == UNRELEASED
    for name in sorted(set(CONFIGS) - UNRELEASED):
        official = json.loads(fixture_path("checkpoint-keys", f"{name}.json").read_text())
        ours = [(k, list(s), str(d).removeprefix("torch.")) for k, s, d in checkpoint_manifest(name)]
        assert ours == [(k, list(s), d) for k, s, d in official], name


def test_seed_changes_the_weights_and_the_same_seed_repeats_them():
    a, b, c = (synthetic_state_dict("yolact_resnet50", seed) for seed in (3, 3, 4))
    key = "prediction_layers.0.mask_layer.weight"
    assert torch.equal(a[key], b[key]) and not torch.equal(a[key], c[key])


def test_generator_rules_hold_on_the_built_tensors():
    """Spot checks of the documented rules, from the tensors alone (an oracle independent of the drawing code)."""
    state = synthetic_state_dict("yolact_resnet50", 0)
    assert all(int(v) == 0 for k, v in state.items() if k.endswith("num_batches_tracked"))
    var = state["backbone.layers.0.0.bn1.running_var"]
    assert float(var.min()) >= 0.5 and float(var.max()) <= 1.5
    gamma = state["backbone.layers.0.0.bn3.weight"]  # closes a residual branch: g = 0.2
    assert abs(float(gamma.mean()) - 0.2) < 0.01
    conf = state["prediction_layers.0.conf_layer.weight"].reshape(3, 81, -1).double()
    fan_in = conf.shape[-1]
    np.testing.assert_allclose(conf[:, 0].numpy(), 0.05 * np.sqrt(2 / fan_in), rtol=1e-6)  # background rows
    np.testing.assert_allclose(conf[:, 1:].mean(dim=-1).numpy(), 0, atol=1e-7)  # rows are centred
    live, dead = conf[:, 1].std(), conf[:, 2].std()
    assert 15 < float(live / dead) < 35  # gains 0.5 vs 0.02
    bias = state["prediction_layers.0.conf_layer.bias"].reshape(3, 81)
    assert float(bias[:, [c for c in range(81) if c and c % 10 != 1]].mean()) < -5


def test_video_configs_take_the_class_period_from_the_manifest_and_start_flow_scales_near_one():
    """Rules R7/R8 with 41 classes (live channels c % 41 % 10 == 1) and R8a/R8b, checked on the tensors."""
    state = synthetic_state_dict("yolact_edge_vid_resnet50", 0)
    bias = state["prediction_layers.0.conf_layer.bias"].reshape(3, 41)
    dead = [c for c in range(41) if c and c % 10 != 1]
    assert float(bias[:, dead].mean()) < -5 and float(bias[:, [1, 11, 21, 31]].mean()) > -1
    conf = state["prediction_layers.0.conf_layer.weight"].reshape(3, 41, -1)
    assert torch.unique(conf[:, 0]).numel() == 1  # background rows are a constant
    scale = state["flow_net.pred2.scale.bias"]
    assert abs(float(scale.mean()) - 1) < 0.02 and float(scale.std()) < 0.1


def test_written_checkpoint_loads_through_the_official_path(tmp_path):
    path = write_synthetic_checkpoint(tmp_path / "yolact_resnet50_0_0.pth", "yolact_resnet50", 2)
    model, info = load_yolact(path)
    assert info.config.name == "yolact_resnet50"
    state = read_state_dict(path)
    assert torch.equal(model.state_dict()["fpn.lat_layers.0.weight"], state["fpn.lat_layers.0.weight"])


def test_unknown_config_is_refused():
    with pytest.raises(ValueError, match="unknown config 'yolact_huge'"):
        checkpoint_manifest("yolact_huge")


def test_released_layout_adds_the_leftover_layer_which_the_loader_drops(tmp_path):
    """Shaped like the released files (spec section 11): the model's own tensors unchanged, plus
    fpn.downsample_layers.2.* (2,360,320 bytes, the spec's figure) that loading ignores."""
    plain = synthetic_state_dict("yolact_resnet50", 0)
    released = synthetic_state_dict("yolact_resnet50", 0, released=True)
    extra = [k for k in released if k not in plain]
    assert extra == ["fpn.downsample_layers.2.weight", "fpn.downsample_layers.2.bias"]
    assert sum(released[k].numel() * released[k].element_size() for k in extra) == 2_360_320
    assert list(released).index(extra[0]) == list(released).index("fpn.downsample_layers.1.bias") + 1
    assert all(torch.equal(plain[k], released[k]) for k in plain)
    path = write_synthetic_checkpoint(tmp_path / "yolact_resnet50_54_800000.pth", "yolact_resnet50", 0, released=True)
    assert set(read_state_dict(path)) == set(released)
    model, info = load_yolact(path)
    assert "fpn.downsample_layers.2.weight" not in model.state_dict()
    assert torch.equal(model.state_dict()["fpn.downsample_layers.1.weight"], plain["fpn.downsample_layers.1.weight"])
