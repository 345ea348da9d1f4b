import pytest

from segmentation.yolact.anchors import feature_map_sizes, make_anchors
from segmentation.yolact.checkpoint import CheckpointError, infer_config, read_state_dict
from segmentation.yolact.config import CONFIGS, config_for_name, config_name_from_filename


def test_base_at_400_and_700_is_exactly_the_official_im400_and_im700():
    assert CONFIGS["yolact_base"].with_max_size(400) == CONFIGS["yolact_im400"]
    assert CONFIGS["yolact_base"].with_max_size(700) == CONFIGS["yolact_im700"]
    assert CONFIGS["yolact_im700"].with_max_size(550) == CONFIGS["yolact_base"]


def test_resized_config_scales_its_anchors_and_keeps_everything_else():
    config = CONFIGS["yolact_resnet50"].with_num_classes(3).with_max_size(160)
    assert config.name == "yolact_resnet50_im160" and config.max_size == 160 and config.num_classes == 3
    assert config.scales == ((6.0,), (13.0,), (27.0,), (55.0,), (111.0,))  # int(s / 550 * 160)
    assert config.backbone == "resnet50" and config.square_anchors
    sizes = feature_map_sizes(160)
    anchors = make_anchors(config, [(s, s) for s in sizes])
    assert anchors.shape == (3 * sum(s * s for s in sizes), 4)
    assert anchors[0, 2].item() == pytest.approx(6 / 160)


def test_yolact_plus_keeps_its_three_octave_scales():
    config = CONFIGS["yolact_plus_resnet50"].with_max_size(320)
    base = int(24 / 550 * 320)
    assert config.scales[0] == pytest.approx((base, base * 2 ** (1 / 3), base * 2 ** (2 / 3)))
    with pytest.raises(ValueError, match="at least 249"):
        CONFIGS["yolact_plus_resnet50"].with_max_size(240)
    with pytest.raises(ValueError, match="at least 64"):
        CONFIGS["yolact_resnet50"].with_max_size(32)


@pytest.mark.parametrize("name,expected", [
    ("yolact_resnet50_im160", ("yolact_resnet50", 160)),
    ("yolact_im300", ("yolact_base", 300)),
    ("yolact_plus_base_im320", ("yolact_plus_base", 320)),
    ("yolact_base_im300", None),  # one spelling per config
    ("yolact_resnet50_im16", None),  # too small
    ("yolact_im700_im300", None),
    ("something_im300", None),
])
def test_sized_names_resolve_to_configs(name, expected):
    config = config_for_name(name)
    if expected is None:
        assert config is None
    else:
        family, size = expected
        assert config == CONFIGS[family].with_max_size(size) and config.name == name


def test_trained_file_names_carry_the_input_size(resnet50_checkpoint):
    assert config_name_from_filename("yolact_resnet50_im160_12_3000.pth") == "yolact_resnet50_im160"
    state = read_state_dict(resnet50_checkpoint)
    assert infer_config(state, "runs/yolact_im320_1_50.pth").max_size == 320
    assert infer_config(state, None, "yolact_resnet50_im200").max_size == 200
    with pytest.raises(CheckpointError, match="unknown config 'yolact_resnet50_im2'"):
        infer_config(state, None, "yolact_resnet50_im2")
