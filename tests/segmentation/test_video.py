"""The sequence runner: the keyframe schedule, keyframes on demand, sequences side by side, clear refusals.

A small input size (160) keeps these fast; the fidelity at the released size is test_yolactedge_fixtures.py's.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.engine import YolactEngine
from protolabel.segmentation.video import SequenceRunner, VideoPathError
from tests.conftest import fixture_path, make_checkpoint


@pytest.fixture(scope="module")
def engine() -> YolactEngine:
    return YolactEngine(make_checkpoint("yolact_edge_vid_resnet50_im160", 0), device="cpu")


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    """The fixture clip at a quarter of its size (a smooth pan: consecutive frames are nearly the same)."""
    clip = fixture_path("yolactedge", "clip_A")
    return [
        cv2.resize(cv2.imread(str(clip / f"frame_{i:03d}.png")), (160, 120), interpolation=cv2.INTER_AREA)
        for i in range(10)
    ]


def _same(a: Detections, b: Detections) -> bool:
    return (
        len(a) == len(b)
        and np.array_equal(a.classes, b.classes)
        and np.array_equal(a.scores, b.scores)
        and np.array_equal(a.boxes_rel, b.boxes_rel)
        and np.array_equal(a.coefficients, b.coefficients)
        and np.array_equal(a.prototypes, b.prototypes)
    )


def _run(runner: SequenceRunner, images) -> tuple[list[Detections], list[bool]]:
    results, keys = [], []
    for image in images:
        results.append(runner.predict(image))
        keys.append(runner.last_was_keyframe)
    return results, keys


def test_keyframe_every_k_frames_and_detections_on_every_frame(engine, frames):
    results, keys = _run(SequenceRunner(engine, keyframe_interval=3), frames[:7])
    assert keys == [True, False, False, True, False, False, True]
    assert all(len(r) > 0 and r.prototypes.shape[-1] == 32 for r in results)
    full = engine.predict_image(frames[1])
    assert not _same(results[1], full)  # a non-keyframe is not the full network
    assert _same(results[3], engine.predict_image(frames[3]))  # a keyframe is


def test_two_interleaved_sequences_give_what_each_gives_alone(engine, frames):
    a_frames, b_frames = frames[:4], frames[9:5:-1]
    alone_a, _ = _run(SequenceRunner(engine, keyframe_interval=3), a_frames)
    alone_b, _ = _run(SequenceRunner(engine, keyframe_interval=3), b_frames)
    a, b = SequenceRunner(engine, keyframe_interval=3), SequenceRunner(engine, keyframe_interval=3)
    for i in range(4):
        assert _same(a.predict(a_frames[i]), alone_a[i]), f"sequence A, frame {i}"
        assert _same(b.predict(b_frames[i]), alone_b[i]), f"sequence B, frame {i}"


def test_keyframe_on_demand_restarts_the_schedule(engine, frames):
    runner = SequenceRunner(engine, keyframe_interval=5)
    runner.predict(frames[0])
    runner.predict(frames[1])
    asked = runner.predict(frames[2], keyframe=True)
    assert runner.last_was_keyframe and _same(asked, engine.predict_image(frames[2]))
    after = runner.predict(frames[3])
    assert not runner.last_was_keyframe
    fresh = SequenceRunner(engine, keyframe_interval=5)
    fresh.predict(frames[2])
    assert _same(after, fresh.predict(frames[3]))  # warped from the asked-for keyframe, not from frame 0
    _, keys = _run(runner, frames[4:8])  # frames 4..7: the next keyframe is 5 frames after frame 2
    assert keys == [False, False, False, True]


def test_a_frame_after_a_gap_in_frame_numbers_is_a_keyframe(engine, frames):
    runner = SequenceRunner(engine, keyframe_interval=5)
    keys = []
    for index in (0, 1, 2, 4, 5, 9):  # frame 3 skipped (unreadable), 6-8 labelled by a person already
        runner.predict_frame(index, frames[index])
        keys.append(runner.last_was_keyframe)
    assert keys == [True, False, False, True, False, True]  # features are never warped across frames not seen


def test_reset_and_a_new_frame_size_start_from_a_keyframe(engine, frames):
    runner = SequenceRunner(engine, keyframe_interval=5)
    runner.predict(frames[0])
    runner.predict(frames[1])
    runner.reset()
    runner.predict(frames[2])
    assert runner.last_was_keyframe and runner.frame_index == 0
    runner.predict(np.ascontiguousarray(frames[3][:100]))  # another size: its features cannot be warped
    assert runner.last_was_keyframe


def test_interval_one_runs_any_model_in_full(resnet50_engine, frames):
    runner = SequenceRunner(resnet50_engine, keyframe_interval=1)
    results, keys = _run(runner, frames[:2])
    assert keys == [True, True] and _same(results[1], resnet50_engine.predict_image(frames[1]))


def test_a_model_without_flow_net_is_refused_for_the_keyframe_path(resnet50_engine):
    with pytest.raises(VideoPathError, match=r"config yolact_resnet50 has no flow net .*keyframe interval 1"):
        SequenceRunner(resnet50_engine, keyframe_interval=5)


def test_a_backend_without_the_partial_network_is_refused(engine):
    onnx_like = YolactEngine.__new__(YolactEngine)
    onnx_like.__dict__.update(engine.__dict__, network=type("Net", (), {"name": "onnxruntime", "precision": "fp32"})())
    with pytest.raises(VideoPathError, match="torch backend only, not on onnxruntime fp32"):
        SequenceRunner(onnx_like, keyframe_interval=5)


@pytest.mark.parametrize("interval", [0, -1, True, 2.5])
def test_bad_interval(engine, interval):
    with pytest.raises(ValueError, match="keyframe interval must be an integer >= 1"):
        SequenceRunner(engine, keyframe_interval=interval)
