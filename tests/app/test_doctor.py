"""`protolabel doctor`: each check, the report and the exit status (1 only when something blocks the app)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from protolabel.app import cli
from protolabel.segmentation.commands.doctor import Status, check_folder, check_model_cache, cuda_finding
from protolabel.segmentation.model_manager import ModelManager


@pytest.fixture
def image_folder(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((8, 8, 3), 128, np.uint8))
    return folder


def test_folder_check_writes_nothing_behind_and_counts_images(image_folder):
    [finding] = check_folder(image_folder)
    assert finding.status is Status.OK and "writable, 1 image(s)" in finding.summary
    assert sorted(p.name for p in image_folder.iterdir()) == ["a.png"]


def test_missing_file_and_unwritable_folders_fail(tmp_path):
    assert check_folder(tmp_path / "nope")[0].status is Status.FAIL
    (tmp_path / "file.png").write_bytes(b"x")
    assert "is not a folder" in check_folder(tmp_path / "file.png")[0].summary
    # sysfs refuses new files even to root, unlike a chmod-ed folder
    unwritable = check_folder("/sys")[0]
    assert unwritable.status is Status.FAIL and "cannot write" in unwritable.summary


def test_model_cache_lists_downloaded_and_partial_official_models(tmp_path):
    manager = ModelManager(tmp_path / "cache")
    cache, models = check_model_cache(manager)
    assert cache.status is Status.OK and str(tmp_path / "cache") in cache.summary  # made on first download
    assert models.summary.startswith("none of 6 downloaded")
    manager.cache_dir.mkdir()
    first, second = manager.models[:2]
    manager.path_for(first).write_bytes(b"\0" * 3_000_000)
    manager.partial_path(second).write_bytes(b"\0" * 1_000_000)
    _, models = check_model_cache(manager)
    assert models.summary == "1 of 6 downloaded"
    assert models.details == (f"{first.config}: 3 MB", f"{second.config}: partial download, 1 MB so far")


def _fake_torch(cuda_version, devices=()):
    props = [SimpleNamespace(name=n, total_memory=m, major=a, minor=b) for n, m, a, b in devices]
    return SimpleNamespace(
        version=SimpleNamespace(cuda=cuda_version),
        cuda=SimpleNamespace(
            is_available=lambda: bool(props), device_count=lambda: len(props), get_device_properties=lambda i: props[i]
        ),
    )


def test_cuda_finding_says_why_cuda_is_not_used_or_lists_devices():
    assert "CPU-only build" in cuda_finding(_fake_torch(None)).summary
    no_gpu = cuda_finding(_fake_torch("12.4"))
    assert no_gpu.status is Status.WARN and "no NVIDIA GPU" in no_gpu.summary and "12.4" in no_gpu.summary
    found = cuda_finding(_fake_torch("12.4", [("NVIDIA H200", 150 * 2**30, 9, 0), ("Tesla T4", 15 * 2**30, 7, 5)]))
    assert found.status is Status.OK
    assert found.details == (
        "cuda:0 NVIDIA H200, 150.0 GiB, compute capability 9.0",
        "cuda:1 Tesla T4, 15.0 GiB, compute capability 7.5",
    )


def test_doctor_reports_everything_and_exit_status_follows_blockers(image_folder, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PROTOLABEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert cli.main(["doctor", str(image_folder)]) == 0
    out = capsys.readouterr().out
    for topic in ("Python", "torch", "CUDA", "model cache", "official models", "folder", "Qt platform"):
        assert f"] {topic}: " in out
    assert '"offscreen"' in out and "FAIL" not in out
    assert cli.main(["doctor", str(tmp_path / "missing")]) == 1
    captured = capsys.readouterr()
    assert "[FAIL] folder: " in captured.out and "blocks the app" in captured.err


def test_doctor_fails_on_a_qt_plugin_with_a_missing_library(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("ELF plugins")
    from protolabel.app.system_check import plugin_dirs

    qt = plugin_dirs({})[-1].parents[1]
    platforms = tmp_path / "platforms"
    platforms.mkdir()
    data = (qt / "plugins" / "platforms" / "libqxcb.so").read_bytes()
    (platforms / "libqxcb.so").write_bytes(data.replace(b"libxcb-keysyms.so.1\0", b"libxcb-keysyms.so.7\0"))
    env = {
        "PATH": "/usr/bin:/bin",
        "QT_QPA_PLATFORM_PLUGIN_PATH": str(platforms),
        "LD_LIBRARY_PATH": str(qt / "lib"),
        "DISPLAY": ":99",
        "PROTOLABEL_CACHE_DIR": str(tmp_path / "cache"),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    code = (
        "import sys; from protolabel.app.cli import main; rc = main(['doctor']); print(sorted(m for m in sys.modules "
        "if m.startswith('PySide6'))); sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 1
    assert "[FAIL] Qt platform" in result.stdout and "libxcb-keysyms.so.7" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"  # the doctor never imports Qt
