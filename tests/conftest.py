"""Shared test setup: offscreen Qt, the ../shared folder, and checkpoints in the official key layout."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("PROTOLABEL_SHARED_DIR", REPO_ROOT.parent / "shared"))
CHECKPOINT_CACHE = Path(os.environ.get("PROTOLABEL_TEST_CACHE", Path.home() / ".cache" / "protolabel-tests"))


def shared_path(*parts: str) -> Path:
    """A path inside ../shared, skipping the calling test with a clear reason when it is absent."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the project's shared/ folder beside the checkout); not present here")
    return path


def make_checkpoint(config: str, seed: int = 0) -> Path:
    """A synthetic checkpoint in the official key format, made once by shared/tools/make_checkpoint.py."""
    manifest = shared_path("spec", "checkpoint-keys", f"{config}.json")
    tool = shared_path("tools", "make_checkpoint.py")
    digest = hashlib.sha256(manifest.read_bytes() + tool.read_bytes()).hexdigest()[:12]
    # Official-style name (<config>_<epoch>_<iteration>.pth) so the config is taken from the file name.
    out = CHECKPOINT_CACHE / digest / f"{config}_{seed}_0.pth"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".tmp{os.getpid()}")
        subprocess.run([sys.executable, str(tool), str(manifest), "--seed", str(seed), "--out", str(tmp)],
                       check=True, capture_output=True)
        os.replace(tmp, out)
    return out


@pytest.fixture(scope="session")
def resnet50_checkpoint() -> Path:
    """yolact_resnet50 seed 0: the checkpoint the open reference fixtures were made with."""
    return make_checkpoint("yolact_resnet50", 0)


@pytest.fixture(scope="session")
def resnet50_engine(resnet50_checkpoint):
    from segmentation.engine import YolactEngine

    return YolactEngine(resnet50_checkpoint, device="cpu")


@pytest.fixture(scope="session")
def astronaut_bgr():
    """scikit-image's astronaut photo as BGR uint8 (what cv2.imread returns)."""
    from skimage import data

    return data.astronaut()[:, :, ::-1].copy()
