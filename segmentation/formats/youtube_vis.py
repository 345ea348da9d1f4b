"""YouTube-VIS (and OVIS, the same format): video instance segmentation JSON, read into and written from tracks.

Unlike the per-image formats of this package (`AnnotationFormat` reads and writes a `CocoDataset`),
YouTube-VIS is per video: one annotation is one object over a whole video, with a segmentation, box
and area for every frame (`null` where the object is not seen). So it has its own reader and writer
over `tracking.TrackSet`, one per video.

Fields written: `videos` (id, width, height, length, file_names), `categories` (id, name), `annotations`
(id, video_id, category_id, iscrowd, height, width, length, segmentations, bboxes, areas), plus
`protolabel_provenance` and `protolabel_scores` on each annotation (who made each frame, the model's score;
other readers ignore them).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Literal, NoReturn

import pycocotools.mask as mask_utils

from protolabel.segmentation.coco.dataset import CocoDataset
from protolabel.segmentation.files import write_output_text
from protolabel.segmentation.formats.base import AnnotationFormat, FormatError
from protolabel.segmentation.geometry.coco_shapes import (
    shape_from_coco_polygons,
    shape_to_coco_polygons,
    shapes_from_rles,
)
from protolabel.segmentation.geometry.provenance import HUMAN_DRAWN, PROVENANCES
from protolabel.segmentation.geometry.rasterise import shape_to_rle
from protolabel.segmentation.geometry.rle import compressed, rle_area
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.images import MAX_PIXELS
from protolabel.segmentation.tracking.tracks import Track, TrackFrame, TrackSet

__all__ = [
    "FORMAT",
    "FORMAT_NAME",
    "VisDataset",
    "VisVideo",
    "VisWritten",
    "file_name_problem",
    "looks_like_youtube_vis",
    "read_youtube_vis",
    "write_youtube_vis",
]

PROVENANCE_KEY = "protolabel_provenance"
SCORES_KEY = "protolabel_scores"  # per frame: the model's score, null where a person made the shape or none
Segmentation = Literal["rle", "polygons"]


@dataclass(frozen=True)
class VisVideo:
    """One video: its id, its frames' file names (relative to the frames folder, in frame order) and its tracks.

    `tracks.image_size` is the frames' (height, width); a track's frame index is a position in `file_names`.
    """

    video_id: int
    file_names: tuple[str, ...]
    tracks: TrackSet

    @property
    def length(self) -> int:
        return len(self.file_names)


@dataclass(frozen=True)
class VisDataset:
    """The videos of a YouTube-VIS file and its categories: `class_names[i]` has category id `category_ids[i]`."""

    videos: tuple[VisVideo, ...]
    class_names: tuple[str, ...]
    category_ids: tuple[int, ...]


# ---------------------------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class VisWritten:
    """What `write_youtube_vis` wrote: `annotations` (tracks with a shape inside their video's frame on at least
    one frame), `empty_frames` (frames written null because the track's shape covers no pixel of the frame), and
    notes on what could not be written as asked, with counts."""

    annotations: int
    empty_frames: int
    notes: tuple[str, ...]


def write_youtube_vis(
    dataset: VisDataset, path: str | os.PathLike, *, segmentation: Segmentation = "rle"
) -> VisWritten:
    """Write `dataset` as YouTube-VIS JSON at `path` (atomically). A frame whose shape covers no pixel of the
    frame (it lies outside it, or has no area) is written null, as YouTube-VIS writes a frame where the object is
    not seen; a track with no other frame is left out. Both are counted in the notes."""
    if segmentation not in ("rle", "polygons"):
        raise ValueError(f"segmentation must be 'rle' or 'polygons', not {segmentation!r}")
    if len(dataset.category_ids) != len(dataset.class_names):
        raise ValueError(f"{len(dataset.class_names)} class names but {len(dataset.category_ids)} category ids")
    notes: list[str] = []
    ids = [t.track_id for v in dataset.videos for t in v.tracks.tracks]
    renumber = len(set(ids)) != len(ids)
    if renumber:
        notes.append("track ids repeat across videos: annotations were numbered 1, 2, ... in file order")
    videos: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    with_holes = empty = left_out = 0
    for video in dataset.videos:
        if video.tracks.class_names != dataset.class_names:
            raise ValueError(f"video {video.video_id}'s classes {video.tracks.class_names} are not the dataset's")
        for name in video.file_names:
            problem = file_name_problem(name)
            if problem:
                raise ValueError(f"video {video.video_id}'s frame {name!r} {problem}")
        height, width = video.tracks.image_size
        videos.append(
            {
                "id": video.video_id,
                "width": width,
                "height": height,
                "length": video.length,
                "file_names": list(video.file_names),
            }
        )
        for track in video.tracks.tracks:
            if track.frames and track.last >= video.length:
                raise ValueError(
                    f"track {track.track_id} of video {video.video_id} reaches frame {track.last}, "
                    f"but the video has {video.length} frames"
                )
            annotation, holes, nulls = _annotation(track, video, dataset, segmentation)
            empty += nulls
            if track.frames and nulls == len(track.frames):
                left_out += 1
                continue
            annotation["id"] = len(annotations) + 1 if renumber else track.track_id
            annotations.append(annotation)
            with_holes += holes
    if with_holes:
        notes.append(
            f"{_count(with_holes, 'frame shape')} with holes {'was' if with_holes == 1 else 'were'} written as RLE "
            "(polygons cannot hold holes)"
        )
    if empty:
        notes.append(
            f"{_count(empty, 'frame shape')} covered no pixel of {'its' if empty == 1 else 'their'} frame (outside "
            "it, or no area): written null, as for a frame where the object is not seen"
        )
    if left_out:
        notes.append(f"{_count(left_out, 'track')} with no shape inside the frame on any frame left out")
    data = {
        "info": {"description": "written by Protolabel"},
        "videos": videos,
        "categories": [{"id": i, "name": n} for i, n in zip(dataset.category_ids, dataset.class_names)],
        "annotations": annotations,
    }
    write_output_text(path, json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
    return VisWritten(len(annotations), empty, tuple(notes))


def _count(n: int, noun: str) -> str:
    return f"1 {noun}" if n == 1 else f"{n:,} {noun}s"


def _annotation(
    track: Track, video: VisVideo, dataset: VisDataset, segmentation: Segmentation
) -> tuple[dict[str, Any], int, int]:
    """The track's annotation, how many of its frames' shapes with holes went as RLE where polygons were asked,
    and how many frames were written null for covering no pixel of the frame."""
    height, width = video.tracks.image_size
    segmentations: list[Any] = [None] * video.length
    bboxes: list[Any] = [None] * video.length
    areas: list[Any] = [None] * video.length
    provenance: list[Any] = [None] * video.length
    scores: list[Any] = [None] * video.length
    holes = nulls = 0
    for item in track.frames:
        rle = shape_to_rle(item.shape, height, width)
        area = rle_area(rle)
        if not area:  # clipped to the frame nothing is left: an area of 0 would claim an object that is not seen
            nulls += 1
            continue
        if segmentation == "polygons" and not item.shape.has_holes:
            segmentations[item.frame] = shape_to_coco_polygons(item.shape)
        else:
            holes += segmentation == "polygons"
            segmentations[item.frame] = rle
        areas[item.frame] = area
        bboxes[item.frame] = [float(v) for v in mask_utils.toBbox(compressed(rle))]
        provenance[item.frame] = item.provenance
        scores[item.frame] = float(item.score) if math.isfinite(item.score) else None
    annotation = {
        "video_id": video.video_id,
        "category_id": dataset.category_ids[track.class_index],
        "iscrowd": 0,
        "height": height,
        "width": width,
        "length": video.length,
        "segmentations": segmentations,
        "bboxes": bboxes,
        "areas": areas,
        PROVENANCE_KEY: provenance,
        SCORES_KEY: scores,
    }
    return annotation, holes, nulls


# ---------------------------------------------------------------------------------------------- reading

_SNIFF_BYTES = 1 << 20  # YouTube-VIS and OVIS files list their videos (with file_names) before the annotations


def looks_like_youtube_vis(path: str | os.PathLike) -> bool:
    """Whether a file looks like YouTube-VIS or OVIS JSON (cheap: its first megabyte names videos and file_names)."""
    try:
        with open(path, "rb") as file:
            head = file.read(_SNIFF_BYTES)
    except OSError:
        return False
    return head.lstrip()[:1] == b"{" and b'"videos"' in head and b'"file_names"' in head


def read_youtube_vis(path: str | os.PathLike, frames_folder: str | os.PathLike | None = None) -> VisDataset:
    """The videos, tracks and categories of a YouTube-VIS or OVIS JSON file; FormatError naming what is wrong.

    Frame file names must be relative paths inside the frames folder (`frames_folder`, when given, is
    also checked through links: a name that resolves outside it is refused).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FormatError(f"{path}: not a readable JSON file ({error})") from error
    if not isinstance(data, dict):
        raise FormatError(f"{path}: a YouTube-VIS file is a JSON object, this is a {type(data).__name__}")
    reader = _Reader(path, None if frames_folder is None else Path(frames_folder))
    class_names, category_ids = reader.categories(_list(data, "categories", path))
    videos = reader.videos(_list(data, "videos", path))
    tracks: dict[int, list[Track]] = {video_id: [] for video_id in videos}
    seen_ids: set[int] = set()
    for position, annotation in enumerate(_list(data, "annotations", path)):
        track, video_id = reader.annotation(position, annotation, videos, category_ids, seen_ids)
        if track.frames:
            tracks[video_id].append(track)
    return VisDataset(
        tuple(
            VisVideo(video_id, names, TrackSet(size, class_names, tuple(tracks[video_id])))
            for video_id, (names, size) in videos.items()
        ),
        class_names,
        category_ids,
    )


def file_name_problem(name: str, frames_folder: Path | None = None) -> str | None:
    """Why a frame file name is not a relative name inside the frames folder, or None when it is (with
    `frames_folder`, also through links: a name that resolves outside the folder is refused)."""
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if not name or posix.is_absolute() or windows.is_absolute() or windows.drive or ".." in windows.parts:
        return "is not a file name inside the frames folder (absolute paths and '..' are refused)"
    if frames_folder is not None and not (frames_folder / name).resolve().is_relative_to(frames_folder.resolve()):
        return f"leads outside {frames_folder} (a link?)"
    return None


def _list(data: dict[str, Any], key: str, path: Path) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        found = "missing" if value is None else f"a {type(value).__name__}"
        raise FormatError(f"{path}: {key!r} must be a list; it is {found} (is this a YouTube-VIS file?)")
    return value


def _score(value: Any) -> float:
    """A frame's score as written, NaN when it is not a number in [0, 1] (a person's shape, or another tool)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value <= 1.0:
        return float(value)
    return float("nan")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _Reader:
    """The checks of one file, each failing with a message that names the file and the entry."""

    def __init__(self, path: Path, frames_folder: Path | None) -> None:
        self.path = path
        self.frames_folder = frames_folder

    def fail(self, message: str) -> FormatError:
        return FormatError(f"{self.path}: {message}")

    def categories(self, items: list[Any]) -> tuple[tuple[str, ...], tuple[int, ...]]:
        names, ids = [], []
        for position, item in enumerate(items):
            category_id = _int(item.get("id")) if isinstance(item, dict) else None
            name = item.get("name") if isinstance(item, dict) else None
            if category_id is None or not isinstance(name, str) or not name:
                raise self.fail(f"category {position} needs an integer 'id' and a non-empty 'name': {item!r}"[:300])
            if category_id in ids:
                raise self.fail(f"category id {category_id} appears twice")
            names.append(name)
            ids.append(category_id)
        return tuple(names), tuple(ids)

    def videos(self, items: list[Any]) -> dict[int, tuple[tuple[str, ...], tuple[int, int]]]:
        videos: dict[int, tuple[tuple[str, ...], tuple[int, int]]] = {}
        for position, item in enumerate(items):
            if not isinstance(item, dict):
                raise self.fail(f"video {position} is not an object")
            video_id = _int(item.get("id"))
            width, height = _int(item.get("width")), _int(item.get("height"))
            names = item.get("file_names")
            if video_id is None:
                raise self.fail(f"video {position} has no integer 'id'")
            if video_id in videos:
                raise self.fail(f"video id {video_id} appears twice")
            if width is None or height is None or width <= 0 or height <= 0:
                raise self.fail(f"video {video_id} needs positive integer 'width' and 'height'")
            if width * height > MAX_PIXELS:  # no frame this size can be read, and one mask would need gigabytes
                raise self.fail(
                    f"video {video_id} is {width}x{height} pixels, more than the {MAX_PIXELS // 1_000_000} MP supported"
                )
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise self.fail(f"video {video_id}'s 'file_names' must be a list of file names")
            length = item.get("length", len(names))
            if length != len(names):
                raise self.fail(f"video {video_id} says 'length' {length} but lists {len(names)} file names")
            for name in names:
                self.check_file_name(video_id, name)
            videos[video_id] = (tuple(names), (height, width))
        return videos

    def check_file_name(self, video_id: int, name: str) -> None:
        problem = file_name_problem(name, self.frames_folder)
        if problem:
            raise self.fail(f"video {video_id}'s frame {name!r} {problem}")

    def annotation(
        self,
        position: int,
        item: Any,
        videos: dict[int, tuple[tuple[str, ...], tuple[int, int]]],
        category_ids: tuple[int, ...],
        seen_ids: set[int],
    ) -> tuple[Track, int]:
        if not isinstance(item, dict):
            raise self.fail(f"annotation {position} is not an object")
        annotation_id = _int(item.get("id"))
        if annotation_id is None:
            raise self.fail(f"annotation {position} has no integer 'id'")
        if annotation_id in seen_ids:
            raise self.fail(f"annotation id {annotation_id} appears twice")
        seen_ids.add(annotation_id)
        where = f"annotation {annotation_id}"
        video_id = _int(item.get("video_id"))
        if video_id not in videos:
            raise self.fail(f"{where} refers to video {item.get('video_id')!r}, which the file does not list")
        assert video_id is not None
        category_id = item.get("category_id")
        if category_id not in category_ids:
            raise self.fail(f"{where} has category {category_id!r}, not one of the categories {list(category_ids)}")
        names, (height, width) = videos[video_id]
        segmentations = item.get("segmentations")
        if not isinstance(segmentations, list):
            raise self.fail(f"{where} has no 'segmentations' list")
        if len(segmentations) != len(names):
            raise self.fail(
                f"{where} has {len(segmentations)} segmentations, but video {video_id} has {len(names)} frames "
                "(one per frame, null where the object is not seen)"
            )
        provenance = item.get(PROVENANCE_KEY)
        if not (isinstance(provenance, list) and len(provenance) == len(names)):
            provenance = [None] * len(names)
        scores = item.get(SCORES_KEY)
        if not (isinstance(scores, list) and len(scores) == len(names)):
            scores = [None] * len(names)
        shapes: dict[int, Shape] = {}
        rles: dict[int, dict[str, Any]] = {}
        for frame, segmentation in enumerate(segmentations):
            if isinstance(segmentation, dict):
                rles[frame] = self.rle(segmentation, height, width, f"{where}, frame {frame}")
            elif segmentation is not None:
                shapes[frame] = self.polygons(segmentation, f"{where}, frame {frame}")
        # one batch per annotation: tracing RLEs together costs a fraction of one by one
        for frame, found in zip(rles, shapes_from_rles(list(rles.values()))):
            if isinstance(found, Exception):
                raise self.fail(f"{where}, frame {frame}: bad RLE ({found})") from found
            shapes[frame] = found
        frames = []
        for frame, shape in sorted(shapes.items()):
            if shape.is_empty():
                continue
            made_by = provenance[frame] if provenance[frame] in PROVENANCES else HUMAN_DRAWN
            frames.append(TrackFrame(frame, shape, _score(scores[frame]), provenance=made_by))
        return Track(annotation_id, category_ids.index(category_id), tuple(frames)), video_id

    def rle(self, segmentation: dict[str, Any], height: int, width: int, where: str) -> dict[str, Any]:
        size = segmentation.get("size")
        if size != [height, width]:
            raise self.fail(f"{where}: RLE size {size!r} is not the video's [height, width] [{height}, {width}]")
        counts = segmentation.get("counts")
        if not isinstance(counts, (str, list)):
            raise self.fail(f"{where}: RLE 'counts' must be a string or a list of numbers")
        return {"size": size, "counts": counts}

    def polygons(self, segmentation: Any, where: str) -> Shape:
        if isinstance(segmentation, list):
            for ring in segmentation:
                if (
                    not isinstance(ring, list)
                    or len(ring) % 2
                    or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in ring)
                ):
                    raise self.fail(f"{where}: a polygon must be a flat list of x, y numbers, an even count")
            return shape_from_coco_polygons(segmentation)
        raise self.fail(f"{where}: a segmentation must be an RLE object, a polygon list or null")


# ---------------------------------------------------------------------------------------------- registry

FORMAT_NAME = "youtube-vis"


def _looks_like(path: Path) -> bool:
    """A .json file that lists videos with their frames' file names (a folder or a FIFO never is one)."""
    return path.is_file() and path.suffix.lower() == ".json" and looks_like_youtube_vis(path)


def _per_video(*_args: object) -> NoReturn:
    """The registry's per-image read and write: YouTube-VIS is per video, so a project reads and writes it
    (project.youtube_vis); a caller that treats it as a list of images gets this message."""
    raise FormatError(
        "YouTube-VIS holds videos and tracks, not single images: import it into a project "
        "(protolabel import FOLDER --from youtube-vis FILE) or export a project with --to youtube-vis"
    )


def _read(path: Path, images_folder: Path) -> CocoDataset:
    _per_video(path, images_folder)


def _write(dataset: CocoDataset, out: Path) -> list[str]:
    _per_video(dataset, out)


# A folder: OUT/annotations.json and the frames in OUT/JPEGImages/<video>/ (project.youtube_vis).
FORMAT = AnnotationFormat(
    FORMAT_NAME, "YouTube-VIS / OVIS (videos and tracks)", _looks_like, _read, _write, writes_folder=True
)
