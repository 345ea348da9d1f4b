"""What the open project re-reads after a track edit (Project._refresh_track_frames), on a long propagation.

After a track edit (a propagation's result, a merge, an undo) the project re-reads the status and the count of
verified objects of every frame the edit touched, on the UI thread, so the file list and the timeline show what
the store holds. Builds one video of --frames frames with one auto track on every frame (a person's object on
frame 0), then --repeats times writes a propagation over frames 1.. (the store write untimed) and times the
refresh alone; prints its median.

    .venv/bin/python benchmarks/track_refresh.py [--frames 1000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import scratch_dir  # noqa: E402
from protolabel.segmentation.geometry import Polygon, Shape  # noqa: E402
from protolabel.segmentation.geometry.provenance import Provenance  # noqa: E402
from protolabel.segmentation.project.project import Project  # noqa: E402
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus  # noqa: E402
from protolabel.segmentation.project.video_store import VideoStore  # noqa: E402

SHA = "ab" * 32


def square(x: int, y: int, size: int = 10) -> Shape:
    return Shape((Polygon(((x, y), (x + size, y), (x + size, y + size), (x, y + size))),))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    folder = scratch_dir("track-refresh-")
    store = VideoStore.open(folder)
    video = store.add_video(
        "clip.mp4", sha256=SHA, frame_count=args.frames, width=64, height=48, size_bytes=1, time_base="1/15"
    )
    keys = store.add_frames(video.id, {i: i for i in range(args.frames)})
    track = store.create_track(video.id, "cat").tracks_after[0]
    for i, key in enumerate(keys):
        provenance = Provenance.EDITED if i == 0 else Provenance.AUTO
        obj = AnnotatedObject("cat", square(i % 40, 10), provenance, 0.9, track_id=track.id)
        store.write_change(key, saved=[obj], status=ImageStatus.EDITED if i == 0 else ImageStatus.AUTO_LABELED)
    project = Project.from_store(store, ["clip.mp4"])
    touched = 0
    times = []
    for repeat in range(args.repeats + 1):  # the first round is a warm-up
        read = {o.frame_index: [(o.object.id, o.object.version)] for o in store.track_objects(track.id)}
        shapes = {i: (square((i + repeat) % 40, 12), 0.8) for i in range(1, args.frames)}
        edit = store.apply_propagation(track.id, shapes, read, "Propagate track")
        touched = len({o.image_path for o in (*edit.objects_before, *edit.objects_after)})
        start = time.perf_counter()
        project._refresh_track_frames(edit)
        if repeat:
            times.append(time.perf_counter() - start)
    project.close()
    print(f"refresh after a track edit touching {touched} frames: median {statistics.median(times) * 1000:.1f} ms")
    print(f"  (min {min(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms over {len(times)} edits)")


if __name__ == "__main__":
    main()
