import pytest

from protolabel.segmentation.yolact.anchors import feature_map_sizes, make_anchors
from protolabel.segmentation.yolact.checkpoint import CheckpointError, infer_config, read_state_dict
from protolabel.segmentation.yolact.config import CONFIGS, config_for_name, config_name_from_filename


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
    # The official YOLACT++ scales at 550 (data/config.py: [i * 2 ** (j / 3) for j in 0..2], i = 24..384).
    official = CONFIGS["yolact_plus_resnet50"].scales
    assert official[0] == pytest.approx((24.0, 30.2381, 38.0976), abs=1e-4)
    assert official[4] == pytest.approx((384.0, 483.8097, 609.5620), abs=1e-4)
    config = CONFIGS["yolact_plus_resnet50"].with_max_size(320)
    assert config.name == "yolact_plus_resnet50_im320" and config.anchors_per_location == 9
    # Worked by hand: base scales int(s * 320 / 550) = 13, 27, 55, 111, 223, then x 2^(1/3) and x 2^(2/3).
    expected = [
        (13, 16.3790, 20.6362),
        (27, 34.0179, 42.8598),
        (55, 69.2957, 87.3071),
        (111, 139.8512, 176.2015),
        (223, 280.9624, 353.9904),
    ]
    assert [tuple(level) for level in config.scales] == [pytest.approx(e, abs=1e-4) for e in expected]
    assert not config.square_anchors and config.use_maskiou  # only the size changed
    sizes = feature_map_sizes(320)
    anchors = make_anchors(config, [(s, s) for s in sizes])
    assert anchors.shape == (9 * sum(s * s for s in sizes), 4)
    # the first location's 9 anchors: 3 scales x aspect ratios 1, 1/2, 2 (w = s * sqrt(r) / 320)
    widths = sorted(anchors[:9, 2].tolist())
    expected_widths = sorted(sc * r**0.5 / 320 for sc in expected[0] for r in (1.0, 0.5, 2.0))
    assert widths == pytest.approx(expected_widths, rel=1e-5)
    with pytest.raises(ValueError, match="at least 249"):
        CONFIGS["yolact_plus_resnet50"].with_max_size(240)
    with pytest.raises(ValueError, match="at least 64"):
        CONFIGS["yolact_resnet50"].with_max_size(32)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("yolact_resnet50_im160", ("yolact_resnet50", 160)),
        ("yolact_im300", ("yolact_base", 300)),
        ("yolact_plus_base_im320", ("yolact_plus_base", 320)),
        ("yolact_base_im300", None),  # one spelling per config
        ("yolact_im700_im300", None),
        ("something_im300", None),
    ],
)
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
    with pytest.raises(CheckpointError, match="config 'yolact_resnet50_im2': .*at least 64"):
        infer_config(state, None, "yolact_resnet50_im2")


@pytest.mark.parametrize(
    "name,message",
    [
        ("yolact_resnet50_im16", "at least 64 and at most 2048, got 16"),
        ("yolact_resnet50_im32", "at least 64 and at most 2048, got 32"),
        ("yolact_plus_resnet50_im200", "at least 249"),
        ("yolact_resnet50_im20000", "at most 2048 (and at least 64), got 20000"),
        ("yolact_im4096", "at most 2048"),
    ],
)
def test_sizes_out_of_range_name_the_allowed_range(name, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config_for_name(name)


def test_a_file_name_with_a_huge_size_is_refused_before_building_anything(resnet50_checkpoint, tmp_path):
    from protolabel.segmentation.yolact.checkpoint import load_yolact

    huge = tmp_path / "yolact_resnet50_im20000_3_100.pth"
    huge.symlink_to(resnet50_checkpoint)
    with pytest.raises(CheckpointError, match="the config in the file name: .*at most 2048"):
        load_yolact(huge)
    state = read_state_dict(resnet50_checkpoint)
    with pytest.raises(CheckpointError, match="config 'yolact_resnet50_im20000': .*at most 2048"):
        infer_config(state, None, "yolact_resnet50_im20000")
