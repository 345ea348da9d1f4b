"""The one folder walker: which files of a folder the CLI, the app and training see, and in what order.

One rule everywhere:
- names are relative to the folder, '/'-separated, in natural order ('img2' before 'img10');
- hidden files and folders (name starting with '.') are skipped, so `.protolabel/` never shows;
- a folder is read at most once, by its real identity (device, inode): a symlink back to an
  enclosing folder (`ln -s . a`) or a second link to the same folder is not followed again, so a
  walk always ends and never lists one file twice through two folder names;
- real sub-folders come before symlinked ones, so a file reachable both ways keeps its real name;
- an unreadable sub-folder is skipped (and named in the result), never a reason to fail the walk;
- a name that is not valid UTF-8 (possible on Linux) is skipped and named: the project store, COCO
  files and JSON all hold text, so such a file could be read but its objects never written;
- nothing is left out without a word: every entry skipped for a reason is in `left_out`, with it.

Built on os.scandir (no stat for plain files), so 100,000 names take a fraction of a second.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from protolabel.segmentation.images import IMAGE_EXTENSIONS, natural_key
from protolabel.segmentation.input_files import kind_of

PROGRESS_EVERY = 5000  # entries between two progress calls
PROJECT_DIR_NAME = ".protolabel"  # the project's own files, inside the image folder (hidden: never walked)


@dataclass(frozen=True)
class FolderWalk:
    """What a walk found: file names, and the sub-folders it could not read or would not follow."""

    names: tuple[str, ...]  # relative, '/'-separated, natural order
    unreadable: tuple[str, ...] = ()  # sub-folders that could not be listed (permission, I/O error)
    links_skipped: tuple[str, ...] = ()  # symlinked folders not followed: their target was already read
    left_out: tuple[tuple[str, str], ...] = ()  # (name as shown, why) of every file or folder skipped for a reason

    def report_lines(self, limit: int = 10) -> list[str]:
        """One line per kind of skip, naming up to `limit` entries, for a command's or a window's report."""
        by_reason: dict[str, list[str]] = {}
        for name, why in self.left_out:
            by_reason.setdefault(why, []).append(name)
        lines = []
        for why, names in by_reason.items():
            more = f", ... and {len(names) - limit} more" if len(names) > limit else ""
            lines.append(f"left out {len(names)} ({why}): {', '.join(map(_shortened, names[:limit]))}{more}")
        return lines


def _shortened(name: str, keep: int = 100) -> str:
    """A very long name (a path nested past the system's limit) cut in the middle, both ends kept."""
    return name if len(name) <= keep else f"{name[: keep // 3]}...{name[-(keep - keep // 3) :]}"


def shown_name(name: str) -> str:
    """A file name as it can be printed: bytes that are not UTF-8 (held as surrogates) written as \\xNN."""
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # lone surrogates from a JSON file, not from the file system
        return name.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def is_utf8_name(name: str) -> bool:
    """True when the name is valid text (no undecodable bytes held as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


NOT_UTF8 = "name not valid UTF-8: rename it to use it"


def is_image_name(name: str) -> bool:
    """True for a file name with one of the image extensions the product reads."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def walk_folder(
    folder: str | os.PathLike,
    *,
    keep: Callable[[str], bool] | None = None,
    progress: Callable[[int], None] | None = None,
) -> FolderWalk:
    """Every file under `folder` whose name passes `keep` (all files when None), by the rule above.

    `progress(entries_seen)` is called every few thousand entries; it may raise to abort the walk.
    Raises NotADirectoryError / FileNotFoundError / PermissionError only for the top folder itself.
    """
    root = os.fspath(folder)
    top = os.stat(root)  # the top folder must exist: an error here is the caller's to report
    if not os.path.isdir(root):
        raise NotADirectoryError(f"{root}: not a folder")
    seen = {_identity(root, top)}
    found: list[str] = []
    unreadable: list[str] = []
    links_skipped: list[str] = []
    left_out: list[tuple[str, str]] = []

    def cannot_list(rel: str, exc: OSError) -> None:
        unreadable.append(rel)
        left_out.append((shown_name(rel), f"folder not read: {_why(exc)}"))

    real_dirs: list[str] = [""]
    linked_dirs: list[str] = []  # symlinked folders, read after every real one
    entries_seen = 0
    while real_dirs or linked_dirs:
        if real_dirs:
            rel_dir = real_dirs.pop()
        else:
            linked_dirs.sort(key=natural_key, reverse=True)
            rel_dir = linked_dirs.pop()
            path = os.path.join(root, rel_dir)
            try:
                key = _identity(path, os.stat(path))
            except OSError as exc:
                cannot_list(rel_dir, exc)
                continue
            if key in seen:
                links_skipped.append(rel_dir)
                continue
            seen.add(key)
        try:
            listing = os.scandir(os.path.join(root, rel_dir) if rel_dir else root)
        except OSError as exc:
            cannot_list(rel_dir, exc)
            continue
        with listing:
            try:
                for entry in listing:
                    entries_seen += 1
                    if progress is not None and entries_seen % PROGRESS_EVERY == 0:
                        progress(entries_seen)
                    name = entry.name
                    if name.startswith("."):
                        continue
                    rel = f"{rel_dir}/{name}" if rel_dir else name
                    wanted = keep is None or keep(name)
                    try:
                        if entry.is_dir():
                            if not is_utf8_name(name):
                                left_out.append((shown_name(rel), NOT_UTF8))
                            elif entry.is_symlink():
                                linked_dirs.append(rel)
                            else:
                                key = _identity(entry.path, entry.stat())
                                if key not in seen:  # a bind mount of an enclosing folder loops too
                                    seen.add(key)
                                    real_dirs.append(rel)
                            continue
                        if not wanted:
                            continue
                        if entry.is_file():
                            if is_utf8_name(name):
                                found.append(rel)
                            else:
                                left_out.append((shown_name(rel), NOT_UTF8))
                        else:  # a FIFO, a device, a socket or a broken link with an image's name
                            left_out.append((shown_name(rel), _not_a_file(entry)))
                    except OSError as exc:  # e.g. a path longer than the system allows
                        left_out.append((shown_name(rel), f"cannot be read: {_why(exc)}"))
            except OSError as exc:
                cannot_list(rel_dir, exc)  # the listing failed half-way (I/O error); keep what was read
    found.sort(key=natural_key)
    return FolderWalk(
        tuple(found),
        tuple(sorted(unreadable, key=natural_key)),
        tuple(sorted(links_skipped, key=natural_key)),
        tuple(sorted(left_out, key=lambda item: natural_key(item[0]))),
    )


def _why(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return "its path is longer than the system allows"
    return exc.strerror or str(exc)


def _not_a_file(entry: os.DirEntry) -> str:
    try:
        return f"{kind_of(entry.stat().st_mode)}, not a regular file"
    except FileNotFoundError:
        return "a link to nothing"


def _identity(path: str, st: os.stat_result) -> tuple:
    """What makes a folder the same folder: (device, inode); the real path where inodes are not given."""
    if not st.st_ino:  # scandir's stat on Windows leaves st_ino 0; os.stat fills it in
        st = os.stat(path)
    if not st.st_ino:  # some network or FUSE file systems have no inode numbers at all
        return ("path", os.path.normcase(os.path.realpath(path)))
    return (st.st_dev, st.st_ino)


def path_inside(folder: str | os.PathLike, name: str) -> Path | None:
    """The real path of `name` under `folder` (symlinks resolved), or None when it leads outside the folder.

    The one rule for files named by a COCO file (training, import): a name with `..`, an absolute path
    elsewhere, or a symlink whose target lies outside the folder is never opened."""
    root = os.path.realpath(folder)
    real = os.path.realpath(os.path.join(root, name))  # an absolute name replaces root
    try:
        inside = os.path.commonpath([root, real]) == root
    except ValueError:  # another drive on Windows
        inside = False
    return Path(real) if inside else None


def image_names(folder: str | os.PathLike, *, progress: Callable[[int], None] | None = None) -> list[str]:
    """Relative names of the image files under `folder` (the walker's rule, image extensions only)."""
    return list(walk_folder(folder, keep=is_image_name, progress=progress).names)


def image_paths(folder: str | os.PathLike) -> list[Path]:
    """Paths of the image files under `folder`, in the walker's order."""
    root = Path(folder)
    return [root / name for name in image_names(root)]
