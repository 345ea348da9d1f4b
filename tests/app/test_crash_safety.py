"""Kill -9 the app mid-session: every finished edit is in the store, the edit in progress is not, the DB is sound."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.records import ImageStatus
from protolabel.segmentation.project.store import ProjectStore, project_db_path

_SESSION = r"""
import sys
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

app = QApplication([])
from protolabel.app.main_window import MainWindow

folder, settings, mode = sys.argv[1], sys.argv[2], sys.argv[3]
w = MainWindow(settings=QSettings(settings, QSettings.Format.IniFormat))
w.resize(1000, 700)
w.show()
w.open_folder(folder)
canvas = w.canvas

def at(x, y):
    return canvas.mapFromScene(QPointF(x, y))

def scene(x, y):
    p = canvas.mapToScene(at(x, y))
    return p.x(), p.y()

if mode == "edit":
    w.actions_by_name["draw_mode"].trigger()
    for x, y in ((10, 10), (60, 10), (60, 60), (10, 10)):
        QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(x, y))
    w.actions_by_name["edit_mode"].trigger()
    print("EDIT 1", flush=True)
    (item,) = canvas.items_by_id.values()
    vx, vy = item.obj.shape.polygons[0].exterior[1]
    QTest.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(vx, vy))
    QTest.mouseMove(canvas.viewport(), at(vx + 10, vy + 20))
    QTest.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       at(vx + 10, vy + 20))
    print("EDIT 2 %r %r" % scene(vx + 10, vy + 20), flush=True)
    QTest.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(vx + 10, vy + 20))
    QTest.mouseMove(canvas.viewport(), at(vx - 30, vy + 30))
    print("DRAGGING", flush=True)
else:
    w.options.weights, w.options.device = sys.argv[4], "cpu"
    w.options.score_threshold, w.options.top_k = 0.0, 10
    w.autolabel.queue.events.job_started.connect(lambda job: job.events.image_done.connect(
        lambda name, outcome: print("LABELLED", name, flush=True)))
    w.actions_by_name["autolabel_all"].trigger()
app.exec()
"""


def _run_until(args, marker: str, timeout: float = 180.0):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen(
        [sys.executable, "-c", _SESSION, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    lines = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
            if line.startswith(marker):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                return lines
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    pytest.fail(f"the app never printed {marker!r}: {lines}\n{proc.stderr.read()[-3000:]}")


def _integrity(folder):
    db = sqlite3.connect(project_db_path(folder))
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def test_kill_during_a_drag_keeps_every_finished_edit(photo_folder, tmp_path):
    lines = _run_until([str(photo_folder), str(tmp_path / "s.ini"), "edit"], "DRAGGING")
    moved = [float(v) for v in lines[1].split()[2:4]]
    assert _integrity(photo_folder) == "ok"
    with ProjectStore.open(photo_folder) as store:
        (obj,) = store.objects("astronaut.png")
        assert obj.provenance is Provenance.EDITED and store.status("astronaut.png") is ImageStatus.EDITED
        ring = obj.shape.polygons[0].exterior
        assert len(ring) == 3 and np.allclose(ring[1], moved)  # edit 2 is there, the unfinished drag is not


def test_kill_during_auto_labeling_leaves_a_consistent_store(photo_folder, tmp_path, resnet50_checkpoint):
    _run_until([str(photo_folder), str(tmp_path / "s.ini"), "label", str(resnet50_checkpoint)], "LABELLED")
    assert _integrity(photo_folder) == "ok"
    with ProjectStore.open(photo_folder) as store:
        statuses = store.statuses()
        assert statuses.get("astronaut.png") is ImageStatus.AUTO_LABELED
        for name in ("astronaut.png", "chelsea.jpg", "coffee.png"):
            objects, status = store.objects(name), statuses.get(name)
            # an image is either fully labelled (status and its objects) or untouched: never half-written
            if status is None:
                assert objects == []
            else:
                assert status is ImageStatus.AUTO_LABELED and objects
                assert all(o.provenance is Provenance.AUTO for o in objects)
