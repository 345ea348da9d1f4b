"""The timeline under the canvas: ruler, marker lanes, the selected track as bars, the cursor; scrub, keys, playback.

It draws a `Timeline` model and changes it only through the model's commands. It never decodes: when the
cursor moves it emits `frame_wanted(frame)` and the wiring fetches that frame on a worker. Playback is a
QTimer at the video's rate that calls `Timeline.advance`; a slow decoder makes frames late, not the UI.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QKeyCombination, QPoint, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QKeySequence, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from protolabel.app.colors import STATUS_COLORS
from protolabel.segmentation.project.records import ImageStatus
from protolabel.segmentation.project.timeline import BIG_STEP, Marker, Timeline

GUTTER = 112  # the frame readout and the lane names on the left
RIGHT_MARGIN = 8
RULER_H = 18
LANE_H = 9
LANE_GAP = 3
GAP_MIN_WIDTH = 4  # pixels a frame needs before neighbouring marked frames are drawn apart
MIN_LABEL_SPACING = 56  # pixels between two frame numbers on the ruler

# A frame's lane has the colour its status has everywhere else (the Images list, the status counts): the
# markers are those statuses (app/controllers/video.py: reviewed = verified, unreviewed = auto-labelled).
MARKER_COLORS = {
    Marker.KEYFRAME: QColor("#c9a227"),
    Marker.EDITED: STATUS_COLORS[ImageStatus.EDITED],
    Marker.REVIEWED: STATUS_COLORS[ImageStatus.VERIFIED],
    Marker.UNREVIEWED: STATUS_COLORS[ImageStatus.AUTO_LABELED],
}
LANE_NAMES = {
    Marker.KEYFRAME: "keyframes",
    Marker.EDITED: "edited",
    Marker.REVIEWED: "reviewed",
    Marker.UNREVIEWED: "unreviewed",
}
MARKER_TEXT = {
    Marker.KEYFRAME: "keyframe",
    Marker.EDITED: "edited by a person",
    Marker.REVIEWED: "reviewed",
    Marker.UNREVIEWED: "not reviewed",
}
CURSOR_COLOR = QColor("#d62f2f")
TRACK_COLOR = QColor("#4f7fd8")


@dataclass(frozen=True)
class TimelineKey:
    """One key of the timeline: what it does to the model, and the text the help lists."""

    keys: str  # a QKeySequence string
    text: str
    command: Callable[[Timeline], object]


# The usual keys of video editors and players: Space, the arrows (Shift: ten frames), Home/End; Up/Down jump
# between keyframes as they jump between edit points in Premiere and Resolve; Ctrl+arrows to the next
# unreviewed frame (the frames a reviewer hunts), Alt+arrows to the next frame a person edited.
KEYS: tuple[TimelineKey, ...] = (
    TimelineKey("Space", "Play or pause", Timeline.toggle_play),
    TimelineKey("Right", "Next frame", lambda t: t.step(1)),
    TimelineKey("Left", "Previous frame", lambda t: t.step(-1)),
    TimelineKey("Shift+Right", f"{BIG_STEP} frames forward", lambda t: t.step(BIG_STEP)),
    TimelineKey("Shift+Left", f"{BIG_STEP} frames back", lambda t: t.step(-BIG_STEP)),
    TimelineKey("Home", "First frame", Timeline.home),
    TimelineKey("End", "Last frame", Timeline.end),
    TimelineKey("Down", "Next keyframe", lambda t: t.next_marker(Marker.KEYFRAME)),
    TimelineKey("Up", "Previous keyframe", lambda t: t.previous_marker(Marker.KEYFRAME)),
    TimelineKey("Ctrl+Right", "Next unreviewed frame", lambda t: t.next_marker(Marker.UNREVIEWED)),
    TimelineKey("Ctrl+Left", "Previous unreviewed frame", lambda t: t.previous_marker(Marker.UNREVIEWED)),
    TimelineKey("Alt+Right", "Next frame a person edited", lambda t: t.next_marker(Marker.EDITED)),
    TimelineKey("Alt+Left", "Previous frame a person edited", lambda t: t.previous_marker(Marker.EDITED)),
)
_COMMANDS = {QKeySequence(key.keys).toString(): key.command for key in KEYS}


def key_text(event: QKeyEvent) -> str:
    """The event as a QKeySequence string ("Shift+Left"); the keypad flag is dropped (keypad arrows count)."""
    modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    return QKeySequence(QKeyCombination(modifiers, event.keyCombination().key())).toString()


def tick_step(frames_per_pixel: float, min_spacing: float = MIN_LABEL_SPACING) -> int:
    """The smallest 1, 2, 5 x 10^n frame step whose labels lie at least min_spacing pixels apart."""
    need = max(frames_per_pixel * min_spacing, 1.0)
    magnitude = 10 ** math.floor(math.log10(need))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= need:
            return int(factor * magnitude)
    return int(10 * magnitude)  # pragma: no cover - the loop always returns


def pixel_spans(frames: tuple[int, ...], left: float, scale: float, gap: int) -> list[tuple[int, int]]:
    """Sorted frames as [start, end) pixel columns, each at least 1 wide, overlapping or touching ones merged.

    `gap` pixels are taken off the right edge of frames at least GAP_MIN_WIDTH wide, so neighbouring frames
    show apart where there is room (narrower, a run of frames would look hatched); with many frames per
    pixel the result has at most one span per pixel column.
    """
    if not frames:
        return []
    index = np.asarray(frames, np.float64)
    starts = np.floor(left + index * scale).astype(np.int64)
    ends = np.floor(left + (index + 1) * scale).astype(np.int64)
    ends = np.where(ends - starts >= max(GAP_MIN_WIDTH, gap + 1), ends - gap, ends)
    ends = np.maximum(ends, starts + 1)
    new = np.flatnonzero(np.r_[True, starts[1:] > np.maximum.accumulate(ends)[:-1]])
    return list(zip(starts[new].tolist(), np.maximum.reduceat(ends, new).tolist()))


class TimelineView(QWidget):
    """Draws a Timeline and drives it with the mouse, the keys of KEYS and a playback clock."""

    frame_wanted = Signal(int)  # the cursor moved to this frame: show it (decode off the UI thread)

    def __init__(self, timeline: Timeline, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline")
        self.timeline = timeline
        self.track_color = QColor(TRACK_COLOR)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._font = QFont(self.font())
        self._font.setPointSizeF(7.5)
        # per lane: (frames, pixels per frame, spans), so playback repaints do not redo the columns
        self._spans: dict[int, tuple[tuple[int, ...], float, list[tuple[int, int]]]] = {}
        self.clock = QTimer(self)
        self.clock.setTimerType(Qt.TimerType.PreciseTimer)
        self.clock.timeout.connect(timeline.advance)
        events = timeline.events
        slots = (
            (events.cursor_changed, self._on_cursor),
            (events.playing_changed, self._on_playing),
            (events.rate_changed, self._on_rate),
            (events.video_changed, self._redraw),
            (events.markers_changed, self._redraw),
            (events.track_changed, self._redraw),
        )
        for signal, slot in slots:
            signal.connect(slot)
        # the model outlives this widget: stop calling a widget whose C++ side is gone
        self.destroyed.connect(lambda *_: [signal.disconnect(slot) for signal, slot in slots])
        self._on_rate(timeline.rate)
        self._on_playing(timeline.playing)

    # ------------------------------------------------------------------ geometry
    def sizeHint(self) -> QSize:
        return QSize(640, self._lanes_top() + 5 * (LANE_H + LANE_GAP) + 2)

    def minimumSizeHint(self) -> QSize:
        return QSize(GUTTER + 120, self.sizeHint().height())

    def _lanes_top(self) -> int:
        return RULER_H + 4

    def _lane_y(self, lane: int) -> int:
        return self._lanes_top() + lane * (LANE_H + LANE_GAP)

    def _scale(self) -> float:
        """Pixels per frame."""
        return max(self.width() - GUTTER - RIGHT_MARGIN, 1) / max(self.timeline.frame_count, 1)

    def frame_x(self, frame: float) -> float:
        """The x of a frame's left edge (frame + 0.5 is its centre)."""
        return GUTTER + frame * self._scale()

    def frame_at(self, x: float) -> int:
        """The frame under an x, clamped to the video (0 for a video with no frames)."""
        count = self.timeline.frame_count
        return min(max(math.floor((x - GUTTER) / self._scale()), 0), max(count - 1, 0))

    def text_at(self, x: float) -> str:
        """What the tooltip says about the frame under x: its number, markers and the selected track."""
        timeline = self.timeline
        if not timeline.frame_count:
            return "No video"
        frame = self.frame_at(x)
        parts = [f"Frame {frame:,}"] + [MARKER_TEXT[kind] for kind in timeline.markers_at(frame)]
        if timeline.track_id is not None and timeline.track_has(frame):
            parts.append(f"track {timeline.track_id}")
        return " · ".join(parts)

    # ------------------------------------------------------------------ model -> view
    def _on_cursor(self, frame: int | None) -> None:
        self.update()
        if frame is not None:
            self.frame_wanted.emit(frame)

    def _on_playing(self, playing: bool) -> None:
        if playing:
            self.clock.start()
        else:
            self.clock.stop()
        self.update()

    def _on_rate(self, rate: float) -> None:
        self.clock.setInterval(max(1, round(1000 / rate)))

    def _redraw(self, *_args: object) -> None:
        self.update()

    def set_track_color(self, color: QColor) -> None:
        """The bar colour of the selected track (its class colour)."""
        self.track_color = QColor(color)
        self.update()

    # ------------------------------------------------------------------ input
    def keyPressEvent(self, event: QKeyEvent) -> None:
        command = _COMMANDS.get(key_text(event))
        if command is None:
            super().keyPressEvent(event)
            return
        command(self.timeline)
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.timeline.scrub_to(self.frame_at(event.position().x()))
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.timeline.scrub_to(self.frame_at(event.position().x()))
        event.accept()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            position = event.pos()  # type: ignore[attr-defined]
            QToolTip.showText(self.mapToGlobal(position), self.text_at(position.x()), self)
            return True
        return super().event(event)

    # ------------------------------------------------------------------ drawing
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setFont(self._font)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        text_pen = QPen(palette.text().color())
        timeline = self.timeline
        lanes = [*MARKER_COLORS, None]  # None: the selected track
        right = self.width() - RIGHT_MARGIN
        for i, kind in enumerate(lanes):
            y = self._lane_y(i)
            name = LANE_NAMES[kind] if kind is not None else self._track_name()
            painter.setPen(text_pen)
            painter.drawText(QRectF(4, y - 2, GUTTER - 8, LANE_H + 4), Qt.AlignmentFlag.AlignVCenter, name)
            painter.fillRect(QRectF(GUTTER, y, right - GUTTER, LANE_H), palette.alternateBase())
            if kind is not None:  # a 1-pixel gap keeps single frames apart where a frame is wide enough
                self._draw_frames(painter, i, timeline.markers(kind), MARKER_COLORS[kind], gap=1)
            else:  # the track as bars: consecutive frames join
                self._draw_frames(painter, i, timeline.track_frames, self.track_color, gap=0)
        self._draw_ruler(painter, text_pen)
        if timeline.cursor is not None:
            x = round(self.frame_x(timeline.cursor + 0.5))
            painter.setPen(QPen(CURSOR_COLOR, 2))
            painter.drawLine(x, 2, x, self.height() - 1)
            painter.fillRect(QRectF(x - 4, 0, 8, 5), CURSOR_COLOR)
        painter.end()

    def _track_name(self) -> str:
        track = self.timeline.track_id
        return "no track" if track is None else f"track {track}"

    def _draw_frames(self, painter: QPainter, lane: int, frames: tuple[int, ...], color: QColor, gap: int) -> None:
        """Fill the pixels of these frames in one lane: at most one rectangle per pixel column."""
        scale = self._scale()
        cached = self._spans.get(lane)
        if cached is None or cached[0] is not frames or cached[1] != scale:  # the model replaces, never mutates
            cached = (frames, scale, pixel_spans(frames, GUTTER, scale, gap))
            self._spans[lane] = cached
        for left, right in cached[2]:
            painter.fillRect(left, self._lane_y(lane), right - left, LANE_H, color)

    def _draw_ruler(self, painter: QPainter, text_pen: QPen) -> None:
        timeline = self.timeline
        count = timeline.frame_count
        painter.setPen(text_pen)
        cursor = timeline.cursor
        state = "▶" if timeline.playing else "❚❚"
        label = f"{state} {cursor:,} / {count - 1:,}" if cursor is not None else "no frames"  # of the last frame
        label = painter.fontMetrics().elidedText(label, Qt.TextElideMode.ElideMiddle, GUTTER - 8)
        painter.drawText(QRectF(4, 0, GUTTER - 8, RULER_H), Qt.AlignmentFlag.AlignVCenter, label)
        if not count:
            return
        scale = self._scale()
        step = tick_step(1 / scale)
        minor = max(step // 5, 1) if step * scale >= 5 * 6 else step
        baseline = RULER_H
        painter.drawLine(GUTTER, baseline, self.width() - RIGHT_MARGIN, baseline)
        for frame in range(0, count, minor):
            x = round(self.frame_x(frame + 0.5))
            major = frame % step == 0
            painter.drawLine(x, baseline - (6 if major else 3), x, baseline)
            if major:
                painter.drawText(QPoint(x + 2, baseline - 7), f"{frame:,}")
