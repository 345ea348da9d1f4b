"""A folder's frames as a timeline, and the keyframe path over it: the gap rule is SequenceRunner.predict_frame's."""

from __future__ import annotations

from pathlib import Path

from protolabel.segmentation.commands.video_frames import sequence_results, sequence_timeline
from tests.segmentation.media.frame_folders import make_frame_folder


def _timeline(names: list[str]) -> list[tuple[int, str]]:
    return [(frame.index, frame.missing) for frame in sequence_timeline([(n, Path(n)) for n in names])]


def test_missing_numbers_leave_a_gap_on_the_timeline_at_the_folders_own_step():
    assert _timeline(["f_0001.png", "f_0002.png", "f_0005.png", "f_0006.png"]) == [
        (0, ""),
        (1, ""),
        (4, "3-4"),
        (5, ""),
    ]
    # every fifth frame: nothing missing until 15
    assert _timeline(["f_0005.png", "f_0010.png", "f_0020.png"]) == [(0, ""), (1, ""), (3, "15")]
    # a name without a number, or of another pattern, follows the one before
    assert _timeline(["a/f_1.png", "a/f_2.png", "b/cover.png", "b/g_7.png"]) == [(0, ""), (1, ""), (2, ""), (3, "")]


class RecordingRunner:
    """Stands for a SequenceRunner: a frame is a keyframe when it does not follow the last one run."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.last: int | None = None
        self.last_was_keyframe = False

    def reset(self) -> None:
        self.last = None

    def predict_frame(self, index: int, image) -> str:
        self.last_was_keyframe = self.last is None or index != self.last + 1
        self.last = index
        self.calls.append(index)
        return f"detections of {index}"


def test_unreadable_and_unwanted_frames_make_the_next_one_a_keyframe(tmp_path, capsys):
    paths = make_frame_folder(tmp_path, [1, 2, 3, 4, 6, 7], name="f_{}.png")
    paths[1].write_bytes(b"\x89PNG broken")  # f_2
    files = [(p.name, p) for p in paths]
    skipped: list[str] = []
    runner = RecordingRunner()
    results = sequence_results(runner, sequence_timeline(files), skipped.append, lambda f: f.name != "f_4.png")
    got = [(frame.name, result.keyframe) for frame, result in results]
    assert got == [("f_1.png", True), ("f_3.png", True), ("f_6.png", True), ("f_7.png", False)]
    assert len(skipped) == 1 and "f_2.png" in skipped[0]
    assert "f_6.png: frame number 5 missing before it; it runs as a keyframe" in capsys.readouterr().err
