"""Reading ahead: the shown image's neighbours are decoded on a worker, used only while the file is unchanged."""

import os
import threading
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QThreadPool

import protolabel.app.controllers.project as project_controller
from protolabel.app.controllers.read_ahead import ImageReadAhead
from protolabel.app.qt_bridge import MainThreadInvoker


def _write(path: Path, value: int, size=(30, 40)) -> None:
    cv2.imwrite(str(path), np.full((*size, 3), value, np.uint8))


class _CountingReader:
    def __init__(self):
        self.calls: list[tuple[Path, bool]] = []  # (path, on the UI thread)
        self.ui_thread = threading.get_ident()

    def __call__(self, path: Path):
        self.calls.append((path, threading.get_ident() == self.ui_thread))
        return project_controller._read(path)


def test_neighbours_are_read_on_a_worker_and_taken_while_unchanged(qtbot, tmp_path):
    a, b, c = (tmp_path / f"{n}.png" for n in "abc")
    for value, path in enumerate((a, b, c)):
        _write(path, 50 * value)
    reader, pool = _CountingReader(), QThreadPool()
    ahead = ImageReadAhead(reader, MainThreadInvoker(), pool)
    ahead.keep([a, b])
    assert pool.waitForDone(10_000)
    assert sorted(p for p, _ in reader.calls) == [a, b] and not any(ui for _, ui in reader.calls)
    image, error = ahead.take(b)
    assert error is None and int(image[0, 0, 0]) == 50

    ahead.keep([a, b])  # already held and unchanged: not read again
    assert pool.waitForDone(10_000) and len(reader.calls) == 2

    _write(b, 200, size=(31, 40))  # the file changed on disk after it was read ahead: never shown stale
    os.utime(b, ns=(1, 1))
    assert ahead.take(b) is None
    ahead.keep([b, c], hold=[a])  # b re-read, c read, a kept as held, nothing else
    assert pool.waitForDone(10_000)
    assert int(ahead.take(b)[0][0, 0, 0]) == 200 and ahead.take(c) is not None and ahead.take(a) is not None
    ahead.keep([c])
    assert ahead.take(a) is None and ahead.take(b) is None and len(ahead) == 1


def test_a_waiter_gets_the_read_when_it_ends_and_errors_are_kept(qtbot, tmp_path):
    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    _write(good, 9)
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    gate = threading.Event()

    def slow_read(path):
        gate.wait(10)
        return project_controller._read(path)

    ahead = ImageReadAhead(slow_read, MainThreadInvoker(), QThreadPool())
    ahead.keep([good, bad])
    got = []
    assert ahead.when_read(good, lambda image, error: got.append((image, error)))
    assert ahead.take(good) is None  # not read yet
    gate.set()
    qtbot.waitUntil(lambda: len(got) == 1, timeout=10_000)
    assert got[0][1] is None and int(got[0][0][0, 0, 0]) == 9
    qtbot.waitUntil(lambda: ahead.take(bad) is not None, timeout=10_000)
    image, error = ahead.take(bad)
    assert image is None and "bad.png" in error
    assert not ahead.when_read(good, lambda *_: None)  # already read: take() it instead


def test_moving_to_the_next_image_uses_the_decoded_neighbour(make_window, qtbot, tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(4):
        _write(folder / f"img{i}.png", 40 * i + 10)
    ui_reads = []
    real_read, ui_thread = project_controller._read, threading.get_ident()

    def recording_read(path):
        if threading.get_ident() == ui_thread:
            ui_reads.append(Path(path).name)
        return real_read(path)

    monkeypatch.setattr(project_controller, "_read", recording_read)
    window = make_window()
    window.projects._read_ahead._read = recording_read
    assert window.projects.open_folder(folder)
    window.projects.wait_for_scan()
    qtbot.waitUntil(lambda: window.projects.project is not None and window.projects.project.current_name == "img0.png")
    ahead = window.projects._read_ahead
    qtbot.waitUntil(lambda: ahead.take(folder / "img1.png") is not None, timeout=10_000)
    ui_reads.clear()

    window.projects.go(1)
    assert window.projects.project.current_name == "img1.png"
    assert ui_reads == []  # shown from the read-ahead, no decode on the UI thread
    assert window.canvas._image_wh == (40, 30)
    qtbot.waitUntil(lambda: ahead.take(folder / "img2.png") is not None, timeout=10_000)

    _write(folder / "img2.png", 250, size=(20, 25))  # changed on disk after it was read ahead
    window.projects.go(1)
    assert ui_reads == ["img2.png"] and window.canvas._image_wh == (25, 20)  # the new file, not the stale one


def test_a_large_neighbour_still_being_read_ahead_is_waited_for_not_read_twice(make_window, qtbot, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    _write(folder / "a_small.png", 5)
    cv2.imwrite(str(folder / "b_big.png"), np.random.default_rng(0).integers(0, 256, (900, 900, 3), np.uint8))
    assert (folder / "b_big.png").stat().st_size > project_controller.SYNC_READ_MAX_BYTES
    gate, reads = threading.Event(), []

    def gated_read(path):
        reads.append(Path(path).name)
        gate.wait(20)
        return project_controller._read(path)

    window = make_window()
    window.projects._read_ahead._read = gated_read
    assert window.projects.open_folder(folder)
    window.projects.wait_for_scan()
    qtbot.waitUntil(lambda: reads == ["b_big.png"], timeout=10_000)  # read ahead, held at the gate
    shown = []
    window.projects.image_shown.connect(shown.append)
    window.projects.go(1)
    assert shown == [] and window.canvas._image_wh == (40, 30)  # still the small image while b is read
    gate.set()
    qtbot.waitUntil(lambda: shown == ["b_big.png"], timeout=20_000)
    assert window.canvas._image_wh == (900, 900) and reads == ["b_big.png", "a_small.png"]  # b read once
