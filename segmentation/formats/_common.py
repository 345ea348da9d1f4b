"""What the format modules share: skipped entries named in a few lines, image sizes from headers, paths kept
inside a folder, and images placed beside an export."""

from __future__ import annotations

import functools
import os
import posixpath
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from protolabel.segmentation.files import write_all
from protolabel.segmentation.folders import path_inside
from protolabel.segmentation.formats.base import FormatError
from protolabel.segmentation.geometry.coco_shapes import shapes_from_rles
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.image_headers import image_size_from_header
from protolabel.segmentation.images import ImageReadError, read_image
from protolabel.segmentation.input_files import open_input, read_input_bytes

NAMED = 10  # entries named per kind of problem; the rest are counted
HEAD_BYTES = 4096  # most image headers (PNG, BMP, JPEG without a large EXIF block) lie in the first page
MORE_HEAD_BYTES = 64 * 1024  # a JPEG's size after a long EXIF block


class Skipped:
    """Entries left out while reading, grouped by why, for the import notes (the first few named, all counted)."""

    def __init__(self) -> None:
        self.by_reason: dict[str, list[str]] = {}

    def add(self, where: str, reason: str) -> None:
        self.by_reason.setdefault(reason, []).append(where)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_reason.values())

    def lines(self, noun: str) -> list[str]:
        out = []
        for reason, names in self.by_reason.items():
            shown = "; ".join(names[:NAMED]) + (f"; ... and {len(names) - NAMED} more" if len(names) > NAMED else "")
            out.append(f"Skipped {count(len(names), noun)}, {reason}: {shown}")
        return out


class InsideCheck:
    """Whether a name under `root` really lies inside it (path_inside's rule), resolving each folder once: a
    real path per file would cost more than reading the dataset."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.base = os.fspath(root)  # joined as text: a Path per name cost as much as the lstat
        self.folders: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        folder = posixpath.dirname(name)
        if folder not in self.folders:
            self.folders[folder] = path_inside(self.root, folder or ".") is not None
        if not self.folders[folder]:
            return False
        if os.path.islink(os.path.join(self.base, name)):
            return path_inside(self.root, name) is not None
        return True


class LinkOutsideError(OSError):
    """A file a dataset names that is a link leading outside the dataset's folder: never opened."""

    def __init__(self) -> None:
        super().__init__("a link that leads outside the folder, which is not followed")


def read_inside(inside: InsideCheck, name: str, limit: int, what: str) -> bytes:
    """The bytes of `name` under `inside.root` by the project's one rule for files a dataset names
    (folders.path_inside): a link is followed when its target lies inside the folder too, and one that leads
    outside is never opened (LinkOutsideError). The checks and the open are not one step: a folder that others
    may change while it is read is not guarded against them."""
    if not inside(name):
        raise LinkOutsideError
    return read_input_bytes(inside.root / name, limit, what=what)


def count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def counted_notes(counts: dict[str, int], notes: dict[str, tuple[str, str]]) -> list[str]:
    """A summary line per key counted above zero: `notes[key]` is (noun, the rest), so one thing reads '1 object
    ...', never '1 objects'."""
    return [f"{count(n, notes[key][0])}{notes[key][1]}" for key, n in counts.items() if n]


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) of an image file from its header, decoding it only for a format whose header is not
    parsed; ImageReadError (naming the file) when it cannot be read."""
    try:
        with open_input(path) as handle:
            head = handle.read(HEAD_BYTES)
            size = image_size_from_header(head)
            if size is None and len(head) == HEAD_BYTES:
                size = image_size_from_header(head + handle.read(MORE_HEAD_BYTES - HEAD_BYTES))
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot open file ({exc.strerror or exc})") from None
    if size is not None:
        return size
    height, width = read_image(path).shape[:2]
    return width, height


def name_inside(folder: Path, path: str | os.PathLike) -> str | None:
    """`path` (absolute, or relative to the current folder) as a '/'-separated name relative to `folder`, or
    None when it lies outside it. Only the names are compared: nothing is opened, no link followed."""
    return NamesInside(folder)(path)


class NamesInside:
    """name_inside for many paths against one folder, whose own path is normalised once (per name, that cost as
    much as the rest)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.root = os.path.normpath(os.path.abspath(folder))

    def __call__(self, path: str | os.PathLike) -> str | None:
        root, target = self.root, os.path.normpath(os.path.abspath(path))
        try:
            inside = os.path.commonpath([root, target]) == root and target != root
        except ValueError:  # another drive
            inside = False
        if not inside:
            return None
        # both normalised and `root` a prefix by whole components: the rest, not os.path.relpath's walk
        return target[len(root) :].lstrip(os.sep).replace(os.sep, "/")


def clean_relative(name: str) -> str | None:
    """A relative name written in a file ('\\' or '/' separated), normalised; None when it climbs out (absolute,
    a drive letter, '..' above the top) or cannot name a file (empty, NUL)."""
    if "\0" in name:
        return None
    name = posixpath.normpath(name.replace("\\", "/"))
    if name in ("", ".", "..") or name.startswith(("../", "/")) or (len(name) > 1 and name[1] == ":"):
        return None
    return name


def object_array(values: list) -> np.ndarray:
    """A 1-D object array of `values` as they are (np.array would turn a list of dicts or lists into more axes)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def tally(counts: dict[str, int], key: str, n: int = 1) -> None:
    """Adds `n` to `counts[key]`, for counted_notes."""
    if n:
        counts[key] = counts.get(key, 0) + n


def far_outside(points: np.ndarray, width: int, height: int) -> bool:
    """Vertices more than one image size outside the image (the COCO reader's rule: rasterising them would
    cost memory in proportion to the distance)."""
    (x1, y1), (x2, y2) = points.min(axis=0).tolist(), points.max(axis=0).tolist()
    return x1 < -width or y1 < -height or x2 > 2 * width or y2 > 2 * height


def distinct_points(points: np.ndarray) -> int:
    """How many different vertices (a set of tuples: np.unique(axis=0) costs twenty times more on a few points)."""
    return len(set(map(tuple, points.tolist())))


class FileBatch:
    """Many small files written for an export, a few at a time, made durable together by one sync at the end; a
    reader never sees half a file. Creating a file costs milliseconds on some file systems: one by one, a
    10,000-image export spent twenty times the writing itself waiting for them. The first error is raised when
    the batch ends (or as soon as it is seen).

    Into an empty (or new) folder the whole export is built in a hidden folder inside it with plain writes and
    moved into place at the end, a few renames: a reader sees all of it or none, and a failure leaves the folder
    as empty as it was. Into a folder that holds files already, each file is written atomically (a temp file
    renamed over its name), as the files beside it are kept."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.prefix = str(root) + os.sep  # the callers' paths are `root / name`
        self.staging = _staging_folder(root)
        self.pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="export-writer")
        self.pending: list[Future[None]] = []
        self.queued: list[Callable[[], None]] = []
        self.made: set[str] = set()
        self.unplaced: list[str | Path] = []  # images whose source is not a file (appended from the writers)

    def write_bytes(self, path: str | Path, data: bytes) -> None:
        target = self._target(path)
        write = _create_file if self.staging is not None else _write_file
        self._queue(functools.partial(write, target, data))

    def place_image(self, source: str | Path, target: str | Path) -> None:
        """`target` as a hard link to `source` (no copy of the pixels), or a copy across file systems; a source
        that is not a file is left out and listed in `unplaced` (looked at by the writer, not here: a stat per
        image cost as much as the rest of a YOLO export on a slow disk)."""
        where = self._target(target)

        def place() -> None:
            if not _place_image(source, where):
                self.unplaced.append(source)

        self._queue(place)

    def _target(self, path: str | Path) -> str:
        """Where `path` (under `root`) is written now: itself, or its place in the hidden folder; its folder made
        here, in order, so the writers never race to create one. Paths as text: a Path per file cost as much as
        writing a YOLO label file."""
        name = os.fspath(path)
        folder = os.path.dirname(name)
        if self.staging is not None:
            if not name.startswith(self.prefix):
                raise ValueError(f"{path} is not inside {self.root}")
            name = os.path.join(self.staging, name[len(self.prefix) :])
        if folder not in self.made:
            if self.staging is None:
                self._check_inside(Path(folder))
            os.makedirs(os.path.dirname(name), exist_ok=True)
            self.made.add(folder)
        return name

    def _queue(self, work: Callable[[], None]) -> None:
        self.queued.append(work)
        if len(self.queued) >= CHUNK:  # a task per few dozen files: a future per file cost more than the file
            self._submit()

    def _submit(self) -> None:
        if not self.queued:
            return
        chunk, self.queued = self.queued, []
        self.pending.append(self.pool.submit(_run_all, chunk))
        if len(self.pending) >= 4 * WRITERS:
            self._drain(keep=WRITERS)

    def _check_inside(self, folder: Path) -> None:
        """FormatError when `folder` (under `root`) is reached through a link that leads outside `root`: the
        project's rule for a dataset's files (folders.path_inside) applied to writing; the file names themselves
        are safe, as a file is renamed over a link, never written through it."""
        relative = os.path.relpath(folder, self.root)
        if path_inside(self.root, relative) is None:
            raise FormatError(
                f"{folder}: a link that leads outside {self.root}; the export writes only inside the folder it "
                "was given (remove the link or choose another folder)"
            )

    def _drain(self, keep: int = 0) -> None:
        while len(self.pending) > keep:
            self.pending.pop(0).result()

    def __enter__(self) -> FileBatch:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        done = False
        try:
            if exc_type is None:
                self._submit()
                self._drain()
                self.pool.shutdown(wait=True)
                if self.made or self.staging is not None:
                    os.sync()  # everything written above, on disk before the export says it is done
                if self.staging is not None:
                    _move_into(self.staging, self.root)
                done = True
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
            if not done and self.staging is not None:
                shutil.rmtree(self.staging, ignore_errors=True)  # nothing of a failed export stays


WRITERS = 8  # files created at once: their cost is waiting on the file system, not this process
CHUNK = 32  # files per task given to a writer
STAGING_PREFIX = ".protolabel-export-"  # hidden: folder walks skip it, as they skip any name starting with '.'


def _run_all(work: list[Callable[[], None]]) -> None:
    for item in work:
        item()


def _staging_folder(root: Path) -> Path | None:
    """A new hidden folder inside `root` when `root` is empty or new (made here), else None."""
    root.mkdir(parents=True, exist_ok=True)
    with os.scandir(root) as entries:
        if next(entries, None) is not None:
            return None
    return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))


def _move_into(staging: Path, root: Path) -> None:
    """Every entry of `staging` renamed into `root` (a rename makes a whole folder appear at once), then
    `staging` removed and the renames made durable. FormatError, moving nothing, when one of the names appeared
    in `root` meanwhile (another program writing there): it is not replaced."""
    with os.scandir(staging) as entries:
        names = [entry.name for entry in entries]
    taken = [name for name in names if os.path.lexists(root / name)]
    if taken:
        raise FormatError(
            f"{root}: {', '.join(sorted(taken)[:5])} appeared there during the export; nothing there is replaced "
            "and nothing of the export was written (export again into an empty folder)"
        )
    for name in names:
        os.rename(staging / name, root / name)
    os.rmdir(staging)
    _sync_folder(root)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder: the files themselves are on disk
    finally:
        os.close(fd)


def _create_file(path: str, data: bytes) -> None:
    """A new file (never one that exists, nor through a link) holding `data`: the hidden folder's writes."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0), 0o666)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def _write_file(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=os.path.dirname(path))
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes the file private; an export is an ordinary file
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


_UMASK = _current_umask()


def _same_file(a: str | Path, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _place_image(source: str | Path, target: str) -> bool:
    """`target` as a hard link to `source` (no copy of the pixels: a new link is whole at once) or, across file
    systems or over an existing file, a link or copy under a temporary name renamed into place, so a
    half-written image never stands under its name. False, and nothing written, when `source` is not a file."""
    try:
        os.link(source, target, follow_symlinks=True)
        return True
    except FileExistsError:
        if _same_file(source, target):  # an export again: already this image (a rename would do nothing)
            return True
    except OSError:
        pass  # another file system, links not allowed, or no such file: a copy, if it is a file
    if not os.path.isfile(source):
        return False
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=os.path.dirname(target))
    os.close(fd)
    try:
        os.unlink(tmp)
        try:
            os.link(source, tmp, follow_symlinks=True)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return True


def traced_shapes(rles: list[dict]) -> Iterator[Shape]:
    """The exact pixel outline of each RLE a reader made from a file's pixels (VOC's index PNGs, CVAT's masks), in
    order: all traced in one batch (shapes_from_rles, as the COCO import does), as one call per object cost most
    of those imports."""
    for shape in shapes_from_rles(rles):
        if isinstance(shape, Exception):  # the readers make these RLEs from checked pixels: a bug, not the file's
            raise shape
        yield shape
