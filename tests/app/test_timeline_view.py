"""The timeline widget over one Timeline model: drawing, keys, scrubbing, playback and the frame it asks for."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest

from protolabel.app.docks.timeline import (
    CURSOR_COLOR,
    KEYS,
    LANE_GAP,
    LANE_H,
    MARKER_COLORS,
    TimelineView,
    pixel_spans,
    tick_step,
)
from protolabel.segmentation.project.timeline import Marker, Timeline


@pytest.fixture
def view(qtbot):
    """A 200-frame timeline at 25 fps in a 1000-pixel-wide view (a frame is about 4.5 pixels)."""
    widget = TimelineView(Timeline(200, rate=25))
    qtbot.addWidget(widget)
    widget.resize(1000, widget.sizeHint().height())
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _lane_y(widget: TimelineView, lane: int) -> int:
    return widget._lanes_top() + lane * (LANE_H + LANE_GAP) + LANE_H // 2


def _pixel(widget: TimelineView, frame: int, lane: int) -> QColor:
    image = widget.grab().toImage()
    ratio = image.devicePixelRatio()
    x = widget.frame_x(frame)  # a cell's first pixel: its last one may be the gap to the next frame
    return image.pixelColor(int(x * ratio), int(_lane_y(widget, lane) * ratio))


def test_markers_and_the_track_bar_are_drawn_where_their_frames_are(view):
    timeline = view.timeline
    timeline.set_markers(Marker.EDITED, [40])
    timeline.set_markers(Marker.REVIEWED, [10, 11, 12])
    timeline.set_track(3, [100, 101, 102, 150])
    lanes = list(MARKER_COLORS)
    edited, reviewed, track = lanes.index(Marker.EDITED), lanes.index(Marker.REVIEWED), len(lanes)
    assert _pixel(view, 40, edited) == MARKER_COLORS[Marker.EDITED]
    assert _pixel(view, 41, edited) != MARKER_COLORS[Marker.EDITED]
    assert _pixel(view, 11, reviewed) == MARKER_COLORS[Marker.REVIEWED]
    assert _pixel(view, 101, track) == view.track_color
    assert _pixel(view, 120, track) != view.track_color  # the gap between two runs of the track
    assert _pixel(view, 150, track) == view.track_color
    timeline.set_markers(Marker.EDITED, [])
    assert _pixel(view, 40, edited) != MARKER_COLORS[Marker.EDITED]
    view.resize(500, view.height())  # half as wide: the drawn columns follow
    assert _pixel(view, 11, reviewed) == MARKER_COLORS[Marker.REVIEWED]
    assert _pixel(view, 150, track) == view.track_color and _pixel(view, 120, track) != view.track_color


def test_pixel_spans_merge_frames_that_share_or_touch_pixels():
    assert pixel_spans((), 0, 10, 1) == []
    assert pixel_spans((0, 1, 2, 5), 100, 10.0, 1) == [(100, 109), (110, 119), (120, 129), (150, 159)]
    assert pixel_spans((0, 1, 2, 5), 100, 10.0, 0) == [(100, 130), (150, 160)]  # bars: consecutive frames join
    assert pixel_spans((0, 1), 0, 1.0, 1) == [(0, 2)]  # one pixel a frame: no room for a gap
    assert pixel_spans((0, 1, 3), 0, 2.5, 1) == [(0, 5), (7, 10)]  # too narrow for gaps: runs join, no hatching
    assert pixel_spans(tuple(range(1000)), 0, 0.01, 1) == [(0, 10)]  # 100 frames a pixel
    assert pixel_spans((0, 500, 501), 0, 0.01, 0) == [(0, 1), (5, 6)]


def test_the_cursor_is_drawn_on_its_frame(view):
    view.timeline.scrub_to(120)
    image = view.grab().toImage()
    x = round(view.frame_x(120.5) * image.devicePixelRatio())
    y = round(_lane_y(view, 1) * image.devicePixelRatio())
    assert image.pixelColor(x, y) == CURSOR_COLOR


def test_a_moved_cursor_asks_for_its_frame(view, qtbot):
    wanted = []
    view.frame_wanted.connect(wanted.append)
    view.timeline.step(5)
    view.timeline.step(-1)
    view.timeline.home()
    view.timeline.home()  # no move: nothing asked
    assert wanted == [5, 4, 0]


@pytest.mark.parametrize(
    ("key", "modifier", "start", "expected"),
    [
        (Qt.Key.Key_Right, Qt.KeyboardModifier.NoModifier, 50, 51),
        (Qt.Key.Key_Left, Qt.KeyboardModifier.NoModifier, 50, 49),
        (Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier, 50, 60),
        (Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier, 50, 40),
        (Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier, 3, 0),
        (Qt.Key.Key_Home, Qt.KeyboardModifier.NoModifier, 50, 0),
        (Qt.Key.Key_End, Qt.KeyboardModifier.NoModifier, 50, 199),
        (Qt.Key.Key_Down, Qt.KeyboardModifier.NoModifier, 50, 60),  # next keyframe
        (Qt.Key.Key_Up, Qt.KeyboardModifier.NoModifier, 50, 30),
        (Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier, 50, 77),  # next unreviewed
        (Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier, 50, 5),
        (Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier, 50, 123),  # next edited by a person
        (Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier, 50, 44),
        (Qt.Key.Key_Right, Qt.KeyboardModifier.KeypadModifier, 50, 51),  # the keypad's arrow
        (Qt.Key.Key_Down, Qt.KeyboardModifier.NoModifier, 199, 199),  # no keyframe after: stays
    ],
)
def test_keys_move_the_cursor(view, key, modifier, start, expected):
    timeline = view.timeline
    timeline.set_markers(Marker.KEYFRAME, [0, 30, 60, 90])
    timeline.set_markers(Marker.UNREVIEWED, [5, 77])
    timeline.set_markers(Marker.EDITED, [44, 123])
    timeline.scrub_to(start)
    QTest.keyClick(view, key, modifier)
    assert timeline.cursor == expected


def test_every_listed_key_is_handled(view):
    """Each key of KEYS reaches the model (the help and docs list exactly these)."""
    from PySide6.QtGui import QKeySequence

    timeline = view.timeline
    handled = []
    for key in KEYS:
        timeline.scrub_to(100)
        timeline.set_markers(Marker.KEYFRAME, [50, 150])
        timeline.set_markers(Marker.UNREVIEWED, [50, 150])
        timeline.set_markers(Marker.EDITED, [50, 150])
        combination = QKeySequence(key.keys)[0]
        QTest.keyClick(view, combination.key(), combination.keyboardModifiers())
        handled.append(timeline.cursor != 100 or timeline.playing)
        timeline.pause()
    assert all(handled), [k.keys for k, h in zip(KEYS, handled) if not h]


def test_space_plays_to_the_last_frame_then_stops(qtbot):
    view = TimelineView(Timeline(12, rate=400))
    qtbot.addWidget(view)
    view.show()
    wanted = []
    view.frame_wanted.connect(wanted.append)
    assert view.clock.interval() == round(1000 / 400)
    QTest.keyClick(view, Qt.Key.Key_Space)
    assert view.timeline.playing and view.clock.isActive()
    qtbot.waitUntil(lambda: not view.timeline.playing, timeout=5000)
    assert view.timeline.cursor == 11 and not view.clock.isActive()
    assert wanted == list(range(1, 12))  # every frame in order, none skipped by the clock itself


def test_space_pauses_and_a_new_rate_changes_the_clock(view):
    QTest.keyClick(view, Qt.Key.Key_Space)
    assert view.clock.isActive()
    view.timeline.set_rate(50)
    assert view.clock.interval() == 20
    QTest.keyClick(view, Qt.Key.Key_Space)
    assert not view.timeline.playing and not view.clock.isActive()


def test_click_and_drag_scrub(view, qtbot):
    y = _lane_y(view, 0)
    QTest.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(round(view.frame_x(80.5)), y))
    assert view.timeline.cursor == 80
    QTest.mouseMove(view, QPoint(round(view.frame_x(130.5)), y))
    # QTest.mouseMove carries no button state; send a real drag event
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent

    def drag(x: float) -> None:
        event = QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(x, y),
            view.mapToGlobal(QPointF(x, y)),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        view.mouseMoveEvent(event)

    drag(view.frame_x(130.5))
    assert view.timeline.cursor == 130
    drag(view.width() + 300)  # past the right end: the last frame
    assert view.timeline.cursor == 199
    drag(-50)
    assert view.timeline.cursor == 0
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(5, y))


def test_frame_at_and_tooltip_text(view):
    timeline = view.timeline
    timeline.set_markers(Marker.EDITED, [7])
    timeline.set_markers(Marker.UNREVIEWED, [7])
    timeline.set_track(12, [7, 8])
    for frame in (0, 7, 199):
        assert view.frame_at(view.frame_x(frame + 0.5)) == frame
    assert view.text_at(view.frame_x(7.5)) == "Frame 7 · edited by a person · not reviewed · track 12"
    assert view.text_at(view.frame_x(9.5)) == "Frame 9"


def test_an_empty_video_draws_and_asks_for_nothing(qtbot):
    view = TimelineView(Timeline(10))
    qtbot.addWidget(view)
    view.show()
    wanted = []
    view.frame_wanted.connect(wanted.append)
    view.timeline.set_video(0)  # the cursor goes away: no frame to show
    for key in (Qt.Key.Key_Right, Qt.Key.Key_End, Qt.Key.Key_Space):
        QTest.keyClick(view, key)
    QTest.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(300, 30))
    assert wanted == [] and view.timeline.cursor is None and not view.clock.isActive()
    assert view.text_at(300) == "No video"
    view.grab()  # paints without a frame to draw


def test_a_closed_view_stops_listening_to_the_model(qtbot):
    timeline = Timeline(30)
    view = TimelineView(timeline)
    view.deleteLater()
    qtbot.waitUntil(lambda: len(timeline.events.cursor_changed) == 0, timeout=2000)
    timeline.step(3)  # a deleted widget would raise here
    assert timeline.cursor == 3


def test_tick_step_keeps_labels_apart():
    assert tick_step(0.1) == 10  # 10 pixels a frame: labels every 10 frames lie 100 px apart
    assert tick_step(1 / 56) == 1
    assert tick_step(1.0) == 100
    assert tick_step(30.0) == 2000
    for frames_per_pixel in (0.01, 0.3, 1.7, 42.0, 999.0):
        step = tick_step(frames_per_pixel)
        assert step / frames_per_pixel >= 56
        assert str(step).strip("0") in ("1", "2", "5")


def test_the_docs_list_every_timeline_key():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "video-app.md").read_text(encoding="utf-8")
    missing = [key.keys for key in KEYS if f"`{key.keys}`" not in page]
    assert not missing, f"docs/video-app.md does not list {missing}"
