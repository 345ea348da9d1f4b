"""Screenshot of a propagated correction: a red ball rolling over grass, a track the tracker let slip below the
ball from frame 10 on, a person's correction on frame 10 carried to the following frames by Propagate
Correction (Ctrl+P), shown on frame 16 with the track's bar and keyframe marker on the timeline.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_propagation_screenshot.py

No YOLACT weights are needed: the "model" here finds the red ball by its colour (the window's engine cache is
handed it), so the picture shows the window's propagation, not a model's accuracy. Saves
`propagated-correction.png` here.
"""

from __future__ import annotations

import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from PySide6.QtWidgets import QApplication
from skimage import data
from window_driving import settle, wait

HERE = Path(__file__).resolve().parent
WIDTH, HEIGHT, FRAMES = 480, 320, 30
CORRECTED, SHOWN = 10, 16


def ball_centre(t: int) -> tuple[int, int]:
    return 60 + 12 * t, 170 - int(40 * np.sin(t / 9))


def write_video(path: Path) -> None:
    """The ball rolling right over grass, 30 frames of 480 x 320 H.264."""
    grass = cv2.resize(data.grass(), (WIDTH, HEIGHT))
    background = np.dstack([grass * 0.35, grass * 0.8, grass * 0.45]).astype(np.uint8)  # BGR, green
    container = av.open(str(path), mode="w")
    stream = container.add_stream("libx264", rate=30, options={"crf": "18"})
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    for t in range(FRAMES):
        frame = background.copy()
        cv2.circle(frame, ball_centre(t), 26, (40, 40, 220), -1, cv2.LINE_AA)
        cv2.circle(frame, (ball_centre(t)[0] - 8, ball_centre(t)[1] - 9), 7, (170, 170, 255), -1, cv2.LINE_AA)
        video_frame = av.VideoFrame.from_ndarray(frame, format="bgr24")
        video_frame.pts, video_frame.time_base = t, Fraction(1, 30)
        container.mux(stream.encode(video_frame))
    container.mux(stream.encode())
    container.close()


class RedBallModel:
    """Finds the red ball by its colour: one detection of 'sports ball' per frame."""

    device = "cpu"

    def predict(self, images, _settings=None):
        from protolabel.segmentation.detections import Detections
        from protolabel.segmentation.geometry.box_masks import BoxMasks

        out = []
        for image in images:
            b, g, r = (image[:, :, i].astype(int) for i in range(3))
            mask = (r > 150) & (g < 130)
            mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)).astype(bool)
            ys, xs = np.nonzero(mask)
            box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
            h, w = mask.shape
            out.append(
                Detections(
                    image_size=(h, w),
                    classes=np.array([0]),
                    scores=np.array([0.93], np.float32),
                    boxes=box,
                    boxes_rel=box / np.array([w, h, w, h], np.float32),
                    masks=BoxMasks.from_dense(mask[None]),
                    coefficients=np.array([[0.9, -0.2, 0.5, -0.2]], np.float32),
                    prototypes=np.ones((h // 4, w // 4, 4), np.float32),
                    class_names=("sports ball",),
                    category_ids=(37,),
                )
            )
        return out


def slipped(t: int):
    """The tracker's shape on frame t: the ball's, but from frame CORRECTED on it slid 30 px low (its shadow)."""
    from protolabel.segmentation.geometry.outlines import mask_to_shape

    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    x, y = ball_centre(t)
    cv2.circle(mask, (x, y + (30 if t >= CORRECTED else 0)), 26, 1, -1)
    return mask_to_shape(mask.astype(bool))


def write_project(folder: Path) -> int:
    """The video recorded in the project with its slipped track; returns the track id."""
    from protolabel.segmentation.geometry.provenance import Provenance
    from protolabel.segmentation.media.reader import VideoReader
    from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
    from protolabel.segmentation.project.video_store import VideoStore

    with VideoReader(folder / "ball.mp4") as reader, VideoStore.open(folder) as store:
        video, keys = store.record_video("ball.mp4", reader.index)
        track = store.create_track(video.id, "sports ball").tracks_after[0].id
        for t, key in enumerate(keys):
            saved = [AnnotatedObject("sports ball", slipped(t), Provenance.AUTO, 0.9, track_id=track)]
            store.write_change(key, saved=saved, status=ImageStatus.AUTO_LABELED)
        store.set_setting("labels", ["sports ball"])
    return track


def main() -> None:
    app = QApplication(sys.argv[:1])

    from PySide6.QtCore import QSettings

    from protolabel.app.main_window import MainWindow
    from protolabel.segmentation.geometry.outlines import mask_to_shape
    from protolabel.segmentation.project.video_store import frame_key

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "footage"
        folder.mkdir()
        write_video(folder / "ball.mp4")
        track = write_project(folder)
        window = MainWindow(settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window.resize(1400, 900)
        window.move(0, 0)
        window.show()
        model = RedBallModel()
        window.autolabel.engines.get = lambda settings, on_load=None: model
        window.options.use_weights(str(Path(tmp) / "ball-finder.pth"))
        window.open_folder(folder)
        project = window.projects.project
        wait(app, lambda: len(project.images.sequences.get("ball.mp4", ())) == FRAMES, timeout_s=30)
        key = frame_key("ball.mp4", CORRECTED)
        project.set_current(key)
        wait(app, lambda: project.current_name == key and len(window.canvas.items_by_id) == 1)
        (obj,) = project.document(key).objects
        doc = project.document(key)
        mask = np.zeros((HEIGHT, WIDTH), np.uint8)
        cv2.circle(mask, ball_centre(CORRECTED), 26, 1, -1)
        window.history.push(key, doc, doc.apply(doc.edit_shape(obj.id, mask_to_shape(mask.astype(bool)))))
        window.selection.set([obj.id])
        window.tracks.tracks.select(track)
        window.actions_by_name["propagate_track"].trigger()
        wait(app, lambda: not window.propagation.busy, timeout_s=60)
        message = window.statusBar().currentMessage()
        shown = frame_key("ball.mp4", SHOWN)
        project.set_current(shown)
        wait(app, lambda: project.current_name == shown and len(window.canvas.items_by_id) == 1)
        window.tracks.tracks.select(track)
        window.statusBar().showMessage(message, 60000)
        settle(app, 1.5)
        print(message)
        window.grab().save(str(HERE / "propagated-correction.png"))
        window.close()


if __name__ == "__main__":
    main()
