"""`protolabel models` and `--weights NAME` end to end, against a mirror on 127.0.0.1 serving a file shaped
like the released ones (leftover FPN layer, legacy format).

A synthetic file cannot have the published SHA-256, so the table is swapped for one whose yolact_resnet50
entry records the synthetic file's own size and digest (the real entry's refusal of a look-alike is in
tests/segmentation/test_model_manager.py and below, through `verify`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import shutil
from pathlib import Path

import cv2
import pytest

import protolabel.segmentation.model_manager as mm
from protolabel.segmentation.cli import DownloadProgress, build_parser, main, run_command
from tests.model_server import FILE, ModelServer

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def released_bytes(released_resnet50_checkpoint) -> bytes:
    return released_resnet50_checkpoint.read_bytes()


@pytest.fixture
def mirror(released_bytes, tmp_path, monkeypatch):
    """A mirror serving the released-shaped file, an empty cache, and a table whose yolact_resnet50 entry
    publishes that file's figures."""
    server = ModelServer(released_bytes)
    monkeypatch.setenv(mm.MIRROR_ENV, server.url)
    monkeypatch.setenv("PROTOLABEL_CACHE_DIR", str(tmp_path / "cache"))
    table = tuple(
        dataclasses.replace(m, size=len(released_bytes), sha256=hashlib.sha256(released_bytes).hexdigest())
        if m.file_name == FILE
        else m
        for m in mm.OFFICIAL_MODELS
    )
    monkeypatch.setattr(mm, "OFFICIAL_MODELS", table)
    yield server
    server.close()


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def tiny_photos(tmp_path) -> Path:
    from skimage import data

    folder = tmp_path / "photos"
    folder.mkdir()
    for name, rgb in (("astronaut.png", data.astronaut()), ("coffee.png", data.coffee())):
        cv2.imwrite(str(folder / name), cv2.resize(rgb[:, :, ::-1], (96, 96), interpolation=cv2.INTER_AREA))
    return folder


def test_download_then_label_by_name_uses_the_verified_cache(mirror, tiny_photos, tmp_path):
    code, out, err = _run(["models", "list"])
    assert code == 0 and "not downloaded" in out.splitlines()[1] and f"mirror: {mirror.url}" in out

    code, out, err = _run(["models", "download", "yolact_resnet50"])
    cached = tmp_path / "cache" / FILE
    assert code == 0 and out.strip() == str(cached), err
    assert f"downloading {FILE} from {mirror.url}/{FILE}" in err
    assert "100 %" in err and "its SHA-256 matches the published one" in err
    assert mirror.ranges == [None]
    code, out, _ = _run(["models", "list"])
    assert out.splitlines()[1].split()[-1] == "verified"

    annotations = tmp_path / "annotations.json"
    code, out, err = _run(
        [
            "label",
            str(tiny_photos),
            "--weights",
            "yolact_resnet50",
            "--config",
            "yolact_resnet50_im128",
            "--device",
            "cpu",
            "--out",
            str(annotations),
        ]
    )
    assert code == 0, err
    assert f"model {FILE}" in err and "downloading" not in err
    assert len(json.loads(annotations.read_text())["images"]) == 2
    assert mirror.ranges == [None]  # the cached, verified file was used: no second request


def test_a_name_is_downloaded_on_first_use_by_any_command(mirror, tmp_path):
    image = tmp_path / "coffee.png"
    from skimage import data

    cv2.imwrite(str(image), cv2.resize(data.coffee()[:, :, ::-1], (96, 96)))
    code, out, err = _run(
        ["predict", str(image), "--weights", FILE, "--config", "yolact_resnet50_im128", "--device", "cpu"]
    )
    assert code == 0, err
    assert f"downloading {FILE}" in err and isinstance(json.loads(out), list)
    assert (tmp_path / "cache" / FILE).is_file() and mirror.ranges == [None]


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "x.png", "--weights", "yolact_resnet50"],
        ["inspect", "x.png", "--out", "o", "--weights", "yolact_resnet50"],
        ["label", "photos", "--out", "a.json", "--weights", "yolact_resnet50"],
        ["export-onnx", "yolact_resnet50", "--out", "m.onnx"],
        ["train", "--coco", "c.json", "--images", "i", "--out", "r", "--weights", "yolact_resnet50"],
        ["gui", "--weights", "yolact_resnet50"],
    ],
    ids=lambda argv: argv[0],
)
def test_every_command_taking_weights_resolves_an_official_name(mirror, tmp_path, released_bytes, argv):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / FILE).write_bytes(released_bytes)  # put into the cache by hand: checked, not fetched
    parser = build_parser(extra_commands=("protolabel.app.gui_command",))
    args = parser.parse_args(argv)
    seen = []
    args.func = lambda parsed: seen.append(parsed.weights) or 0
    assert run_command(args) == 0
    assert str(seen[0]) == str(tmp_path / "cache" / FILE) and mirror.ranges == []
    assert isinstance(seen[0], Path if argv[0] == "train" else str)


def test_a_path_that_exists_wins_over_a_name_and_unknown_names_pass_through(mirror, tmp_path, monkeypatch):
    from protolabel.segmentation.cli import resolve_weights

    monkeypatch.chdir(tmp_path)
    Path("yolact_resnet50").write_bytes(b"a local file of that name")
    assert resolve_weights("yolact_resnet50", "protolabel predict") == "yolact_resnet50"
    assert resolve_weights("yolact_huge", "protolabel predict") == "yolact_huge"  # the command says it is missing
    assert mirror.ranges == [] and not (tmp_path / "cache").exists()


def test_a_bad_download_fails_the_command_with_the_reason_and_keeps_nothing(mirror, tmp_path):
    mirror.data = mirror.data[:-4096] + b"\0" * 4096  # the mirror's copy is damaged: same size, other digest
    code, out, err = _run(["predict", "x.png", "--weights", "yolact_resnet50"])
    assert code == 2 and out == ""
    assert "SHA-256 differs from the published one" in err and "deleted" in err
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [FILE + ".lock"]  # the empty lock file stays


def test_ctrl_c_keeps_the_part_and_the_next_download_resumes(mirror, tmp_path, monkeypatch, released_bytes):
    real_progress = DownloadProgress.__call__

    def interrupt(self, done, total):
        real_progress(self, done, total)
        if done >= 3 << 20:
            raise KeyboardInterrupt

    monkeypatch.setattr(DownloadProgress, "__call__", interrupt)
    code, out, err = _run(["models", "download", "yolact_resnet50"])
    part = tmp_path / "cache" / (FILE + ".part")
    assert code == 130 and "kept in" in err and str(part) in err
    kept = part.stat().st_size
    assert 3 << 20 <= kept < len(released_bytes)
    monkeypatch.setattr(DownloadProgress, "__call__", real_progress)
    code, out, err = _run(["models", "download", "yolact_resnet50"])
    assert code == 0 and f"resuming after {kept / 1e6:.1f} MB" in err
    assert mirror.ranges == [None, f"bytes={kept}-"]
    assert (tmp_path / "cache" / FILE).read_bytes() == released_bytes


def test_verify_says_what_was_proven_and_never_deletes(mirror, tmp_path, released_resnet50_checkpoint, monkeypatch):
    copy = tmp_path / FILE
    shutil.copyfile(released_resnet50_checkpoint, copy)
    code, out, _ = _run(["models", "verify", str(copy)])
    assert code == 0 and "OK: this is the published" in out and "SHA-256 matches" in out

    unrecorded = tuple(dataclasses.replace(m, size=None, sha256=None) for m in mm.OFFICIAL_MODELS)
    monkeypatch.setattr(mm, "OFFICIAL_MODELS", unrecorded)
    code, out, _ = _run(["models", "verify", str(copy)])
    assert code == 0 and "OK as far as can be checked" in out and "not proven to be the authors' file" in out

    code, out, _ = _run(["models", "verify", str(copy), "--model", "yolact_base"])
    assert code == 1 and "NOT the official yolact_base_54_800000.pth: it is" in out
    assert copy.read_bytes() == released_resnet50_checkpoint.read_bytes()  # read only


def test_verify_against_the_real_entry_refuses_the_synthetic_file(tmp_path, released_resnet50_checkpoint):
    copy = tmp_path / FILE
    shutil.copyfile(released_resnet50_checkpoint, copy)
    code, out, _ = _run(["models", "verify", str(copy)])
    assert code == 1 and "NOT the official" in out and "expected 127,300,392" in out
    assert copy.is_file()
