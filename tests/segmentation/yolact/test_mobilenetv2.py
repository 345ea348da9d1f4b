"""The MobileNetV2 YolactEdge model: its released layout loads, its weights sit where their names say, and
its frames run (full on every frame; the C3 cut a non-keyframe would use).

The key manifest was produced by the original's own model code (tests/fixtures/checkpoint-keys/README.md);
test_checkpoint.py and test_synthetic.py compare our model's state_dict with it. There is no fixture of the
original's outputs for this model, so its fidelity rests on the functional oracle below.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from protolabel.segmentation.engine import YolactEngine
from protolabel.segmentation.video import SequenceRunner, VideoPathError
from protolabel.segmentation.yolact.checkpoint import CheckpointError, load_yolact, read_state_dict
from protolabel.segmentation.yolact.classes import COCO_CLASSES
from protolabel.segmentation.yolact.config import CONFIGS
from protolabel.segmentation.yolact.model import Yolact
from protolabel.segmentation.yolact.optimize import fold_batch_norms
from protolabel.segmentation.yolact.synthetic import synthetic_state_dict
from tests.conftest import SHARED_DIR, fixture_path, make_checkpoint

NAME = "yolact_edge_mobilenetv2"
# (expansion t, channels c, blocks n, stride s) as the original's data/config.py lists them (mobilenetv2_arch).
ARCH = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    return read_state_dict(make_checkpoint(NAME, 0))


@pytest.fixture(scope="module")
def model() -> Yolact:
    return load_yolact(make_checkpoint(NAME, 0))[0]


def _bn(x: torch.Tensor, sd: dict[str, torch.Tensor], prefix: str) -> torch.Tensor:
    return F.batch_norm(
        x, sd[f"{prefix}.running_mean"], sd[f"{prefix}.running_var"], sd[f"{prefix}.weight"], sd[f"{prefix}.bias"]
    )


def _oracle_layers(x: torch.Tensor, sd: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    """Each backbone layer's output computed straight from the checkpoint's names (torch.nn.functional only)."""
    x = F.relu6(_bn(F.conv2d(x, sd["backbone.layers.0.0.weight"], stride=2, padding=1), sd, "backbone.layers.0.1"))
    outs = [x]
    for layer, (t, _, n, s) in enumerate(ARCH, start=1):
        for block in range(n):
            p = f"backbone.layers.{layer}.{block}.conv"
            h, unit = x, 0
            if t != 1:
                h = F.relu6(_bn(F.conv2d(h, sd[f"{p}.0.0.weight"]), sd, f"{p}.0.1"))
                unit = 1
            depthwise = sd[f"{p}.{unit}.0.weight"]
            stride = s if block == 0 else 1
            h = F.conv2d(h, depthwise, stride=stride, padding=1, groups=depthwise.shape[0])
            h = F.relu6(_bn(h, sd, f"{p}.{unit}.1"))
            h = _bn(F.conv2d(h, sd[f"{p}.{unit + 1}.weight"]), sd, f"{p}.{unit + 2}")
            x = x + h if h.shape == x.shape and stride == 1 else h
        outs.append(x)
    return outs


def test_released_file_loads_by_its_name_with_coco_classes(tmp_path):
    path = tmp_path / "yolact_edge_mobilenetv2_54_800000.pth"
    path.write_bytes(make_checkpoint(NAME, 0, released=True).read_bytes())
    model, info = load_yolact(path)
    assert info.config.name == NAME and info.config.backbone == "mobilenetv2" and not info.config.video
    assert info.class_names == COCO_CLASSES
    own = model.state_dict()
    released = read_state_dict(path)
    assert all(torch.equal(own[k], v) for k, v in released.items() if k in own)


@pytest.mark.parametrize("fpn_naming", ["fpn_phase", "fpn"])
def test_a_renamed_file_is_recognised_from_its_keys_in_either_fpn_naming(fpn_naming, state, tmp_path):
    renamed = state
    if fpn_naming == "fpn":
        renamed = {k.replace("fpn_phase_1.", "fpn.").replace("fpn_phase_2.", "fpn."): v for k, v in state.items()}
    path = tmp_path / "my mobile model.pth"
    torch.save(renamed, path)
    model, info = load_yolact(path)
    assert info.config.name == NAME
    assert torch.equal(model.state_dict()["fpn_phase_1.lat_layers.2.weight"], state["fpn_phase_1.lat_layers.2.weight"])


def test_backbone_features_equal_a_functional_oracle_from_the_names(model, state):
    """C3/C4/C5 (layers 3, 4, 6) and every layer before: a misplaced or transposed weight would differ."""
    x = torch.randn(1, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = model.backbone(x)
        expected = _oracle_layers(x, state)
    assert len(ours) == 7  # the FPN reads layer 6 at most: layers 7 and 8 are loaded but never run
    assert [o.shape[1] for o in ours] == [32, 16, 24, 32, 64, 96, 160]
    assert [tuple(ours[i].shape[-2:]) for i in (3, 4, 6)] == [(12, 12), (6, 6), (3, 3)]
    for i, (a, b) in enumerate(zip(ours, expected)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4, msg=f"layer {i}")


def test_a_block_projection_zeroed_in_the_file_passes_its_input_through(model, state, tmp_path):
    """backbone.layers.3.2 is C3's last block (stride 1, 32 -> 32, residual): with its projection's BatchNorm
    at weight 0 and bias 0 the block adds nothing, so C3 equals the output of block 3.1."""
    edited = dict(state)
    edited["backbone.layers.3.2.conv.3.weight"] = torch.zeros(32)
    edited["backbone.layers.3.2.conv.3.bias"] = torch.zeros(32)
    path = tmp_path / "yolact_edge_mobilenetv2_1_1.pth"
    torch.save(edited, path)
    edited_model, _ = load_yolact(path)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        c3 = edited_model.backbone(x)[3]
        before = edited_model.backbone.layers[3][:2](edited_model.backbone.forward_partial(x, 2))
        assert not torch.allclose(model.backbone(x)[3], before)
    torch.testing.assert_close(c3, before, rtol=0, atol=0)


def test_every_frame_runs_in_full_and_the_keyframe_path_is_refused_with_the_reason():
    engine = YolactEngine(make_checkpoint(f"{NAME}_im160", 0), device="cpu")
    frame = (np.arange(120 * 160 * 3) % 251).astype(np.uint8).reshape(120, 160, 3)
    runner = SequenceRunner(engine, keyframe_interval=1)
    first, second = runner.predict(frame), runner.predict(frame)
    assert runner.last_was_keyframe and len(first) > 0
    assert np.array_equal(first.scores, second.scores) and np.array_equal(
        first.boxes, engine.predict_image(frame).boxes
    )
    assert first.prototypes.shape[-1] == 32 and first.coefficients.shape == (len(first), 32)
    with pytest.raises(VideoPathError, match="config yolact_edge_mobilenetv2_im160 has no flow net"):
        SequenceRunner(engine, keyframe_interval=5)


def test_the_c3_cut_feeds_a_non_keyframe_with_the_keyframe_shapes():
    """No MobileNetV2 video model exists (the original has no such config); with a flow net attached, the
    partial backbone stops at C3 (layer 3, 32 channels, stride 8) and the non-keyframe pyramid has the
    keyframe's shapes."""
    config = dataclasses.replace(CONFIGS[NAME].with_max_size(128), video=True, use_spa=True)
    model = Yolact(config).eval()
    x = torch.randn(1, 3, 128, 128, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        key_out, key_state = model.forward_keyframe(x)
        assert key_state is not None
        trace: dict[str, torch.Tensor] = {}
        out = model.forward_partial(x, key_state, trace)
        torch.testing.assert_close(model.backbone.forward_partial(x, 3), model.backbone(x)[3], rtol=0, atol=0)
    assert trace["lateral_c3"].shape == (1, 256, 16, 16)
    for i, level in enumerate(("head_in_p3", "head_in_p4", "head_in_p5")):
        assert trace[level].shape == key_state.top_down[i].shape
    for field in ("loc", "conf", "coefficients", "prototypes"):
        assert getattr(out, field).shape == getattr(key_out, field).shape


def test_folding_every_batch_norm_keeps_the_outputs(state):
    model = Yolact(CONFIGS[NAME].with_max_size(96)).eval()
    model.load_state_dict(state)
    folded = fold_batch_norms(copy.deepcopy(model))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.backbone.layers[:7].modules())
    x = torch.randn(1, 3, 96, 96, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        a, b = model(x), folded(x)
    for field in ("loc", "conf", "coefficients", "prototypes"):
        torch.testing.assert_close(getattr(b, field), getattr(a, field), rtol=1e-3, atol=1e-3)


def test_a_mobilenetv2_file_with_a_flow_net_is_refused_with_the_reason(state, tmp_path):
    video = dict(state)
    vid = read_state_dict(make_checkpoint("yolact_edge_vid_resnet50", 0))
    video.update({k: v for k, v in vid.items() if k.startswith(("flow_net", "spa."))})
    path = tmp_path / "mobile video.pth"
    torch.save(video, path)
    with pytest.raises(CheckpointError, match="MobileNetV2 model with a flow net: the original YolactEdge has no"):
        load_yolact(path)


def test_a_truncated_backbone_gets_the_usual_listing(state, tmp_path):
    path = tmp_path / "yolact_edge_mobilenetv2_54_800000.pth"
    torch.save({k: v for k, v in state.items() if not k.startswith("backbone.layers.6.")}, path)
    with pytest.raises(
        CheckpointError, match=r"does not match config yolact_edge_mobilenetv2: missing keys: backbone\.layers\.6\.0"
    ):
        load_yolact(path)


def test_synthetic_weights_are_the_documented_generator_s_for_the_manifest(tmp_path):
    """The builder draws this model's tensors by the same rules as shared/tools/make_checkpoint.py (when present)."""
    generator = SHARED_DIR / "tools" / "make_checkpoint.py"
    if not generator.is_file():
        pytest.skip("shared/tools/make_checkpoint.py is not beside this checkout")
    manifest = fixture_path("checkpoint-keys", f"{NAME}.json")
    out = tmp_path / "generator.pth"
    subprocess.run([sys.executable, str(generator), str(manifest), "--seed", "0", "--out", str(out)], check=True)
    expected = torch.load(out, weights_only=True)
    ours = synthetic_state_dict(NAME, 0)
    assert list(ours) == [k for k, _, _ in json.loads(manifest.read_text())] == list(expected)
    assert all(torch.equal(ours[k], v) for k, v in expected.items())
