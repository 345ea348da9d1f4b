"""`protolabel import` and `protolabel export`: the headless merge and export, summary printed, bad input refused."""

from __future__ import annotations

import contextlib
import io
import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from protolabel.segmentation.cli import main
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.records import ImageStatus
from protolabel.segmentation.project.store import ProjectStore

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    for name in ("a.png", "sub/b.png"):
        cv2.imwrite(str(root / name), np.full((40, 50, 3), 90, np.uint8))
    return root


def _coco(tmp_path, folder):
    data = {
        "images": [
            {"id": 1, "file_name": "a.png", "width": 50, "height": 40},
            {"id": 2, "file_name": "sub/b.png", "width": 50, "height": 40},
            {"id": 3, "file_name": "gone.png", "width": 50, "height": 40},
        ],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 5,
                "segmentation": [[2, 2, 20, 2, 20, 20, 2, 20]],
                "source": "auto",
                "score": 0.6,
            },
            {"id": 2, "image_id": 2, "category_id": 9, "segmentation": [[5, 5, 30, 5, 30, 30]], "source": "verified"},
            {
                "id": 3,
                "image_id": 2,
                "category_id": 9,
                "iscrowd": 1,
                "segmentation": {"size": [40, 50], "counts": [10, 30, 2000 - 40]},
            },
        ],
        "categories": [{"id": 5, "name": "cup"}, {"id": 9, "name": "plate"}],
    }
    path = tmp_path / "label.json"
    path.write_text(json.dumps(data))
    return path


def test_import_prints_summary_then_export_writes_the_same_objects(folder, tmp_path, capsys):
    coco = _coco(tmp_path, folder)
    assert main(["import", str(folder), "--coco", str(coco)]) == 0
    out = capsys.readouterr().out
    assert "Merged 2 images with 2 objects" in out and "gone.png" in out and "1 crowd region" in out
    with ProjectStore.open(folder) as store:
        assert [(o.label, o.provenance) for o in store.objects("a.png")] == [("cup", Provenance.AUTO)]
        assert store.status("sub/b.png") is ImageStatus.VERIFIED

    assert main(["export", str(folder), "--out", str(tmp_path / "all.json")]) == 0
    assert main(["export", str(folder), "--out", str(tmp_path / "verified.json"), "--verified-only"]) == 0
    assert "Wrote" in capsys.readouterr().out
    with contextlib.redirect_stdout(io.StringIO()):
        everything, verified, source = (COCO(str(p)) for p in (tmp_path / "all.json", tmp_path / "verified.json", coco))
    assert len(everything.getImgIds()) == 2 and len(verified.getImgIds()) == 1
    (ann,) = verified.loadAnns(verified.getAnnIds())
    (want,) = source.loadAnns([2])
    assert ann["source"] == "verified"
    np.testing.assert_array_equal(verified.annToMask(ann), source.annToMask(want))


def test_import_twice_leaves_verified_images_alone(folder, tmp_path, capsys):
    coco = _coco(tmp_path, folder)
    assert main(["import", str(folder), "--coco", str(coco)]) == 0
    capsys.readouterr()
    assert main(["import", str(folder), "--coco", str(coco)]) == 0
    out = capsys.readouterr().out
    assert "Merged 1 image with 1 object, replacing 1 auto object" in out and "already edited or verified" in out


@pytest.mark.parametrize("case", ["no folder", "no file", "bad json", "not coco"])
def test_import_bad_input_is_one_line_and_status_2(folder, tmp_path, capsys, case):
    coco = tmp_path / "x.json"
    target = folder
    if case == "no folder":
        target, coco = tmp_path / "nowhere", _coco(tmp_path, folder)
    elif case == "bad json":
        coco.write_text("{")
    elif case == "not coco":
        coco.write_text(json.dumps({"images": 3}))
    code = main(["import", str(target), "--coco", str(coco)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("protolabel import: "), err
    assert not (folder / ".protolabel").exists()  # nothing created for a bad input


def test_export_bad_input(folder, tmp_path, capsys):
    assert main(["export", str(folder), "--out", str(tmp_path / "o.json")]) == 2  # no project yet
    assert "no Protolabel project" in capsys.readouterr().err
    with ProjectStore.open(folder):
        pass
    assert main(["export", str(folder), "--out", str(folder / ".protolabel" / "x.json")]) == 2
    assert main(["export", str(folder), "--out", str(tmp_path / "missing" / "o.json")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 2 and "Traceback" not in err


def test_import_refused_while_another_process_holds_the_folder(folder, tmp_path, capsys):
    coco = _coco(tmp_path, folder)
    with ProjectStore.open(folder) as store:
        pass
    script = (
        "import sys, time; from protolabel.segmentation.project.lock import FolderLock; "
        "lock = FolderLock.acquire(sys.argv[1], program='holder'); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["import", str(folder), "--coco", str(coco)]) == 2
        err = capsys.readouterr().err
        assert "holder (pid" in err and len(err.strip().splitlines()) == 1
    finally:
        holder.kill()
        holder.wait()
    with ProjectStore.open(folder) as store:
        assert store.objects("a.png") == []  # nothing merged


def test_ctrl_c_during_the_merge_is_one_line_and_merges_nothing(folder, tmp_path, capsys, monkeypatch):
    coco = _coco(tmp_path, folder)
    real = ProjectStore._set_statuses

    def interrupted(self, db, statuses):  # Ctrl+C inside the transaction, after the objects were inserted
        raise KeyboardInterrupt

    monkeypatch.setattr(ProjectStore, "_set_statuses", interrupted)
    assert main(["import", str(folder), "--coco", str(coco)]) == 130
    captured = capsys.readouterr()
    assert captured.err.strip() == "protolabel import: interrupted" and "Traceback" not in captured.err
    with ProjectStore.open(folder) as store:
        assert store.objects("a.png") == [] and store.objects("sub/b.png") == []
    monkeypatch.setattr(ProjectStore, "_set_statuses", real)
    assert main(["import", str(folder), "--coco", str(coco)]) == 0  # the folder's lock was let go
    with ProjectStore.open(folder) as store:
        assert [o.label for o in store.objects("a.png")] == ["cup"]


def test_sigterm_during_the_merge_is_one_line_merges_nothing_and_is_let_go(folder, tmp_path):
    # A child process of its own receives the signal, so the test process is never signalled (native
    # libraries it loaded may have set up signal handling of their own).
    coco = _coco(tmp_path, folder)
    driver = textwrap.dedent("""
        import os, signal, sys, time
        from protolabel.segmentation.cli import main
        from protolabel.segmentation.project.store import ProjectStore

        def killed(self, db, statuses):  # `kill PID` inside the transaction, after the objects were inserted
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)  # the handler raises at the next bytecode: never reached in full

        ProjectStore._set_statuses = killed
        code = main(["import", sys.argv[1], "--coco", sys.argv[2]])
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the command's handler is gone again
        sys.exit(code)
    """)
    done = subprocess.run(
        [sys.executable, "-c", driver, str(folder), str(coco)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert done.stderr.strip() == "protolabel import: terminated"
    with ProjectStore.open(folder) as store:
        assert store.objects("a.png") == [] and store.objects("sub/b.png") == []
