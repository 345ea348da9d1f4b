"""`protolabel self-test`: prove an installation (or a bundle) works end to end, offscreen.

Opens the main window, builds a seeded checkpoint in the official layout, auto-labels one drawn image,
exports COCO, reads the export back with pycocotools, and exits 0. Everything lives in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

JOB_TIMEOUT_S = 600.0
CHECKPOINT_CONFIG = "yolact_resnet50"


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "self-test",
        help="offscreen: open the window, auto-label one image with a built model, export COCO",
        description="Check this installation end to end without a screen or a download; exit status 0 when it works.",
    )
    parser.add_argument(
        "--keep",
        default=None,
        metavar="FOLDER",
        help="work in this (new or empty) folder and keep it, instead of a temporary one",
    )
    parser.set_defaults(func=run)


def draw_test_image(path: Path) -> None:
    """A small photo-like scene: a few filled shapes on a gradient."""
    import cv2
    import numpy as np

    height, width = 240, 320
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = np.linspace(60, 200, width, dtype=np.uint8)[None, :, None]
    cv2.circle(image, (90, 120), 55, (30, 140, 240), -1)
    cv2.rectangle(image, (170, 60), (290, 200), (60, 200, 80), -1)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"cannot write {path}")


def build_checkpoint(folder: Path) -> Path:
    """An official-layout checkpoint with seeded weights (no download), named so its config is read from it."""
    from protolabel.segmentation.yolact.synthetic import write_synthetic_checkpoint

    return write_synthetic_checkpoint(folder / f"{CHECKPOINT_CONFIG}_0_0.pth", CHECKPOINT_CONFIG, seed=0)


def run(args: argparse.Namespace) -> int:
    if args.keep:
        work = Path(args.keep).expanduser()
        if work.exists() and (not work.is_dir() or any(work.iterdir())):
            print(f"protolabel self-test: {work} must be a new or empty folder", file=sys.stderr)
            return 2
        work.mkdir(parents=True, exist_ok=True)
        return self_test(work)
    with tempfile.TemporaryDirectory(prefix="protolabel-self-test-") as tmp:
        return self_test(Path(tmp))


def self_test(work: Path) -> int:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported: no screen needed
    started = time.monotonic()
    steps: list[str] = []

    def step(text: str) -> None:
        steps.append(text)
        print(f"[{time.monotonic() - started:6.1f} s] {text}", flush=True)

    try:
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from protolabel.app.event_loop import wait_until
        from protolabel.app.main_window import MainWindow
        from protolabel.segmentation.model_manager import ModelManager
        from protolabel.segmentation.project.records import ImageStatus

        app = QApplication.instance() or QApplication(sys.argv[:1])
        images = work / "images"
        images.mkdir()
        draw_test_image(images / "scene.png")
        checkpoint = build_checkpoint(work)
        step(f"built {checkpoint.name}")
        settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, model_manager=ModelManager(work / "model-cache"))
        window.show()
        app.processEvents()
        no_icon = [
            a.text().replace("&", "") for a in window.toolbar.actions() if not a.isSeparator() and a.icon().isNull()
        ]
        if window.windowIcon().isNull() or no_icon:
            raise RuntimeError(
                f"icons missing (resources/ not found or incomplete): window icon "
                f"{'missing' if window.windowIcon().isNull() else 'ok'}, toolbar: {no_icon or 'ok'}"
            )
        step("window open, icons loaded")
        if not window.open_folder(str(images)):
            raise RuntimeError(f"could not open {images}: {window.last_error}")
        window.options.weights = str(checkpoint)
        window.options.device = "cpu"
        window.options.score_threshold = 0.0
        window.options.top_k = 10
        window.actions_by_name["autolabel_image"].trigger()
        wait_until(
            app, lambda: not window.autolabel.busy and not window.canvas.building, JOB_TIMEOUT_S, "auto-labeling"
        )
        project = window.projects.project
        if project.images.status("scene.png") is not ImageStatus.AUTO_LABELED:
            raise RuntimeError(f"scene.png was not auto-labeled: {window.last_error}")
        objects = len(window.canvas.items_by_id)
        step(f"auto-labeled scene.png: {objects} object(s)")

        results: list[tuple] = []
        window.exporter.finished.connect(lambda *result: results.append(result))
        out = work / "annotations.json"
        window.exporter.export(out, verified_only=False, validate=True)
        wait_until(app, lambda: bool(results), JOB_TIMEOUT_S, "the COCO export")
        _, _, error = results[0]
        if error is not None:
            raise RuntimeError(f"export failed: {error}")
        annotations = read_coco(out)
        if annotations != objects:
            raise RuntimeError(f"{out.name} holds {annotations} annotation(s), the window showed {objects}")
        step(f"exported COCO: {annotations} annotation(s), read back with pycocotools")
        window.close()
        app.processEvents()
    except Exception as exc:  # the point of a self-test: one line saying what broke, not a traceback
        print(
            f"protolabel self-test: FAILED after '{steps[-1] if steps else 'start'}': {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 1
    print(f"protolabel self-test: passed in {time.monotonic() - started:.1f} s")
    return 0


def read_coco(path: Path) -> int:
    """Annotation count of a COCO file, as pycocotools loads it (an independent reader)."""
    import contextlib
    import io

    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco = COCO(str(path))
    return len(coco.getAnnIds())
