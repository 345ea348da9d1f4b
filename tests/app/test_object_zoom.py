"""The zoom rule for showing one object (Tab, Y, N, Z): plain numbers, no window."""

from __future__ import annotations

import pytest

from protolabel.app.canvas.object_zoom import MIN_VIEW_PX, fit_scale, object_view, zoom_bounds

VIEW = (670.0, 810.0)  # the canvas of a 1400x900 window (issue 20's screenshots)


def _seen(view, view_wh=VIEW):
    """The image rectangle the view shows: x1, y1, x2, y2."""
    half_w, half_h = view_wh[0] / view.scale / 2, view_wh[1] / view.scale / 2
    return view.centre_x - half_w, view.centre_y - half_h, view.centre_x + half_w, view.centre_y + half_h


def _contains(outer, inner) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3]


def test_a_large_object_is_shown_at_the_whole_image_zoom_not_smaller():
    image = (512.0, 512.0)
    box = (20.0, 30.0, 470.0, 500.0)  # most of the image: object x3 would zoom out to a third of the fit
    view = object_view(box, VIEW, image)
    assert view.scale == pytest.approx(fit_scale(VIEW, image))
    assert (view.centre_x, view.centre_y) == (256.0, 256.0)  # the whole image, centred: no margin on one side only
    assert _contains(_seen(view), box)


def test_a_tiny_object_keeps_its_surroundings():
    image = (512.0, 512.0)
    box = (300.0, 200.0, 304.0, 203.0)  # 4x3 pixels: object x3 alone would zoom to ~5,000 %
    view = object_view(box, VIEW, image)
    x1, y1, x2, y2 = _seen(view)
    assert min(x2 - x1, y2 - y1) >= min(MIN_VIEW_PX, 512 / 3) - 1e-6
    assert view.scale == pytest.approx(zoom_bounds(VIEW, image)[1])
    assert view.scale > fit_scale(VIEW, image)  # still closer than the whole image
    assert _contains((x1, y1, x2, y2), box)


def test_a_medium_object_gets_a_third_of_the_view():
    image = (2000.0, 1500.0)
    box = (1000.0, 700.0, 1100.0, 760.0)  # 100x60: object x3 is 300 px wide, within the bounds
    view = object_view(box, VIEW, image)
    assert view.scale == pytest.approx(VIEW[0] / 300.0)
    assert (view.centre_x, view.centre_y) == (1050.0, 730.0)


def test_an_object_at_the_corner_is_shown_with_the_image_around_it_not_past_its_edge():
    image = (2000.0, 1500.0)
    box = (0.0, 0.0, 40.0, 30.0)
    view = object_view(box, VIEW, image)
    x1, y1, x2, y2 = _seen(view)
    assert (x1, y1) == (pytest.approx(0.0), pytest.approx(0.0))  # the view starts at the image's corner
    assert _contains((x1, y1, x2, y2), box)


def test_bounds_for_a_small_image_and_for_a_large_one():
    small, large = (96.0, 96.0), (6000.0, 4000.0)
    low, high = zoom_bounds(VIEW, small)
    assert low == pytest.approx(fit_scale(VIEW, small)) and high == pytest.approx(3 * low)  # a third of the image
    low, high = zoom_bounds(VIEW, large)
    assert low == pytest.approx(fit_scale(VIEW, large))
    assert high == pytest.approx(min(VIEW) / MIN_VIEW_PX)  # the view spans MIN_VIEW_PX image pixels


def test_max_scale_caps_the_zoom_but_never_below_the_fit():
    image = (512.0, 512.0)
    box = (300.0, 200.0, 304.0, 203.0)
    assert object_view(box, VIEW, image, max_scale=2.0).scale == pytest.approx(2.0)
    assert object_view(box, VIEW, (4.0, 4.0), max_scale=2.0).scale == pytest.approx(fit_scale(VIEW, (4.0, 4.0)))


def test_a_view_with_no_room_still_gets_a_finite_zoom():
    view = object_view((10.0, 10.0, 20.0, 20.0), (0.0, -4.0), (512.0, 512.0))
    assert 0 < view.scale < float("inf") and 0 <= view.centre_x <= 512 and 0 <= view.centre_y <= 512
