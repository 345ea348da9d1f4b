"""One writer per folder, in the app: a second window or another process on the same folder is refused, by name."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

HOLDER = textwrap.dedent("""
    import sys
    from protolabel.segmentation.project.lock import FolderLock
    from protolabel.segmentation.project.store import ProjectStore
    store = ProjectStore.open(sys.argv[1])  # creates .protolabel/ as the app does
    lock = FolderLock.acquire(sys.argv[1], program="other-protolabel")
    print("held", flush=True)
    sys.stdin.readline()
    lock.release()
    store.close()
""")


def start_holder(folder: Path) -> subprocess.Popen:
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.stdin.write("\n")
    proc.stdin.flush()
    proc.wait(20)


def test_folder_held_by_another_process_is_refused_naming_it(make_window, photo_folder):
    holder = start_holder(photo_folder)
    window = make_window()
    try:
        assert window.open_folder(photo_folder) is False
        assert window.projects.project is None
        assert f"pid {holder.pid} on {socket.gethostname()}" in window.last_error
        assert "other-protolabel" in window.last_error
    finally:
        stop(holder)
    assert window.open_folder(photo_folder) is True  # the other process quit: the folder opens
    assert window.projects.project is not None


def test_second_window_is_refused_until_the_first_closes_the_folder(make_window, photo_folder, tmp_path):
    first, second = make_window(), make_window()
    assert first.open_folder(photo_folder)
    assert second.open_folder(photo_folder) is False
    assert second.projects.project is None and f"pid {os.getpid()}" in second.last_error
    assert first.projects.project is not None  # the first window keeps working
    assert first.open_folder(photo_folder)  # reopening its own folder keeps its lock
    assert second.open_folder(photo_folder) is False
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.png").write_bytes((photo_folder / "coffee.png").read_bytes())
    assert first.open_folder(other)  # moving on to another folder frees the first
    assert second.open_folder(photo_folder)
    assert first.open_folder(photo_folder) is False
    second.close()  # closing the window frees it too
    assert first.open_folder(photo_folder)


DELETER = textwrap.dedent("""
    import sys
    from protolabel.segmentation.project.store import ProjectStore
    with ProjectStore.open(sys.argv[1]) as store:
        (obj,) = store.objects("astronaut.png")
        store.write_change("astronaut.png", removed=[obj])
""")


def test_an_edit_of_an_object_another_process_deleted_is_refused_never_resurrected(make_window, photo_folder, qtbot):
    from protolabel.segmentation.geometry import Polygon, Shape
    from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
    from protolabel.segmentation.project.store import ProjectStore

    square = Shape((Polygon(((10, 10), (30, 10), (30, 30), (10, 30))),))
    with ProjectStore.open(photo_folder) as store:
        (cat,) = store.write_change("astronaut.png", saved=[AnnotatedObject("cat", square)], status=ImageStatus.EDITED)
    window = make_window()
    assert window.open_folder(photo_folder)
    qtbot.waitUntil(lambda: window.projects.project.current_name == "astronaut.png")
    repo = Path(__file__).resolve().parents[2]
    subprocess.run(
        [sys.executable, "-c", DELETER, str(photo_folder)],
        cwd=repo,
        check=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    window.selection.set([cat.id])
    window.give_class_number(1)  # a stale relabel of the deleted object
    assert window.last_error is not None and "deleted by another window or program" in window.last_error
    with ProjectStore.open(photo_folder) as store:
        assert store.objects("astronaut.png") == []
