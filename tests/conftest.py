"""Shared test setup: offscreen Qt, the in-repo fixtures, and seeded checkpoints in the official key layout."""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The program's log file (segmentation/logs.py) goes to a folder of the test run's own, not the user's.
os.environ.setdefault("PROTOLABEL_LOG_DIR", tempfile.mkdtemp(prefix="protolabel-test-logs-"))

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The project's shared/ folder: only tests/segmentation/yolact/test_synthetic.py reads it (the documented
# generator, to prove the builder reproduces it); everything else the suite needs is in the repository.
SHARED_DIR = Path(os.environ.get("PROTOLABEL_SHARED_DIR", REPO_ROOT.parent / "shared"))
CHECKPOINT_CACHE = Path(os.environ.get("PROTOLABEL_TEST_CACHE", Path.home() / ".cache" / "protolabel-tests"))


def fixture_path(*parts: str) -> Path:
    """A file under tests/fixtures/ (reference outputs of the original, official key manifests)."""
    return FIXTURES.joinpath(*parts)


@functools.cache
def make_checkpoint(config: str, seed: int = 0, released: bool = False) -> Path:
    """A synthetic checkpoint in the official key format (segmentation.yolact.synthetic), made once and cached.

    `released`: shaped like the released files (the leftover FPN layer, legacy format), as downloads get them.
    The cache key covers the builder's source and the model's key layout, so a change to either makes a new file.
    """
    from protolabel.segmentation.yolact import synthetic

    manifest = repr(synthetic.checkpoint_manifest(config)).encode()
    digest = hashlib.sha256(Path(synthetic.__file__).read_bytes() + manifest).hexdigest()[:12]
    # Official-style name (<config>_<epoch>_<iteration>.pth) so the config is taken from the file name.
    out = CHECKPOINT_CACHE / digest / ("released" if released else "") / f"{config}_{seed}_0.pth"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        synthetic.write_synthetic_checkpoint(out, config, seed, released=released)
    return out


@pytest.fixture(scope="session")
def resnet50_checkpoint() -> Path:
    """yolact_resnet50 seed 0: the checkpoint the open reference fixtures were made with."""
    return make_checkpoint("yolact_resnet50", 0)


@pytest.fixture(scope="session")
def released_resnet50_checkpoint() -> Path:
    """yolact_resnet50 seed 0 shaped like the released file (leftover FPN layer, legacy format): what downloads get."""
    return make_checkpoint("yolact_resnet50", 0, released=True)


@pytest.fixture(scope="session")
def resnet50_onnx(tmp_path_factory, resnet50_checkpoint):
    """yolact_resnet50 seed 0 exported by `protolabel export-onnx` (the CLI is the way in)."""
    import importlib.util

    if importlib.util.find_spec("onnx") is None:
        pytest.skip('needs the onnx extra: pip install -e ".[onnx]"')
    from protolabel.segmentation.cli import main

    out = tmp_path_factory.mktemp("onnx") / "resnet50.onnx"
    assert main(["export-onnx", str(resnet50_checkpoint), "--out", str(out)]) == 0
    return out


SMALL_CONFIG = "yolact_resnet50_im256"  # the resnet50 weights at a 256 px input: a quarter of 550's pixels


@pytest.fixture(scope="session")
def small_checkpoint() -> Path:
    """yolact_resnet50 seed 0 named for a 256 px input (the app takes the config from the name): for tests that
    run the model through the app but do not check fidelity, which the resnet50 fixtures at 550 do."""
    return make_checkpoint(SMALL_CONFIG, 0)


@pytest.fixture(scope="session")
def small_onnx(tmp_path_factory, small_checkpoint):
    """`small_checkpoint` exported by `protolabel export-onnx` (at its 256 px input)."""
    import importlib.util

    if importlib.util.find_spec("onnx") is None:
        pytest.skip('needs the onnx extra: pip install -e ".[onnx]"')
    from protolabel.segmentation.cli import main

    out = tmp_path_factory.mktemp("onnx-small") / "resnet50_im256.onnx"
    assert main(["export-onnx", str(small_checkpoint), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def resnet50_engine(resnet50_checkpoint):
    from protolabel.segmentation.engine import YolactEngine

    return YolactEngine(resnet50_checkpoint, device="cpu")


@pytest.fixture(scope="session")
def astronaut_bgr():
    """scikit-image's astronaut photo as BGR uint8 (what cv2.imread returns)."""
    from skimage import data

    return data.astronaut()[:, :, ::-1].copy()
