"""A project's videos and tracks as YouTube-VIS, and YouTube-VIS (or OVIS) into a project.

Export (`export_youtube_vis`, `protolabel export FOLDER --to youtube-vis --out DIR`): DIR/annotations.json and
every frame of each labelled video as DIR/JPEGImages/<video folder>/<stem>_NNNNNN.png, written through
media.frame_export (the identity in each PNG), so the JSON's `file_names` and the frames cannot drift. One
annotation per track; a frame's segmentation is null where the track is not seen or the frame is not exported.

Import (`plan_vis_import` then `apply_vis_import`, as importing.plan_import/apply_import): each YouTube-VIS
video is mapped to the project (`map_vis_video`): frames of a video of the project (their files carry its
identity, or a frame folder the store already lists as a sequence) become that video's frames with tracks;
any other frame folder becomes plain images keyed by their paths, each object keeping its track as the
attribute `track`. The import rules are the COCO import's: a frame or image a person worked on is never
overwritten, provenance is kept, the plan is shown before anything changes, what cannot be merged is named.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from protolabel.segmentation.files import atomic_write_bytes
from protolabel.segmentation.formats.base import FormatError
from protolabel.segmentation.formats.youtube_vis import (
    Segmentation,
    VisDataset,
    VisVideo,
    read_youtube_vis,
    write_youtube_vis,
)
from protolabel.segmentation.geometry.overlap import is_same_object, mask_iou
from protolabel.segmentation.geometry.provenance import PROVENANCE_OF, Provenance
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.image_headers import image_size_from_header
from protolabel.segmentation.images import MAX_IMAGE_BYTES
from protolabel.segmentation.input_files import open_input, read_input_bytes
from protolabel.segmentation.media.errors import VideoError
from protolabel.segmentation.media.frame_export import read_frame_identity
from protolabel.segmentation.media.frame_folder import FrameFolderReader, frame_sequence_at, is_frame_folder_path
from protolabel.segmentation.project.frame_images import FrameFiles, FrameWriter, video_store_of
from protolabel.segmentation.project.importing import (
    DAMAGED,
    HEADER_BYTES,
    NOT_IN_FOLDER,
    OUTSIDE_FOLDER,
    SIZE_DIFFERS,
    UNREADABLE,
    WORKED_ON,
    ImportSummary,
)
from protolabel.segmentation.project.labels import KEEP_CLASSES_KEY, LABELS_KEY, exported_class_names
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus, ImportedImage, VideoRecord
from protolabel.segmentation.project.store import DamagedRowError, ProjectStore, ProjectStoreError
from protolabel.segmentation.project.video_index import open_project_video
from protolabel.segmentation.project.video_store import VideoStore, frame_key
from protolabel.segmentation.tracking.tracks import Track, TrackFrame, TrackSet
from protolabel.segmentation.yolact.classes import category_ids_for_labels

__all__ = [
    "FRAMES_DIR",
    "TRACK_ATTRIBUTE",
    "VIS_JSON",
    "VisExport",
    "VisImportPlan",
    "VisVideoTarget",
    "apply_vis_import",
    "export_youtube_vis",
    "map_vis_video",
    "plan_vis_import",
]

VIS_JSON = "annotations.json"
FRAMES_DIR = "JPEGImages"  # YouTube-VIS's own name for the folder of per-video frame folders
TRACK_ATTRIBUTE = "track"  # plain images' objects: the YouTube-VIS annotation (track) they belong to
_EXPORTED = (ImageStatus.AUTO_LABELED, ImageStatus.EDITED, ImageStatus.VERIFIED)


# ---------------------------------------------------------------------------------------------- export


@dataclass(frozen=True)
class VisExport:
    """What an export wrote: the JSON, the frames written, the tracks and what was left out or changed."""

    path: Path
    frames: int
    tracks: int
    skipped: tuple[str, ...]
    notes: tuple[str, ...]


def export_youtube_vis(
    store: ProjectStore,
    out_dir: str | os.PathLike,
    *,
    verified_only: bool = False,
    labels: Sequence[str] = (),
    segmentation: Segmentation = "rle",
    progress: Callable[[int, int], None] | None = None,
) -> VisExport:
    """Write the project's labelled videos as YouTube-VIS into `out_dir` (a folder the caller checked:
    project.export.check_export_path). A video that cannot be read, or is not the file the project labelled,
    is left out and named; objects without a track cannot be carried and are counted."""
    out_dir = Path(out_dir)
    statuses = (ImageStatus.VERIFIED,) if verified_only else _EXPORTED
    skipped: list[str] = []
    untracked = 0
    per_video: list[tuple[VideoRecord, dict[int, dict[int, AnnotatedObject]], dict[int, str], list[str]]] = []
    with video_store_of(store) as videos:
        for video in videos.videos():
            track_labels = {t.id: t.label for t in videos.tracks(video.id)}
            shapes: dict[int, dict[int, AnnotatedObject]] = {}
            labelled = False
            frame_records = videos.frames(video.id)
            for record in frame_records:
                if record.status not in statuses:
                    continue
                try:
                    objects = videos.frame_objects(record.key)
                except DamagedRowError as exc:
                    skipped.append(str(exc))
                    continue
                labelled = labelled or bool(objects)
                for obj in objects:
                    if obj.track_id is None or obj.track_id not in track_labels:
                        untracked += 1
                    else:
                        shapes.setdefault(obj.track_id, {})[record.index] = obj
            if labelled:
                per_video.append((video, shapes, track_labels, [r.key for r in frame_records]))
    used = dict.fromkeys(labels_ for _, shapes, names, _ in per_video for labels_ in (names[t] for t in shapes))
    class_names = exported_class_names(labels, used, store.setting(KEEP_CLASSES_KEY, []) or [])
    index = {name: i for i, name in enumerate(class_names)}
    frames_root = out_dir / FRAMES_DIR
    vis_videos: list[VisVideo] = []
    total = sum(video.frame_count for video, _, _, _ in per_video)
    done = 0
    with FrameWriter(store.folder, FrameFiles(frames_root, frames_root)) as writer:
        for video, shapes, track_labels, frame_keys in per_video:
            try:
                if is_frame_folder_path(video.path):  # its frames are files already: copied as they are
                    names = _copy_frame_files(Path(store.folder), frame_keys, frames_root)
                    done += len(names)
                    if progress:
                        progress(done, total)
                else:
                    names = []
                    for i in range(video.frame_count):
                        name, size, _ = writer.write(video, i)
                        if size != (video.height, video.width):
                            raise VideoError(
                                f"{video.path}: frame {i} is {size[1]}x{size[0]}, the project says "
                                f"{video.width}x{video.height}: its frames were left out"
                            )
                        names.append(name)
                        done += 1
                        if progress:
                            progress(done, total)
            except VideoError as exc:
                skipped.append(str(exc))
                continue
            tracks = [
                Track(
                    track_id,
                    index[track_labels[track_id]],
                    tuple(
                        TrackFrame(frame, obj.shape, _score(obj), obj.provenance.value)
                        for frame, obj in sorted(by_frame.items())
                    ),
                )
                for track_id, by_frame in shapes.items()
            ]
            track_set = TrackSet((video.height, video.width), class_names, tuple(tracks))
            vis_videos.append(VisVideo(video.id, tuple(names), track_set))
    dataset = VisDataset(tuple(vis_videos), class_names, category_ids_for_labels(class_names))
    path = out_dir / VIS_JSON
    written = write_youtube_vis(dataset, path, segmentation=segmentation)
    notes = list(written.notes)
    if not vis_videos and not skipped:
        notes.append("no video of the project has labelled frames: the file lists no videos")
    if untracked:
        notes.append(
            f"{untracked} object{' on a video frame belongs' if untracked == 1 else 's on video frames belong'} to "
            "no track: YouTube-VIS cannot carry them"
        )
    frames = sum(v.length for v in vis_videos)
    return VisExport(path, frames, written.annotations, tuple(skipped), tuple(notes))


def _score(obj: AnnotatedObject) -> float:
    return float("nan") if obj.score is None else float(obj.score)


# ---------------------------------------------------------------------------------------------- import


@dataclass(frozen=True)
class NewVideo:
    """A video file of the folder the import records in the store (its frames' files named it)."""

    path: str
    sha256: str
    frame_count: int
    width: int
    height: int
    size_bytes: int
    time_base: str
    pts: tuple[int, ...]


@dataclass(frozen=True)
class VisVideoTarget:
    """Where one YouTube-VIS video's frames go: `keys[i]` is the store key of its frame i (None: not merged),
    `video` the project video they are frames of (None: plain images), `how` the mapping in words."""

    vis_video_id: int
    keys: tuple[str | None, ...]
    video: str | None
    how: str
    new_video: NewVideo | None = None
    new_folder: str | None = None  # a folder of numbered frames the import records as a sequence first
    # per frame, its presentation time as its file's identity says (None: unknown): a frame the store does not
    # record yet is recorded with it, one it records at another time is refused (the numbering drifted)
    pts: tuple[int | None, ...] = ()


@dataclass(frozen=True)
class PlannedTrack:
    """One annotation to merge: its class and, per merged frame, (store key, object)."""

    label: str
    video: str | None
    objects: tuple[tuple[str, AnnotatedObject], ...]
    # the project's track this annotation continues: on a frame left as a person made it, that track's
    # object of the same class is this annotation's shape there (so the import does not split it in two)
    continues: int | None = None


@dataclass(frozen=True)
class VisImportPlan:
    """What a YouTube-VIS import will do; nothing is written until `apply_vis_import`. `coco_path`, `images`
    and `preview()` are named as ImportPlan's, so the app's confirmation shows either."""

    coco_path: Path
    targets: tuple[VisVideoTarget, ...]
    tracks: tuple[PlannedTrack, ...]
    images: tuple[ImportedImage, ...]  # every merged frame or image (with its objects, tracks not yet set)
    skipped: tuple[tuple[str, str], ...]
    new_labels: tuple[str, ...]
    replaces: int
    notes: tuple[str, ...] = field(default=())

    @property
    def objects(self) -> int:
        return sum(len(t.objects) for t in self.tracks)

    def preview(self) -> ImportSummary:
        return ImportSummary(
            tuple(image.path for image in self.images),
            self.objects,
            self.replaces,
            self.skipped,
            0,
            self.new_labels,
            self.notes,
            self.frame_names(),
        )

    def frame_names(self) -> frozenset[str]:
        """The names its summary counts as frames: keys of a project video's frames, and every entry it skips
        (each one a frame of the file's videos); frames merged as plain images are images of the project."""
        keys = {key for target in self.targets if target.video is not None for key in target.keys if key}
        return frozenset(keys | {name for name, _ in self.skipped})


def frames_root_for(vis_path: Path, folder: Path, dataset: VisDataset) -> Path:
    """The folder the file's frame names are relative to: JPEGImages/ beside the file, the file's folder,
    JPEGImages/ in the project folder or the project folder, the first that holds the first video's first frame
    (always inside the project folder); FormatError naming the places tried when none does."""
    root = Path(os.path.realpath(folder))
    here = Path(os.path.realpath(vis_path.parent))
    candidates = [here / FRAMES_DIR, here, root / FRAMES_DIR, root]
    inside = [c for c in dict.fromkeys(candidates) if c.is_relative_to(root)]
    first = next((v.file_names[0] for v in dataset.videos if v.file_names), None)
    if first is None:
        return inside[0] if inside else root
    for candidate in inside:
        if os.path.lexists(candidate / first):
            return candidate
    tried = ", ".join(str(c) for c in inside) or f"(the file lies outside {root})"
    raise FormatError(
        f"{vis_path}: the frames it names (e.g. {first!r}) are not under the project folder {root}; looked in "
        f"{tried}. Put the frame folders (JPEGImages/) inside the project folder"
    )


def plan_vis_import(store: ProjectStore, path: str | os.PathLike, labels: Iterable[str] | None = None) -> VisImportPlan:
    """Read the YouTube-VIS or OVIS file at `path` and decide what merging it into the store's folder does;
    reads only. FormatError when the file is not usable (it names the file and the entry)."""
    path = Path(path)
    folder = Path(os.path.realpath(store.folder))
    dataset = read_youtube_vis(path)  # names checked to be relative; links are refused frame by frame below
    frames_root = frames_root_for(path, folder, dataset)
    project_labels = tuple(store.setting(LABELS_KEY, []) if labels is None else labels)
    skipped: list[tuple[str, str]] = []
    targets, tracks, images, replaces = [], [], {}, 0
    used: dict[str, None] = {}
    notes = []
    seen_keys: set[str] = set()
    claimed: set[int | None] = {None}  # the project's tracks an annotation continues, each at most once
    with video_store_of(store) as videos:
        statuses = videos.statuses()
        for vis_video in dataset.videos:
            target = map_vis_video(videos, folder, frames_root, vis_video)
            targets.append(target)
            notes.append(target.how)
            usable: dict[int, str] = {}
            kept: dict[int, str] = {}  # frames left as a person made them
            for i, key in enumerate(target.keys):
                shown = _shown(frames_root, folder, vis_video.file_names[i])
                reason = _frame_problem(
                    videos, statuses, key, frames_root / vis_video.file_names[i], target, vis_video.tracks.image_size
                )
                if not reason and key in seen_keys:  # two entries for one frame: neither may win silently
                    reason = "named twice in the file (a frame listed again)"
                if reason:
                    skipped.append((shown, reason))
                    if reason == WORKED_ON and key is not None:
                        kept[i] = key
                elif key is not None:
                    usable[i] = key
                    seen_keys.add(key)
            for track in vis_video.tracks.tracks:
                label = dataset.class_names[track.class_index]
                objects = []
                for item in track.frames:
                    key = usable.get(item.frame)
                    if key is None:
                        continue
                    attributes = {TRACK_ATTRIBUTE: track.track_id} if target.video is None else None
                    score = None if item.score != item.score else item.score  # NaN: a person's shape
                    obj = AnnotatedObject(
                        label, item.shape, PROVENANCE_OF[item.provenance], score, attributes=attributes
                    )
                    objects.append((key, obj))
                if objects:
                    used[label] = None
                    continues = None
                    if target.video is not None:
                        continues = _continued_track(videos, track, label, kept, vis_video.tracks.image_size, claimed)
                        claimed.add(continues)
                    tracks.append(PlannedTrack(label, target.video, tuple(objects), continues))
            height, width = vis_video.tracks.image_size
            for key in usable.values():
                images[key] = ImportedImage(key, (height, width), ())
                replaces += videos.object_count(key)
    by_key: dict[str, list[AnnotatedObject]] = {}
    for planned_track in tracks:
        for key, obj in planned_track.objects:
            by_key.setdefault(key, []).append(obj)
    planned = tuple(ImportedImage(k, image.size, tuple(by_key.get(k, ()))) for k, image in images.items())
    new_labels = tuple(n for n in dataset.class_names if n in used and n not in project_labels)
    notes.append("1 track." if len(tracks) == 1 else f"{len(tracks)} tracks.")
    continued = sum(t.continues is not None for t in tracks)
    if continued:
        notes.append(f"{continued} of them continue the project's tracks on frames a person worked on.")
    return VisImportPlan(
        path, tuple(targets), tuple(tracks), planned, tuple(skipped), new_labels, replaces, tuple(notes)
    )


def _continued_track(
    videos: VideoStore,
    track: Track,
    label: str,
    kept: dict[int, str],
    size: tuple[int, int],
    claimed: set[int | None],
) -> int | None:
    """The project's track that `track` continues (PlannedTrack.continues), or None: on the first frame left as a
    person made it where a tracked object of the class is the same object as the annotation's shape there (the
    frame stays whole, so its objects, model-made ones too, stay on their tracks), that object's track."""
    for item in track.frames:
        key = kept.get(item.frame)
        if key is None:
            continue
        mask = shape_to_mask(item.shape, *size)
        for obj in videos.objects(key):
            if obj.track_id in claimed or obj.label != label:
                continue
            if is_same_object(mask_iou(mask, shape_to_mask(obj.shape, *size))):
                return obj.track_id
    return None


def _shown(frames_root: Path, folder: Path, name: str) -> str:
    return (frames_root / name).relative_to(folder).as_posix() if frames_root.is_relative_to(folder) else name


def _frame_problem(
    videos: VideoStore,
    statuses: dict[str, ImageStatus],
    key: str | None,
    file: Path,
    target: VisVideoTarget,
    size: tuple[int, int],
) -> str | None:
    """Why one frame of the file cannot be merged (its file, or a person's work there), or None."""
    if not os.path.lexists(file):
        return NOT_IN_FOLDER
    if os.path.islink(file) or os.path.realpath(file) != os.path.abspath(file):
        return f"{OUTSIDE_FOLDER} (a link, not followed)"
    if key is None:
        return "not a frame of the project's video"
    if target.video is None:
        problem = _image_problem(file, size)
        if problem:
            return problem
    if target.video is not None:  # a frame's status is not among the images' statuses
        record = videos.frame(key)
        if record is not None and record.damaged:
            return DAMAGED
        pts = target.pts[target.keys.index(key)] if target.pts else None
        if record is None and pts is None and target.new_video is None and target.new_folder is None:
            return "not a recorded frame of the project's sequence (open the folder in the app first)"
        if record is not None and pts is not None and record.pts != pts:
            return f"its time {pts} is not the project's {record.pts} for that frame (the numbering drifted)"
        status = record.status if record is not None else ImageStatus.UNLABELED
    else:
        status = statuses.get(key, ImageStatus.UNLABELED)
    if status in (ImageStatus.EDITED, ImageStatus.VERIFIED):
        return WORKED_ON
    try:
        objects = videos.objects(key)
    except DamagedRowError:
        return DAMAGED
    if any(o.provenance is not Provenance.AUTO for o in objects):
        return WORKED_ON
    return None


def _image_problem(file: Path, size: tuple[int, int]) -> str | None:
    """Why a frame file cannot take the video's annotations as an image (unreadable, another size), or None."""
    try:
        with open_input(file, follow_links=False) as handle:
            head = handle.read(HEADER_BYTES)
    except OSError as exc:
        return f"{UNREADABLE} ({exc.strerror or exc})"
    if not head:
        return f"{UNREADABLE} (the file is empty)"
    found = image_size_from_header(head)
    if found is not None and found != (size[1], size[0]):
        return f"{SIZE_DIFFERS} ({found[0]}x{found[1]}, the file says {size[1]}x{size[0]})"
    return None


def map_vis_video(store: VideoStore, folder: Path, frames_root: Path, vis_video: VisVideo) -> VisVideoTarget:
    """Where a YouTube-VIS video's frames go in the project (the one place that decides it):

    1. its frame files carry a Protolabel frame identity (media.frame_export) of one video whose SHA-256 the
       project records, or of a video file in the folder with that SHA-256: that video's frames, by the
       frame numbers the files carry (never by their order);
    2. its frames' folder is a folder of numbered frames in the project (recorded already, or recorded by the
       import) holding every one of its files: those frames, each the file of its name, with its tracks;
    3. otherwise plain images keyed by their paths in the folder."""
    files = [frames_root / name for name in vis_video.file_names]
    mapped = _by_identity(store, folder, files, vis_video)
    if mapped is not None:
        return mapped
    directories = {PurePosixPath(name).parent for name in vis_video.file_names}
    sequence_dir = _relative(frames_root / str(directories.pop()), folder) if len(directories) == 1 else None
    if sequence_dir:
        mapped = _onto_frame_folder(store, folder, f"{sequence_dir}/", files, vis_video)
        if mapped is not None:
            return mapped
    keys = [_relative(file, folder) for file in files]
    where = ", ".join(sorted({str(PurePosixPath(k).parent) for k in keys if k})[:3])
    frames = f"1 frame in {where} is" if vis_video.length == 1 else f"{vis_video.length} frames in {where} are"
    return VisVideoTarget(
        vis_video.video_id,
        tuple(keys),
        None,
        f"Video {vis_video.video_id}: {frames} not a video of the project: merged as images, each object's track "
        f"kept as its '{TRACK_ATTRIBUTE}' attribute.",
    )


def _copy_frame_files(folder: Path, keys: Sequence[str], frames_root: Path) -> list[str]:
    """Copy a frame folder's frame files byte for byte under `frames_root` at their paths in the project (the
    YouTube-VIS file names); links are not followed. VideoError naming the frame that cannot be read."""
    for key in keys:
        try:
            data = read_input_bytes(folder / key, MAX_IMAGE_BYTES, what="frame file", follow_links=False)
        except OSError as exc:
            raise VideoError(f"{key}: {exc}; its folder's frames were left out") from None
        target = frames_root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, data)
    return list(keys)


def _onto_frame_folder(
    store: VideoStore, folder: Path, path: str, files: list[Path], vis_video: VisVideo
) -> VisVideoTarget | None:
    """Target 2 of map_vis_video: the frames of the frame folder `path` ('walk/'), or None when the folder is not
    one (too few or oddly named files), has another frame size, or lacks one of the files the video names."""
    record = store.video(path)
    if record is None:
        try:
            sequence = frame_sequence_at(folder, path)
        except VideoError:
            return None
        keys, size = set(sequence.keys), None
    else:
        keys, size = {f.key for f in store.frames(record.id)}, (record.height, record.width)
    names = [_relative(file, folder) for file in files]
    if not all(name in keys for name in names) or size not in (None, vis_video.tracks.image_size):
        return None
    return VisVideoTarget(
        vis_video.video_id,
        tuple(names),
        path,
        f"Video {vis_video.video_id}: frames of the frame folder {path}.",
        new_folder=path if record is None else None,
    )


def _relative(path: Path, folder: Path) -> str | None:
    real = Path(os.path.abspath(path))
    return real.relative_to(folder).as_posix() if real.is_relative_to(folder) else None


def _by_identity(store: VideoStore, folder: Path, files: list[Path], vis_video: VisVideo) -> VisVideoTarget | None:
    """Target 1 of map_vis_video, or None when the frame files carry no one identity of a video found here."""
    identities = []
    for file in files:
        if os.path.islink(file) or not file.is_file():
            return None
        try:
            identity = read_frame_identity(file)
        except (OSError, ValueError):
            return None
        if identity is None or not isinstance(identity.get("frame_index"), int):
            return None
        identities.append(identity)
    shas = {i.get("video_sha256") for i in identities}
    if len(shas) != 1:
        return None
    sha = shas.pop()
    record = next((v for v in store.videos() if v.sha256 == sha), None)
    new_video = None
    if record is None:
        new_video = _video_file(folder, str(identities[0].get("video_file", "")), str(sha))
        if new_video is None:
            return None
    found = record if record is not None else new_video
    assert found is not None
    path, count = found.path, found.frame_count
    if (found.height, found.width) != vis_video.tracks.image_size:  # its masks would not fit the frames
        return None
    indices = [int(i["frame_index"]) for i in identities]
    if any(not 0 <= n < count for n in indices) or len(set(indices)) != len(indices):
        return None
    keys = tuple(frame_key(path, n) for n in indices)
    pts = tuple(i.get("frame_pts") if isinstance(i.get("frame_pts"), int) else None for i in identities)
    how = f"Video {vis_video.video_id}: frames {min(indices)}-{max(indices)} of {path} (its frame files say so)."
    if new_video is not None:
        how += " The video is added to the project."
    return VisVideoTarget(vis_video.video_id, keys, path, how, new_video, pts=pts)


def _video_file(folder: Path, name: str, sha256: str) -> NewVideo | None:
    """The video file `name` of the folder (a relative path, not a link) when its SHA-256 is `sha256`."""
    if not name or name.startswith("/") or ".." in PurePosixPath(name).parts:
        return None
    path = folder / name
    if os.path.islink(path) or not path.is_file():
        return None
    try:
        with open_project_video(folder, name) as reader:
            if reader.sha256 != sha256:
                return None
            index = reader.index
            height, width = reader.read(0).shape[:2]
    except VideoError:
        return None
    return NewVideo(
        name,
        sha256,
        len(index),
        int(width),
        int(height),
        index.size,
        f"{index.time_base[0]}/{index.time_base[1]}",
        index.pts,
    )


def apply_vis_import(store: ProjectStore, plan: VisImportPlan) -> ImportSummary:
    """Write the plan: videos it found recorded, one new track per annotation (frames of a video), then every
    frame's or image's objects in ONE transaction (import_images: a frame a person worked on since the plan
    is still left alone). Tracks left without objects (their frames were kept) are removed again."""
    with video_store_of(store) as videos:
        video_ids: dict[str, int] = {}
        for target in plan.targets:
            if target.new_video is not None and videos.video(target.new_video.path) is None:
                new = target.new_video
                record = videos.add_video(
                    new.path,
                    sha256=new.sha256,
                    frame_count=new.frame_count,
                    width=new.width,
                    height=new.height,
                    size_bytes=new.size_bytes,
                    time_base=new.time_base,
                )
                videos.add_frames(record.id, dict(enumerate(new.pts)))
            if target.new_folder is not None and videos.video(target.new_folder) is None:
                try:
                    sequence = frame_sequence_at(videos.folder, target.new_folder)
                    videos.record_sequence_folder(FrameFolderReader(videos.folder, sequence))
                except VideoError as exc:  # the folder changed since the plan: its frames go in as images
                    raise ProjectStoreError(f"{exc}; nothing was imported, plan the import again") from None
        for video in videos.videos():
            video_ids[video.path] = video.id
        planned = {image.path for image in plan.images}
        for target in plan.targets:  # frames the files name that the store does not record yet
            if target.video is None or not target.pts:
                continue
            missing = {
                int(key.rpartition("#")[2]): pts
                for key, pts in zip(target.keys, target.pts)
                if key in planned and pts is not None and videos.frame(key) is None
            }
            if missing:
                videos.add_frames(video_ids[target.video], missing)
        keys = {image.path for image in plan.images}
        before = {
            o.track_id for key in keys if videos.frame(key) is not None for o in videos.objects(key) if o.track_id
        }
        created: list[int] = []
        objects: dict[str, list[AnnotatedObject]] = {}
        for track in plan.tracks:
            track_id = None
            if track.video is not None:
                existing = videos.track(track.continues) if track.continues is not None else None
                if existing is not None and existing.label == track.label:  # still as planned
                    track_id = existing.id
                else:
                    edit = videos.create_track(video_ids[track.video], track.label, "Import YouTube-VIS")
                    track_id = edit.tracks_after[0].id
                    created.append(track_id)
            for key, obj in track.objects:
                objects.setdefault(key, []).append(obj.with_changes(track_id=track_id))
        images = [ImportedImage(image.path, image.size, tuple(objects.get(image.path, ()))) for image in plan.images]
        labels = list(dict.fromkeys((*videos.setting(LABELS_KEY, []), *plan.new_labels)))
        settings: dict[str, Any] = {LABELS_KEY: labels} if plan.new_labels else {}
        outcome = videos.import_images(images, settings)
        for track_id in sorted({t for t in before if t is not None} | set(created)):
            if videos.track(track_id) is not None and not videos.track_objects(track_id):
                videos.delete_track(track_id)
    kept = set(outcome.kept)
    merged = tuple(image.path for image in images if image.path not in kept)
    count = sum(len(image.objects) for image in images if image.path not in kept)
    skipped = plan.skipped + tuple((k, WORKED_ON) for k in outcome.kept)
    frames = plan.frame_names() | set(outcome.kept)  # all it skips are frames of the file's videos
    return ImportSummary(merged, count, outcome.replaced, skipped, 0, plan.new_labels, plan.notes, frames)
