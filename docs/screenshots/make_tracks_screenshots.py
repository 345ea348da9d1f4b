"""Screenshots of editing tracks and of a track's heat strip in the real window, taken under Xvfb.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_tracks_screenshots.py WEIGHTS

Writes a 40-frame video of scikit-image's astronaut photo panning, auto-labels it with WEIGHTS on the CPU
(Auto-label This Video: tracks, and each frame's model output kept), then saves here:
`tracks-dock-edit.png` (two tracks selected, the Tracks dock's context menu) and `track-heat-strip.png`
(the longest track's coefficients frame by frame under the table).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import av
import numpy as np
from PySide6.QtCore import QPoint, QSettings, Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication
from window_driving import settle, wait  # the module beside this script

HERE = Path(__file__).resolve().parent
FRAMES = 40


def write_video(path: Path) -> None:
    """The astronaut photo seen through a 320 x 240 window moving 3 px right and 2 px down a frame."""
    from skimage import data

    photo = data.astronaut()
    container = av.open(str(path), mode="w")
    stream = container.add_stream("libx264", rate=30, options={"g": "10", "crf": "18"})
    stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
    for i in range(FRAMES):
        y, x = 40 + 2 * i, 60 + 3 * i
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(photo[y : y + 240, x : x + 320]), format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()


def main(weights: str) -> None:
    app = QApplication(sys.argv[:1])
    from protolabel.app.main_window import MainWindow
    from protolabel.segmentation.project.video_store import frame_key

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "walk"
        folder.mkdir()
        write_video(folder / "walk.mp4")
        window = MainWindow(settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window.resize(1500, 950)
        window.show()
        window.open_folder(folder)
        window.projects.wait_for_scan()
        project = window.projects.project
        wait(app, lambda: len(project.images.sequences.get("walk.mp4", ())) == FRAMES, what="the video's index")
        project.set_current(frame_key("walk.mp4", 0))
        wait(app, lambda: window.video.video == "walk.mp4", what="the first frame")
        window.options.weights, window.options.device = weights, "cpu"
        window.options.score_threshold, window.options.top_k = 0.0, 4
        window.actions_by_name["autolabel_video"].trigger()
        wait(app, lambda: not window.autolabel.busy, what="the video run")

        dock, tracks = window.tracks.dock, window.tracks.tracks
        for other in (window.inspector.dock, window.autolabel_dock, window.tags_dock):
            other.hide()
        window.resizeDocks([window.objects_dock, dock], [90, 640], Qt.Orientation.Vertical)
        rows = sorted(tracks.rows, key=lambda r: (-r.length, r.track_id))
        longest = rows[0]
        # two tracks next to each other in the list that share no frame: a merge the menu offers
        by_id = sorted(tracks.rows, key=lambda r: r.track_id)
        pair = next(
            (a, b) for a, b in zip(by_id, by_id[1:]) if a.last_frame < b.first_frame or b.last_frame < a.first_frame
        )
        panel = window.track_strip.panel
        panel.hide()  # the table's full height for this one
        project.set_current(frame_key("walk.mp4", pair[0].first_frame))
        wait(app, lambda: window.video.timeline.cursor == pair[0].first_frame, what="the pair's frame")
        tracks.choose([pair[0].track_id, pair[1].track_id], pair[0].track_id)
        dock.table.setFocus()
        dock.table.scrollTo(dock.model.index(dock.model.row_of(pair[1].track_id), 0))
        settle(app, 0.5)

        def shoot_menu() -> None:
            menu = app.activePopupWidget()
            picture = window.grab()
            painter = QPainter(picture)
            painter.drawPixmap(menu.mapToGlobal(QPoint(0, 0)) - window.mapToGlobal(QPoint(0, 0)), menu.grab())
            painter.end()
            picture.save(str(HERE / "tracks-dock-edit.png"))
            menu.close()

        QTimer.singleShot(500, shoot_menu)
        row = dock.model.row_of(pair[1].track_id)
        dock._show_menu(dock.table.visualRect(dock.model.index(row, 0)).center())  # left: the menu fits
        panel.show()

        project.set_current(frame_key("walk.mp4", longest.first_frame + longest.length // 2))
        tracks.select(longest.track_id)
        wait(app, lambda: panel.data is not None and panel.data.track_id == longest.track_id, what="the strip")
        dock.splitter.setSizes([300, 230])
        settle(app, 0.8)
        window.grab().save(str(HERE / "track-heat-strip.png"))
        window.close()


if __name__ == "__main__":
    main(sys.argv[1])
