"""Auto-label one video of a project: each frame through the model (a YolactEdge video model through its
keyframe path: the whole network every k-th frame, the features warped to the frames between), its
detections joined into tracks (tracking.association), each frame's objects saved with their track ids
(VideoStore.replace_auto_frame_objects: a reviewed frame and a person's objects and tracks are never
overwritten) and the model output kept for the prototype inspector. A run after a cancel resumes: it labels
only the frames still to do and continues the stored tracks instead of starting new ones."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from protolabel.segmentation.detections import Detections
from protolabel.segmentation.geometry.box_masks import BoxMasks
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.inspection.cache import InferenceCache
from protolabel.segmentation.inspection.matching import match_detections_to_objects
from protolabel.segmentation.media.errors import FrameDecodeError, VideoError
from protolabel.segmentation.media.frame_folder import FrameFolderReader, is_frame_folder_path
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project.autolabel import (
    AutoLabelJob,
    AutoLabelSettings,
    EngineCache,
    detections_to_indexed_objects,
)
from protolabel.segmentation.project.labels import LABELS_KEY
from protolabel.segmentation.project.recorded_sequence import open_recorded
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus, VideoRecord
from protolabel.segmentation.project.store import AutoLabelOutcome, ProjectStore, ProjectStoreError
from protolabel.segmentation.project.video_store import VideoStore, frame_key
from protolabel.segmentation.tracking.association import Tracker

Outcomes = Iterator[tuple[str, AutoLabelOutcome | None, str | None]]


def frames_to_label(statuses: Sequence[ImageStatus]) -> list[int]:
    """The indices of a video's frames a run still has to label, from each frame's status in order: frames a
    run already labelled, a person edited or someone reviewed are done (a second run resumes, not restarts)."""
    return [index for index, status in enumerate(statuses) if status is ImageStatus.UNLABELED]


class VideoAutoLabelJob(AutoLabelJob):
    """An AutoLabelJob over frames of one video, in order (the tracker needs them so); its `names` are the frame
    keys, so progress, cancel and the per-frame results are an image job's. `frames` is the frame count (every
    frame) or the indices still to do (`frames_to_label`): then the tracks stored on the last labelled frame
    before the first of them are continued. `keys` are the sequence's frame keys in order, as the image list
    holds them (a frame folder's are its files' paths); without them a video's are `frame_key(video, i)`."""

    def __init__(
        self,
        folder: str | Path,
        video: str,
        frames: int | Sequence[int],
        settings: AutoLabelSettings,
        engines: EngineCache | None = None,
        inference_cache: InferenceCache | None = None,
        *,
        keys: Sequence[str] | None = None,
    ) -> None:
        indices = list(range(frames)) if isinstance(frames, int) else sorted(set(frames))
        if keys is None and is_frame_folder_path(video):
            raise ValueError(f"{video}: a frame folder's run needs its frame keys")
        names = [frame_key(video, i) if keys is None else keys[i] for i in indices]
        super().__init__(folder, names, settings, engines, inference_cache)
        self.video = video
        self.indices = indices

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
        reader = open_recorded_sequence(self.folder, self.video, record)
        with reader:
            check_frame_places(reader, self.video, zip(self.indices, self.names))
            inference = self.settings.inference_settings()
            runner = self._sequence_runner(engine, inference)
            tracker = Tracker(tolerance=self.settings.polygon_tolerance)
            stored_track: dict[int, int] = {}  # the tracker's track id -> the store's
            if self.indices:
                stored_track = self._seed(engine, store, record.id, reader, tracker)
            for index, key in zip(self.indices, self.names):
                if self.cancelled:
                    return
                try:
                    image = reader.read(index)
                except FrameDecodeError as exc:
                    yield key, None, str(exc)
                    continue
                if runner is None:
                    detections = engine.predict([image], inference)[0]
                else:
                    detections = runner.predict_frame(index, image)
                track_of_row = tracker.update(index, detections)
                before = {o.track_id for o in store.frame_objects(key) if o.track_id is not None}
                created: set[int] = set()
                objects: list[AnnotatedObject] = []
                for row, obj in detections_to_indexed_objects(
                    detections, self.settings.mapping, tolerance=self.settings.polygon_tolerance
                ):
                    tracked = track_of_row[row]
                    if tracked is not None:
                        if tracked not in stored_track:
                            edit = store.create_track(record.id, obj.label, "Auto-label this video")
                            stored_track[tracked] = edit.tracks_after[0].id
                            created.add(stored_track[tracked])
                        obj = obj.with_changes(track_id=stored_track[tracked])
                    objects.append(obj)
                try:
                    outcome = store.replace_auto_frame_objects(key, objects, label_list_key=LABELS_KEY)
                except ProjectStoreError as exc:
                    _drop_empty_tracks(store, created)
                    yield key, None, str(exc)
                    continue
                _drop_empty_tracks(store, before | created)
                if self.inference_cache is not None and not outcome.skipped:
                    self._keep_for_inspector(store, key, detections)
                yield key, outcome, None

    def _sequence_runner(self, engine: Any, inference: Any) -> Any:
        """The keyframe path when the settings ask for one and the model has it (a YolactEdge video model on
        torch); None: every frame runs in full, as any model can."""
        if self.settings.keyframe_interval <= 1:
            return None
        from protolabel.segmentation.video import SequenceRunner, VideoPathError  # torch kept off the UI's import

        try:
            return SequenceRunner(engine, self.settings.keyframe_interval, inference)
        except VideoPathError:
            return None

    def _keep_for_inspector(self, store: VideoStore, key: str, detections: Detections) -> None:
        """Keep the frame's model output with the object each detection became (by mask overlap: the store may
        have left out a detection of a track a person holds on this frame)."""
        assert self.inference_cache is not None
        auto = [(o.id, o.shape) for o in store.frame_objects(key) if o.provenance is Provenance.AUTO and o.id]
        links = match_detections_to_objects(detections.masks, auto) if auto else {}
        self.inference_cache.record_auto_label(key, detections, links, model=Path(self.settings.weights).name)

    def _seed(
        self, engine: Any, store: VideoStore, video_id: int, reader: VideoReader | FrameFolderReader, tracker: Tracker
    ) -> dict[int, int]:
        """Feed the tracker the stored tracks' objects on the last labelled frame before the first frame to do,
        so the run continues those tracks; {the tracker's track id: the store's}. The objects' masks are the
        stored ones (a person's correction counts); their coefficients come from the model on that frame,
        matched by mask IoU (an object the model does not find there is not continued)."""
        earlier = sorted((f for f in store.frames(video_id) if f.index < self.indices[0]), key=lambda f: f.index)
        for frame in reversed(earlier):
            if frame.status is ImageStatus.UNLABELED:
                continue
            tracked = [o for o in store.frame_objects(frame.key) if o.track_id is not None and o.id is not None]
            if tracked:
                break
        else:
            return {}
        try:
            image = reader.read(frame.index)
        except FrameDecodeError:
            return {}  # the run still labels; its tracks just start afresh
        detections = engine.predict([image], self.settings.inference_settings())[0]
        links = match_detections_to_objects(detections.masks, [(o.id, o.shape) for o in tracked])  # type: ignore[misc]
        if not links:
            return {}
        rows = sorted(links)
        by_id = {o.id: o for o in tracked}
        objects = [by_id[links[row]] for row in rows]
        seeded: Detections = replace(
            detections.select(rows), masks=BoxMasks.from_shapes([o.shape for o in objects], detections.image_size)
        )
        ids = tracker.update(frame.index, seeded)
        return {tid: o.track_id for tid, o in zip(ids, objects) if tid is not None and o.track_id is not None}


def _drop_empty_tracks(store: VideoStore, track_ids: set[int]) -> None:
    """Delete the tracks among `track_ids` that have no object left (this run emptied or made them)."""
    for track_id in sorted(track_ids):
        if store.track(track_id) is not None and not store.track_objects(track_id):
            store.delete_track(track_id)


def open_recorded_sequence(folder: Path, video: str, record: VideoRecord) -> VideoReader | FrameFolderReader:
    """The reader of the video or frame folder `video` the project recorded (`open_recorded`'s check), refused
    as ProjectStoreError, nothing run, when it cannot be read or is not the one the project labelled."""
    try:
        return open_recorded(folder, replace(record, path=video))
    except VideoError as exc:
        raise ProjectStoreError(f"{exc}: nothing was run") from None


def check_frame_places(reader: VideoReader | FrameFolderReader, video: str, frames: Iterable[tuple[int, str]]) -> None:
    """A frame file added to or removed from a frame folder since it was listed moves the later frames' places:
    refuse to run on places that may name other files than the (index, key) pairs the run was given."""
    if not isinstance(reader, FrameFolderReader):
        return  # a video's frame places are its decode order, fixed by its content (checked by SHA-256)
    keys = reader.keys
    if any(i >= len(keys) or keys[i] != key for i, key in frames):
        raise ProjectStoreError(
            f"{video}: frame files were added or removed since the folder was listed; open the folder again, "
            "nothing was run"
        )
