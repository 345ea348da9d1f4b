"""Per-object review speed on the real MainWindow: a 200-image folder, 40 auto objects per image.

Sections (run by name; all by default):
  next    Time to show the next unverified object: Tab, until the object is selected, zoomed to and the
          canvas and the objects list painted (goal <= 50 ms). Median and p95 over many presses inside
          an image, and over presses that open the next image (the last object of an image selected first).
  filter  The score filter applied over the open image: slider moved, objects hidden or shown on the
          canvas and the list, both painted (goal <= 16 ms). Median and p95.

"Painted" is counted, not forced: each step lasts until the canvas and the list have each painted
once after the change (an event filter counts their paint events; a view the event loop did not
paint is repainted then). Until 2026-11-29 each step also forced a second paint of both after the
event loop had painted them, which no one looking at the window waits for (`--paint twice` measures
that way, for comparison).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/review.py [next filter] [--images 200]
        [--objects 40] [--presses 400] [--paint once|twice]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEvent, QObject, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from protolabel.segmentation.geometry.shapes import Polygon, Shape  # noqa: E402
from protolabel.segmentation.project.records import AnnotatedObject  # noqa: E402
from protolabel.segmentation.project.store import ProjectStore  # noqa: E402

WIDTH, HEIGHT = 640, 480


def _star(cx: float, cy: float, radius: float, points: int, rng: np.random.Generator) -> Shape:
    angles = np.linspace(0, 2 * np.pi, points, endpoint=False)
    radii = radius * rng.uniform(0.5, 1.0, points)
    return Shape((Polygon(np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)),))


def pre_labelled_folder(root: Path, images: int, objects: int) -> Path:
    """`images` 640x480 JPEGs (hard links to one file), each with `objects` auto objects written to the store."""
    folder = root / "review"
    folder.mkdir()
    source = root / "source.jpg"
    rng = np.random.default_rng(0)
    cv2.imwrite(str(source), rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8))
    with ProjectStore.open(folder) as store:
        for i in range(images):
            name = f"img{i:04d}.jpg"
            os.link(source, folder / name)
            store.replace_auto_objects(
                name,
                [
                    AnnotatedObject(
                        f"class_{k % 8}",
                        _star(rng.uniform(40, WIDTH - 40), rng.uniform(40, HEIGHT - 40), rng.uniform(8, 60), 24, rng),
                        score=float(rng.uniform(0.05, 1)),
                    )
                    for k in range(objects)
                ],
                image_size=(HEIGHT, WIDTH),
            )
    return folder


def make_window(app, work: Path, folder: Path):
    from protolabel.app.main_window import MainWindow

    window = MainWindow(settings=QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1500, 940)
    window.show()
    app.processEvents()
    window.open_folder(folder)
    window.projects.wait_for_scan()
    for _ in range(20):
        app.processEvents()
    return window


def _stats(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"median {statistics.median(ms):6.1f} ms, p95 {p95:6.1f} ms, max {ms[-1]:6.1f} ms (n={len(ms)})"


class PaintCounter(QObject):
    """Counts the paint events of the canvas and the objects list."""

    def __init__(self, window, paint_twice: bool) -> None:
        super().__init__()
        self.views = [window.canvas.viewport(), window.objects_dock.list.viewport()]
        self.paints = {id(view): 0 for view in self.views}
        self.paint_twice = paint_twice
        for view in self.views:
            view.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Paint and id(watched) in self.paints:
            self.paints[id(watched)] += 1
        return False

    def counts(self) -> list[int]:
        return [self.paints[id(view)] for view in self.views]

    def finish(self, app, since: list[int]) -> None:
        """Let the event loop paint; repaint a view it did not paint since `since` (or every view, again,
        in the old paint-twice way)."""
        app.processEvents()
        for view, before, now in zip(self.views, since, self.counts()):
            if self.paint_twice or now == before:
                view.repaint()


def _press_next(app, window, painter: PaintCounter) -> float:
    """One Tab: until the next object is selected and zoomed to, and the canvas and list painted. Returns seconds."""
    action = window.actions_by_name["next_unverified"]
    before = (window.projects.project.current_name, window.selection.ids)
    start = time.perf_counter()
    action.trigger()
    while (window.projects.project.current_name, window.selection.ids) == before or not window.selection.ids:
        app.processEvents()
        if time.perf_counter() - start > 5:
            raise RuntimeError("Tab showed no object within 5 s")
    painter.finish(app, painter.counts())
    return time.perf_counter() - start


def section_next(app, window, presses: int, painter: PaintCounter) -> None:
    project = window.projects.project
    within, switching = [], []
    for _ in range(presses):
        name = project.current_name
        elapsed = _press_next(app, window, painter)
        (within if project.current_name == name else switching).append(elapsed)
    for _ in range(max(20, presses // 10)):  # the last object of the image selected: Tab opens the next image
        last = max(o.id for o in project.current.objects)
        window.selection.set([last])
        app.processEvents()
        name = project.current_name
        elapsed = _press_next(app, window, painter)
        assert project.current_name != name
        switching.append(elapsed)
    print(f"next unverified, same image:  {_stats(within)}")
    print(f"next unverified, next image:  {_stats(switching)}")
    print(f"next unverified, all presses: {_stats(within + switching)}   (goal <= 50 ms)")


def section_filter(app, window, repeats: int, painter: PaintCounter) -> None:
    slider = window.objects_dock.score_slider
    times = []
    values = [30, 70, 10, 90, 50, 0]
    for i in range(repeats):
        since = painter.counts()
        start = time.perf_counter()
        slider.setValue(values[i % len(values)])
        painter.finish(app, since)
        times.append(time.perf_counter() - start)
    hidden = len(window.canvas.hidden_ids())
    print(
        f"score filter over the open image ({len(window.projects.project.current)} objects, "
        f"{hidden} hidden at the last value): {_stats(times)}   (goal <= 16 ms)"
    )


SECTIONS = {"next": section_next, "filter": section_filter}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", help=f"sections to run: {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--objects", type=int, default=40)
    parser.add_argument("--presses", type=int, default=400)
    parser.add_argument(
        "--paint",
        choices=("once", "twice"),
        default="once",
        help="once: until each view painted once (default); twice: also repaint both after",
    )
    args = parser.parse_args(argv)
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section {unknown[0]!r}; choose from {', '.join(SECTIONS)}")
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        folder = pre_labelled_folder(work, args.images, args.objects)
        print(
            f"folder: {args.images} images x {args.objects} auto objects, written in "
            f"{time.perf_counter() - start:.1f} s"
        )
        window = make_window(app, work, folder)
        painter = PaintCounter(window, paint_twice=args.paint == "twice")
        try:
            for name in args.sections or list(SECTIONS):
                SECTIONS[name](app, window, args.presses, painter)
        finally:
            window.close()


if __name__ == "__main__":
    main()
