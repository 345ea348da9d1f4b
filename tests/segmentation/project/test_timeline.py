"""The timeline model: cursor commands, playback, markers and the selected track, with their events."""

from __future__ import annotations

import pytest

from protolabel.segmentation.project.timeline import Marker, Timeline, runs


def _recorder(timeline: Timeline) -> dict[str, list]:
    seen: dict[str, list] = {"cursor": [], "playing": [], "markers": [], "track": [], "video": []}
    timeline.events.cursor_changed.connect(seen["cursor"].append)
    timeline.events.playing_changed.connect(seen["playing"].append)
    timeline.events.markers_changed.connect(seen["markers"].append)
    timeline.events.track_changed.connect(seen["track"].append)
    timeline.events.video_changed.connect(seen["video"].append)
    return seen


def test_steps_stop_at_both_ends_and_emit_only_real_moves():
    timeline = Timeline(25)
    seen = _recorder(timeline)
    assert timeline.cursor == 0
    timeline.step(-1)  # already on the first frame
    timeline.home()
    assert timeline.cursor == 0 and seen["cursor"] == []
    timeline.step(1)
    timeline.step(10)
    assert timeline.cursor == 11
    timeline.step(10)
    timeline.step(10)  # 31 is past the end: stops on 24
    assert timeline.cursor == 24
    timeline.end()
    timeline.step(1)
    assert seen["cursor"] == [1, 11, 21, 24]
    timeline.step(-10)
    assert timeline.cursor == 14
    timeline.home()
    assert timeline.cursor == 0


def test_scrub_clamps_to_the_video():
    timeline = Timeline(100)
    timeline.scrub_to(57)
    assert timeline.cursor == 57
    timeline.scrub_to(-40)
    assert timeline.cursor == 0
    timeline.scrub_to(10_000)
    assert timeline.cursor == 99


def test_empty_video_has_no_cursor_and_every_command_keeps_it_so():
    timeline = Timeline(0)
    seen = _recorder(timeline)
    for command in (
        lambda: timeline.step(1),
        lambda: timeline.step(-10),
        timeline.home,
        timeline.end,
        lambda: timeline.scrub_to(3),
        timeline.play,
        timeline.advance,
        timeline.toggle_play,
    ):
        command()
        assert timeline.cursor is None and not timeline.playing
    assert timeline.next_marker(Marker.KEYFRAME) is False
    assert timeline.previous_marker(Marker.EDITED) is False
    assert seen["cursor"] == [] and seen["playing"] == []
    with pytest.raises(
        ValueError, match=r"reviewed markers: frame 0 is not a frame of this video \(it has no frames\)"
    ):
        timeline.set_markers(Marker.REVIEWED, [0])


def test_jumps_to_next_and_previous_marker_of_each_kind():
    timeline = Timeline(50)
    timeline.set_markers(Marker.KEYFRAME, [0, 10, 20, 30, 40])
    timeline.set_markers(Marker.EDITED, [7, 33])
    timeline.set_markers(Marker.UNREVIEWED, [12, 13, 49])
    timeline.scrub_to(10)  # on a keyframe: next is the one after it, previous the one before
    assert timeline.next_marker(Marker.KEYFRAME) and timeline.cursor == 20
    assert timeline.previous_marker(Marker.KEYFRAME) and timeline.cursor == 10
    assert timeline.previous_marker(Marker.KEYFRAME) and timeline.cursor == 0
    assert timeline.next_marker(Marker.EDITED) and timeline.cursor == 7
    assert timeline.next_marker(Marker.UNREVIEWED) and timeline.cursor == 12
    assert timeline.next_marker(Marker.UNREVIEWED) and timeline.cursor == 13
    assert timeline.next_marker(Marker.EDITED) and timeline.cursor == 33
    assert timeline.previous_marker(Marker.UNREVIEWED) and timeline.cursor == 13
    assert timeline.next_marker(Marker.UNREVIEWED) and timeline.cursor == 49


def test_no_next_marker_leaves_the_cursor_where_it_is():
    timeline = Timeline(30)
    seen = _recorder(timeline)
    assert timeline.next_marker(Marker.REVIEWED) is False  # no markers at all
    timeline.set_markers(Marker.REVIEWED, [5, 9])
    timeline.scrub_to(9)
    assert timeline.next_marker(Marker.REVIEWED) is False and timeline.cursor == 9
    timeline.scrub_to(5)
    assert timeline.previous_marker(Marker.REVIEWED) is False and timeline.cursor == 5
    timeline.end()
    assert timeline.next_marker(Marker.KEYFRAME) is False and timeline.cursor == 29
    assert seen["cursor"] == [9, 5, 29]


def test_markers_are_sorted_unique_checked_and_only_announced_when_changed():
    timeline = Timeline(20)
    seen = _recorder(timeline)
    timeline.set_markers(Marker.EDITED, [9, 3, 3, 15])
    assert timeline.markers(Marker.EDITED) == (3, 9, 15)
    timeline.set_markers(Marker.EDITED, (15, 9, 3))  # the same set
    assert seen["markers"] == [Marker.EDITED]
    timeline.set_markers(Marker.REVIEWED, [3])
    assert timeline.markers_at(3) == [Marker.EDITED, Marker.REVIEWED] and timeline.markers_at(4) == []
    with pytest.raises(ValueError, match=r"frame 20 is not a frame of this video \(its frames are 0..19\)"):
        timeline.set_markers(Marker.KEYFRAME, [0, 20])
    with pytest.raises(ValueError, match="frame -1"):
        timeline.set_markers(Marker.KEYFRAME, [-1])
    with pytest.raises(TypeError):
        timeline.set_markers(Marker.KEYFRAME, [2.5])
    assert timeline.markers(Marker.KEYFRAME) == ()  # a refused set changes nothing


def test_playback_advances_to_the_last_frame_and_stops_there():
    timeline = Timeline(4, rate=30)
    seen = _recorder(timeline)
    timeline.advance()  # paused: the clock does nothing
    assert timeline.cursor == 0
    timeline.toggle_play()
    assert timeline.playing
    for _ in range(10):
        timeline.advance()
    assert timeline.cursor == 3 and not timeline.playing
    assert seen["cursor"] == [1, 2, 3] and seen["playing"] == [True, False]
    timeline.play()  # from the last frame: starts again at the first
    assert timeline.playing and timeline.cursor == 0


def test_a_persons_command_pauses_playback():
    for command in (
        lambda t: t.step(1),
        lambda t: t.scrub_to(2),
        lambda t: t.home(),
        lambda t: t.end(),
        lambda t: t.next_marker(Marker.EDITED),
    ):
        timeline = Timeline(10)
        timeline.play()
        command(timeline)
        assert not timeline.playing


def test_a_single_frame_video_does_not_play():
    timeline = Timeline(1)
    timeline.play()
    assert not timeline.playing and timeline.cursor == 0


def test_rate_must_be_a_positive_number():
    timeline = Timeline(10, rate=24)
    for bad in (0, -5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive number of frames per second"):
            timeline.set_rate(bad)
    with pytest.raises(ValueError):
        Timeline(10, rate=0)
    assert timeline.rate == 24
    with pytest.raises(ValueError, match="zero or more frames"):
        Timeline(-1)


def test_selected_track_frames_and_runs():
    timeline = Timeline(40)
    seen = _recorder(timeline)
    timeline.set_track(7, [5, 6, 7, 12, 30, 31])
    assert timeline.track_id == 7 and timeline.track_runs() == [(5, 7), (12, 12), (30, 31)]
    assert [f for f in range(40) if timeline.track_has(f)] == [5, 6, 7, 12, 30, 31]
    timeline.set_track(7, [31, 30, 12, 7, 6, 5])
    timeline.set_track(None, [1, 2])  # no track: its frames are ignored
    assert timeline.track_frames == () and timeline.track_runs() == []
    assert seen["track"] == [7, None]
    with pytest.raises(ValueError, match="track 8: frame 40"):
        timeline.set_track(8, [39, 40])


def test_runs_of_consecutive_frames():
    assert runs(()) == []
    assert runs((4,)) == [(4, 4)]
    assert runs((0, 1, 2, 4, 6, 7)) == [(0, 2), (4, 4), (6, 7)]


def test_a_new_video_resets_cursor_markers_track_and_playback():
    timeline = Timeline(50, rate=25)
    timeline.set_markers(Marker.KEYFRAME, [10])
    timeline.set_track(1, [3, 4])
    timeline.scrub_to(30)
    timeline.play()
    seen = _recorder(timeline)
    timeline.set_video(8, rate=12.5)
    assert (timeline.frame_count, timeline.cursor, timeline.rate, timeline.playing) == (8, 0, 12.5, False)
    assert timeline.markers(Marker.KEYFRAME) == () and timeline.track_id is None
    assert seen["video"] == [8] and seen["cursor"] == [0] and seen["playing"] == [False]
    with pytest.raises(ValueError):
        timeline.set_video(5, rate=-1)  # refused before anything changes
    assert timeline.frame_count == 8
