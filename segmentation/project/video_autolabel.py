"""Auto-label one video of a project: each frame through the model, its detections joined into tracks
(tracking.association), each frame's objects saved with their track ids (VideoStore.replace_auto_frame_objects:
a reviewed frame and a person's objects and tracks are never overwritten)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from protolabel.segmentation.media.errors import FrameDecodeError, VideoError
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project.autolabel import (
    AutoLabelJob,
    AutoLabelSettings,
    EngineCache,
    detections_to_indexed_objects,
)
from protolabel.segmentation.project.labels import LABELS_KEY
from protolabel.segmentation.project.records import AnnotatedObject
from protolabel.segmentation.project.store import AutoLabelOutcome, ProjectStore, ProjectStoreError
from protolabel.segmentation.project.video_store import VideoStore, frame_key
from protolabel.segmentation.tracking.association import Tracker

Outcomes = Iterator[tuple[str, AutoLabelOutcome | None, str | None]]


class VideoAutoLabelJob(AutoLabelJob):
    """An AutoLabelJob over the frames of one video, in order (the tracker needs them so); its `names` are the
    frame keys, so progress, cancel and the per-frame results are an image job's."""

    def __init__(
        self,
        folder: str | Path,
        video: str,
        frame_count: int,
        settings: AutoLabelSettings,
        engines: EngineCache | None = None,
    ) -> None:
        super().__init__(folder, [frame_key(video, i) for i in range(frame_count)], settings, engines)
        self.video = video

    def _label_all(self, engine: Any, store: ProjectStore) -> Outcomes:
        """Yield (frame key, outcome, failure reason) per frame; a cancel stops before the next frame."""
        videos = VideoStore.open(self.folder)  # the job's store connection, with the video methods
        try:
            yield from self._label_frames(engine, videos)
        finally:
            videos.close()

    def _label_frames(self, engine: Any, store: VideoStore) -> Outcomes:
        record = store.video(self.video)
        if record is None:
            raise ProjectStoreError(f"{self.video} is not indexed in this project yet: open the folder again")
        try:
            reader = VideoReader(self.folder / self.video)
        except VideoError as exc:
            raise ProjectStoreError(str(exc)) from None
        with reader:
            if reader.sha256 != record.sha256:
                raise ProjectStoreError(
                    f"{self.video} is not the video this project labelled (its content changed): nothing was run"
                )
            inference = self.settings.inference_settings()
            tracker = Tracker(tolerance=self.settings.polygon_tolerance)
            stored_track: dict[int, int] = {}  # the tracker's track id -> the store's
            for index, key in enumerate(self.names):
                if self.cancelled:
                    return
                try:
                    image = reader.read(index)
                except FrameDecodeError as exc:
                    yield key, None, str(exc)
                    continue
                detections = engine.predict([image], inference)[0]
                track_of_row = tracker.update(index, detections)
                objects: list[AnnotatedObject] = []
                for row, obj in detections_to_indexed_objects(
                    detections, self.settings.mapping, tolerance=self.settings.polygon_tolerance
                ):
                    tracked = track_of_row[row]
                    if tracked is not None:
                        if tracked not in stored_track:
                            edit = store.create_track(record.id, obj.label, "Auto-label this video")
                            stored_track[tracked] = edit.tracks_after[0].id
                        obj = obj.with_changes(track_id=stored_track[tracked])
                    objects.append(obj)
                try:
                    outcome = store.replace_auto_frame_objects(key, objects, label_list_key=LABELS_KEY)
                except ProjectStoreError as exc:
                    yield key, None, str(exc)
                    continue
                yield key, outcome, None
