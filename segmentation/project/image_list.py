"""The images of a project folder with their status, counts and a status filter.

Built for large folders: 100,000 names are scanned and sorted in well under a second, and
counts and the filtered view are kept up to date incrementally.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from psygnal import Signal, SignalGroup

from protolabel.segmentation.folders import image_names
from protolabel.segmentation.images import natural_key
from protolabel.segmentation.media.frame_folder import FrameSequence, is_frame_folder_path
from protolabel.segmentation.project.records import ImageStatus
from protolabel.segmentation.project.verified import VerifiedCounts

UNREADABLE = "unreadable"  # the filter of images that cannot be read or whose stored rows are damaged
PARTLY_VERIFIED = "partly verified"  # the filter of images with verified objects and others (verified.py)


@dataclass(frozen=True)
class TagFilter:
    """The filter of the images tagged `tag` (whatever their status, readable or not)."""

    tag: str


# an ImageStatus, UNREADABLE, PARTLY_VERIFIED, a TagFilter, or None (every image)
StatusFilter = ImageStatus | str | TagFilter | None


def scan_image_names(folder: str | Path, *, progress: Callable[[int], None] | None = None) -> list[str]:
    """'/'-separated paths of the images under `folder`, by the one folder walker's rule (segmentation/folders.py)."""
    return image_names(folder, progress=progress)


class ImageListEvents(SignalGroup):
    status_changed = Signal(str, object)  # path, new ImageStatus
    filter_changed = Signal(object)  # StatusFilter
    unreadable = Signal(str, str)  # path, reason ('' when it reads again)
    verified_changed = Signal(object)  # path whose count of verified objects changed, or None for many
    sequences_changed = Signal(object)  # the video whose frames, error or expanded state changed
    tags_changed = Signal(object)  # path whose tags changed, or None for many


def video_of_key(key: str) -> str | None:
    """The video path of a frame key ("clip.mp4#000123" -> "clip.mp4"), None for an image name."""
    video, sep, number = key.rpartition("#")
    return video if sep and video and number.isdigit() else None


class ImageList:
    """Every image of the folder, its status, the per-status counts and the filtered view.

    An unreadable image (its file cannot be decoded, or its stored rows are damaged) counts and
    filters as UNREADABLE only, not under its status: it cannot be labelled until it is fixed.
    """

    def __init__(self, root: Path, names: Sequence[str], statuses: Mapping[str, ImageStatus] | None = None) -> None:
        self.events = ImageListEvents()
        self.root = Path(root)
        self.names: tuple[str, ...] = tuple(names)
        self._index: dict[str, int] | None = None
        statuses = statuses or {}
        self._status = {n: ImageStatus(s) for n, s in statuses.items() if s != ImageStatus.UNLABELED}
        self._status = {n: s for n, s in self._status.items() if n in self._index_map()}
        self._counts = Counter(self._status.values())
        self._counts[ImageStatus.UNLABELED] = len(self.names) - len(self._status)
        self.unreadable: dict[str, str] = {}
        self._unreadable_counts: Counter[ImageStatus] = Counter()  # the unreadable images per status
        self._verified: dict[str, int] = {}  # verified objects per image (images with none left out)
        self._tags: dict[str, tuple[str, ...]] = {}  # tags per image (untagged images left out)
        self.filter: StatusFilter = None
        self._visible: list[str] | None = None
        # videos (and numbered-frame folders) listed as sequences: their frame keys once indexed, () before
        self.sequences: dict[str, tuple[str, ...]] = {}
        self.sequence_errors: dict[str, str] = {}  # video -> why it cannot be read
        self.sequence_notes: dict[str, str] = {}  # sequence -> what reading it found (a frame folder's gaps)
        self.expanded: set[str] = set()  # sequences whose frames the list shows
        self._frame_of: dict[str, tuple[str, int]] = {}  # frame key -> (its sequence, its position there)

    @classmethod
    def scan(cls, root: str | Path, statuses: Mapping[str, ImageStatus] | None = None) -> ImageList:
        return cls(Path(root), scan_image_names(root), statuses)

    def __len__(self) -> int:
        return len(self.names)

    def _index_map(self) -> dict[str, int]:
        if self._index is None:
            self._index = {n: i for i, n in enumerate(self.names)}
        return self._index

    def __contains__(self, name: object) -> bool:
        return name in self._index_map()

    def index_of(self, name: str) -> int:
        """Position of the image in folder order (KeyError if it is not in the folder)."""
        return self._index_map()[name]

    def absolute(self, name: str) -> Path:
        return self.root / name

    # ---------------------------------------------------------------- status
    def status(self, name: str) -> ImageStatus:
        return self._status.get(name, ImageStatus.UNLABELED)

    def set_status(self, name: str, status: ImageStatus) -> None:
        status = ImageStatus(status)
        old = self.status(name)
        if old == status or name not in self:
            return
        if status is ImageStatus.UNLABELED:
            del self._status[name]
        else:
            self._status[name] = status
        self._counts[old] -= 1
        self._counts[status] += 1
        if name in self.unreadable:
            self._unreadable_counts[old] -= 1
            self._unreadable_counts[status] += 1
        if self.filter is not None:
            self._visible = None
        self.events.status_changed.emit(name, status)

    def counts(self) -> dict[ImageStatus, int]:
        """Readable images per status (see `unreadable_count` for the rest)."""
        return {s: self._counts.get(s, 0) - self._unreadable_counts.get(s, 0) for s in ImageStatus}

    @property
    def unreadable_count(self) -> int:
        return len(self.unreadable)

    def names_with_status(self, status: ImageStatus) -> list[str]:
        """Readable images with this status, in folder order."""
        unreadable = self.unreadable
        if status is ImageStatus.UNLABELED:
            return [n for n in self.names if n not in self._status and n not in unreadable]
        return [n for n in self.names if self._status.get(n) == status and n not in unreadable]

    def mark_unreadable(self, name: str, reason: str) -> None:
        if name not in self:
            return
        if self.unreadable.get(name) != reason:
            if name not in self.unreadable:
                self._unreadable_counts[self.status(name)] += 1
                if self.filter is not None:
                    self._visible = None
            self.unreadable[name] = reason
            self.events.unreadable.emit(name, reason)

    def mark_readable(self, name: str) -> None:
        """The image was read after all (the file was replaced or came back): it leaves the unreadable ones."""
        if self.unreadable.pop(name, None) is None:
            return
        self._unreadable_counts[self.status(name)] -= 1
        if self.filter is not None:
            self._visible = None
        self.events.unreadable.emit(name, "")

    # ---------------------------------------------------------------- verified objects (see verified.py)
    def set_verified_objects(self, name: str, count: int) -> None:
        """How many of the image's objects are verified now."""
        if name not in self or self._verified.get(name, 0) == count:
            return
        if count:
            self._verified[name] = count
        else:
            del self._verified[name]
        if self.filter == PARTLY_VERIFIED:
            self._visible = None
        self.events.verified_changed.emit(name)

    def set_all_verified_objects(self, counts: Mapping[str, int]) -> None:
        """Every image's count of verified objects at once (as the store holds them)."""
        counts = {n: c for n, c in counts.items() if c and n in self}
        if counts != self._verified:
            self._verified = counts
            if self.filter == PARTLY_VERIFIED:
                self._visible = None
            self.events.verified_changed.emit(None)

    def verified_objects(self, name: str) -> int:
        return self._verified.get(name, 0)

    def partly_verified(self, name: str) -> bool:
        """The image holds verified objects and others not accepted yet (readable images only)."""
        return name in self._verified and self.status(name) is not ImageStatus.VERIFIED and name not in self.unreadable

    def verified_counts(self) -> VerifiedCounts:
        """Verified images, partly verified images and verified objects of the readable images."""
        readable = {n: c for n, c in self._verified.items() if n not in self.unreadable}
        partly = sum(1 for n in readable if self.status(n) is not ImageStatus.VERIFIED)
        return VerifiedCounts(self.counts()[ImageStatus.VERIFIED], partly, sum(readable.values()), len(readable))

    # ---------------------------------------------------------------- image tags (the store's image_tags)
    def set_tags(self, name: str, tags: Iterable[str]) -> None:
        """The image's tags now (as the store holds them)."""
        tags = tuple(sorted(set(tags)))
        if name not in self or self._tags.get(name, ()) == tags:
            return
        if tags:
            self._tags[name] = tags
        else:
            del self._tags[name]
        if isinstance(self.filter, TagFilter):
            self._visible = None
        self.events.tags_changed.emit(name)

    def set_all_tags(self, tags: Mapping[str, Iterable[str]]) -> None:
        """Every image's tags at once (the store's `tags_by_image`); tags of names not listed are left out."""
        found = {n: tuple(sorted(set(t))) for n, t in tags.items() if n in self}
        found = {n: t for n, t in found.items() if t}
        if found != self._tags:
            self._tags = found
            if isinstance(self.filter, TagFilter):
                self._visible = None
            self.events.tags_changed.emit(None)

    def tags(self, name: str) -> tuple[str, ...]:
        return self._tags.get(name, ())

    def tag_counts(self) -> dict[str, int]:
        """Each tag the project uses, sorted, with how many listed images carry it."""
        counts = Counter(tag for tags in self._tags.values() for tag in tags)
        return {tag: counts[tag] for tag in sorted(counts)}

    # ---------------------------------------------------------------- sequences (videos)
    def add_frame_folders(self, sequences: Iterable[FrameSequence]) -> None:
        """List frame folders as sequences at once: their frames are images of the list already (files), so
        they keep their statuses; the controller records them in the store when it opens them."""
        for sequence in sequences:
            self.add_sequences([sequence.path])
            self.set_frames(sequence.path, sequence.keys, {})

    def add_sequences(self, videos: Sequence[str]) -> None:
        """List videos as sequences; their frames come with `set_frames` once the video is indexed."""
        for video in videos:
            self.sequences.setdefault(video, ())
        if videos:
            self.events.sequences_changed.emit(None)

    def set_frames(self, video: str, keys: Sequence[str], statuses: Mapping[str, ImageStatus]) -> None:
        """The indexed video's frame keys (they become images of the list, in folder order) and their statuses."""
        old = set(self.sequences.get(video, ()))
        keys = tuple(keys)
        self.sequences[video] = keys
        for key in old:
            self._frame_of.pop(key, None)
        self._frame_of.update((key, (video, i)) for i, key in enumerate(keys))
        self.sequence_errors.pop(video, None)
        new = [k for k in keys if k not in old and k not in self]
        if new:
            self.names = tuple(sorted((*self.names, *new), key=natural_key))
            self._index = None
            self._counts[ImageStatus.UNLABELED] += len(new)
            if self.filter is not None:
                self._visible = None
        for key in keys:
            status = statuses.get(key, ImageStatus.UNLABELED)
            if status is not ImageStatus.UNLABELED:
                self.set_status(key, status)
        self.events.sequences_changed.emit(video)

    def set_sequence_note(self, video: str, note: str | None) -> None:
        """What a person should know about a readable sequence ('walk/: frames 00017-00019 are missing')."""
        if note:
            self.sequence_notes[video] = note
        else:
            self.sequence_notes.pop(video, None)
        self.events.sequences_changed.emit(video)

    def drop_frame_folder(self, path: str) -> None:
        """A folder listed as a sequence is not one after all (its images are not all one size): its frames
        are the loose images they are files of, with the statuses they have."""
        keys = self.sequences.pop(path, None)
        if keys is None or not is_frame_folder_path(path):
            if keys is not None:
                self.sequences[path] = keys
            return
        for key in keys:
            self._frame_of.pop(key, None)
        self.expanded.discard(path)
        self.sequence_notes.pop(path, None)
        self.sequence_errors.pop(path, None)
        self.events.sequences_changed.emit(None)

    def set_sequence_error(self, video: str, reason: str) -> None:
        """The video cannot be read: it stays listed with the reason."""
        self.sequences.setdefault(video, ())
        self.sequence_errors[video] = reason
        self.events.sequences_changed.emit(video)

    def sequence_of(self, name: str) -> str | None:
        """The listed sequence (a video, or a frame folder 'walk/') a frame key belongs to, None for an image."""
        found = self._frame_of.get(name)
        if found is not None:
            return found[0]
        video = video_of_key(name)
        return video if video is not None and video in self.sequences else None

    def frame_position(self, name: str) -> int | None:
        """The frame's index in its sequence (its place on the timeline), None for an image."""
        found = self._frame_of.get(name)
        return None if found is None else found[1]

    def set_expanded(self, video: str, expanded: bool) -> None:
        """Show (or hide) a sequence's frames in the list."""
        if video in self.sequences and (video in self.expanded) != expanded:
            (self.expanded.add if expanded else self.expanded.discard)(video)
            self.events.sequences_changed.emit(video)

    def rows(self) -> list[tuple[str, bool]]:
        """What the file list shows: (name, is a sequence row) in folder order; a sequence's frames follow its
        row when it is expanded (and pass the filter)."""
        headers = sorted(self.sequences, key=natural_key)
        rows: list[tuple[str, bool]] = []
        placed: set[str] = set()
        h = 0
        for name in self.visible():
            video = self.sequence_of(name)
            key = natural_key(video if video is not None else name)
            while h < len(headers) and natural_key(headers[h]) <= key:
                rows.append((headers[h], True))
                placed.add(headers[h])
                h += 1
            if video is None or video in self.expanded:
                rows.append((name, False))
        rows.extend((video, True) for video in headers[h:] if video not in placed)
        return rows

    # ---------------------------------------------------------------- filtered view
    def set_filter(self, status: StatusFilter) -> None:
        """Show only images with this status, only the UNREADABLE or PARTLY_VERIFIED ones, only those with a tag
        (a TagFilter), or every image (None)."""
        if status is not None and not isinstance(status, TagFilter) and status not in (UNREADABLE, PARTLY_VERIFIED):
            status = ImageStatus(status)
        if status != self.filter:
            self.filter = status
            self._visible = None
            self.events.filter_changed.emit(status)

    def visible(self) -> Sequence[str]:
        """The names the filter lets through, in folder order (all names without a filter)."""
        if self.filter is None:
            return self.names
        if self._visible is None:
            if self.filter == UNREADABLE:
                self._visible = [n for n in self.names if n in self.unreadable]
            elif self.filter == PARTLY_VERIFIED:
                self._visible = [n for n in self.names if self.partly_verified(n)]
            elif isinstance(self.filter, TagFilter):
                tag = self.filter.tag
                self._visible = [n for n in self.names if tag in self._tags.get(n, ())]
            else:
                self._visible = self.names_with_status(self.filter)
        return self._visible

    def neighbour(self, name: str | None, step: int) -> str | None:
        """The image `step` places after (or before) `name` in the filtered view, None at the ends."""
        visible = self.visible()
        if not visible:
            return None
        if name is None:
            return visible[0] if step > 0 else visible[-1]
        if self.filter is None:
            position = self._index_map().get(name)
        else:
            try:
                position = visible.index(name)  # type: ignore[union-attr]
            except ValueError:
                position = None
        if position is None:  # current image was filtered out: go to the nearest one in folder order
            index = self._index_map().get(name, -1)
            order = self._index_map()
            after = [n for n in visible if order[n] > index]
            before = [n for n in visible if order[n] < index]
            return (after[0] if after else None) if step > 0 else (before[-1] if before else None)
        target = position + step
        return visible[target] if 0 <= target < len(visible) else None
