"""The coefficient heat strip: cells in diverging colours, empty frames, cursor line, hover and click."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest

from protolabel.app.inspector.heat_strip import CURSOR_COLOR, CoefficientStrip
from protolabel.app.inspector.pictures import diverging_bgr

FIRST = 100
K = 4


def _values() -> np.ndarray:
    """8 frames x 4 coefficients: row 0 rises from -1 to +1, frame 103 has no object."""
    values = np.zeros((8, K), np.float32)
    values[:, 0] = np.linspace(-1, 1, 8)
    values[:, 1] = 0.5
    values[:, 2] = -0.5
    values[3] = np.nan
    return values


@pytest.fixture
def strip(qtbot):
    widget = CoefficientStrip()
    qtbot.addWidget(widget)
    widget.resize(34 + 4 + 8 * 40, widget.sizeHint().height())  # 40 pixels a frame
    widget.set_coefficients(FIRST, _values())
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _centre(strip: CoefficientStrip, frame: int, index: int) -> QPoint:
    rect = strip.strip_rect()
    x = strip.frame_x(frame + 0.5)
    y = rect.top() + (index + 0.5) * rect.height() / K
    return QPoint(round(x), int(y))


def _color(strip: CoefficientStrip, frame: int, index: int) -> QColor:
    image = strip.grab().toImage()
    point = _centre(strip, frame, index)
    return image.pixelColor(point.x(), point.y())


def test_cells_take_the_diverging_colour_of_their_value(strip):
    positive, negative = _color(strip, FIRST, 1), _color(strip, FIRST, 2)  # +0.5 and -0.5
    assert positive.red() > positive.blue() + 60 and negative.blue() > negative.red() + 60
    zero = _color(strip, FIRST, 3)
    assert max(zero.red(), zero.green(), zero.blue()) < 70  # zero is dark grey, not white or a hue
    for frame in (FIRST, FIRST + 7):
        b, g, r = diverging_bgr(np.float32([[_values()[frame - FIRST, 0]]]), 1.0)[0, 0]
        assert _color(strip, frame, 0).getRgb()[:3] == (r, g, b)


def test_a_frame_without_the_object_is_left_empty(strip):
    empty = _color(strip, FIRST + 3, 1)
    assert empty == strip.palette().alternateBase().color()
    assert strip.text_at(_centre(strip, FIRST + 3, 1)) == "Frame 103: the track has no object"


def test_the_cursor_line_follows_the_frame_and_leaves_with_it(strip):
    strip.set_cursor(FIRST + 5)
    image = strip.grab().toImage()
    x = round(strip.frame_x(FIRST + 5.5))
    assert image.pixelColor(x, _centre(strip, FIRST + 5, 1).y()) == CURSOR_COLOR
    strip.set_cursor(FIRST - 1)  # not a frame of this track (it would fall in the index margin): no line
    image = strip.grab().toImage()
    y = _centre(strip, FIRST, 1).y()
    assert all(image.pixelColor(x, y) != CURSOR_COLOR for x in range(strip.width()))


def test_hover_tells_frame_index_and_value(strip):
    seen = []
    strip.hovered.connect(lambda *args: seen.append(args))
    QTest.mouseMove(strip, _centre(strip, FIRST + 7, 1))
    QTest.mouseMove(strip, _centre(strip, FIRST + 2, 0))
    frame, index, value = seen[-1]
    assert (frame, index) == (FIRST + 2, 0) and value == pytest.approx(_values()[2, 0])
    assert seen[-2] == (FIRST + 7, 1, 0.5)
    assert strip.text_at(_centre(strip, FIRST + 7, 2)) == "Frame 107 · coefficient 2 · -0.500"
    QTest.mouseMove(strip, QPoint(5, 5))  # over the index labels: nothing under the mouse
    assert seen[-1][:2] == (-1, -1) and math.isnan(seen[-1][2])


def test_a_click_asks_for_that_frame(strip):
    clicked = []
    strip.frame_clicked.connect(clicked.append)
    QTest.mouseClick(strip, Qt.MouseButton.LeftButton, pos=_centre(strip, FIRST + 6, 3))
    assert clicked == [FIRST + 6]


@pytest.mark.parametrize(
    ("first", "values", "message"),
    [
        (0, np.zeros(5), r"frames x k array, not of shape \(5,\)"),
        (0, np.array([[0.1, np.inf]]), "must be finite"),
        (-3, np.zeros((2, 2)), "the first frame is -3"),
        (10, np.array([[0.1, 0.2], [np.nan, 0.3]]), "frame 11 has some coefficients and not others"),
    ],
)
def test_values_that_cannot_be_shown_are_refused_and_the_old_ones_stay(strip, first, values, message):
    with pytest.raises(ValueError, match=message):
        strip.set_coefficients(first, values)
    assert strip.first_frame == FIRST and strip.values.shape == (8, K)


def test_no_coefficients_draws_a_note_and_reports_no_cell(qtbot):
    strip = CoefficientStrip()
    qtbot.addWidget(strip)
    strip.resize(300, strip.sizeHint().height())
    strip.set_cursor(4)
    strip.grab()
    assert strip.cell_at(QPoint(100, 5)) is None and strip.text_at(QPoint(100, 5)) == ""
    strip.set_coefficients(0, np.zeros((0, 32)))
    strip.grab()
    assert strip.cell_at(QPoint(100, 5)) is None


def test_peak_columns_keep_the_largest_magnitude_and_empty_only_when_all_are():
    from protolabel.app.inspector.heat_strip import peak_columns

    values = np.zeros((6, 2), np.float32)
    values[1, 0] = 0.9  # a one-frame spike in the first pixel column
    values[4, 0] = -0.95  # a negative one in the second, larger than the positive beside it
    values[5, 0] = 0.3
    values[0:3, 1] = np.nan  # the first column's frames are all empty for coefficient 1
    reduced = peak_columns(values, 2)
    assert reduced[:, 0].tolist() == pytest.approx([0.9, -0.95])
    assert math.isnan(reduced[0, 1]) and reduced[1, 1] == 0


def test_a_long_track_shows_a_one_frame_spike(qtbot):
    """5,000 frames on a few hundred pixels: the one frame at +1 still colours its pixel column."""
    values = np.zeros((5000, 2), np.float32)
    values[2345, 0] = 1.0
    strip = CoefficientStrip()
    qtbot.addWidget(strip)
    strip.resize(400, strip.sizeHint().height())
    strip.set_coefficients(0, values)
    image = strip.grab().toImage()
    rect = strip.strip_rect()
    y = rect.top() + rect.height() // 4  # the middle of coefficient 0's row
    reds = [x for x in range(rect.left(), rect.right() + 1) if image.pixelColor(x, y).red() > 150]
    assert reds and all(abs(x - strip.frame_x(2345.5)) <= 1 for x in reds)
