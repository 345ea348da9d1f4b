"""The file list dock: every image with a lazily loaded thumbnail and its status, counts, a status filter."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPoint,
    QRect,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    Signal,
    SignalInstance,
)
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QLabel,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QVBoxLayout,
    QWidget,
)

from protolabel.app.colors import STATUS_COLORS, STATUS_TEXT
from protolabel.segmentation.images import ImageReadError, read_image
from protolabel.segmentation.media.frame_folder import is_frame_folder_path
from protolabel.segmentation.project.frame_thumbnails import FrameThumbnails, small_rgb
from protolabel.segmentation.project.image_list import (
    PARTLY_VERIFIED,
    UNREADABLE,
    ImageList,
    TagFilter,
    video_of_key,
)
from protolabel.segmentation.project.records import ImageStatus

THUMB = 40
ROW_HEIGHT = THUMB + 8
CACHE_SIZE = 3000
MAX_PENDING = 256  # requests beyond this were scrolled past: drop the oldest

UNREADABLE_COLOR = QColor("#b91c1c")

NameRole = Qt.ItemDataRole.UserRole + 1
StatusRole = Qt.ItemDataRole.UserRole + 2
ThumbRole = Qt.ItemDataRole.UserRole + 3
ErrorRole = Qt.ItemDataRole.UserRole + 4
ChipRole = Qt.ItemDataRole.UserRole + 5  # the status chip's text
SequenceRole = Qt.ItemDataRole.UserRole + 6  # True on a video's row (its frames follow when it is expanded)
SEQUENCE_COLOR = QColor("#4b5563")


def frame_label(name: str) -> str | None:
    """What a frame's row says ("frame 123" for "clip.mp4#000123"), None for an image or a video."""
    video = video_of_key(name)
    return None if video is None else f"frame {int(name.rpartition('#')[2]):,}"


@dataclass(frozen=True)
class _Request:
    """A row's thumbnail to make: the image file `root / name`, or frame `index` of `video` read by `frames`."""

    name: str
    root: Path
    generation: int  # the loader's when asked: a result for a list reset since is dropped
    frames: FrameThumbnails | None = None  # set for a video's frame
    video: str = ""
    index: int = 0


class _ThumbnailJob(QRunnable):
    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self.loader = loader

    def run(self) -> None:
        while (request := self.loader.next_request()) is not None:
            try:
                if request.frames is not None:
                    small = request.frames.thumbnail(request.video, request.index)
                else:
                    small = small_rgb(read_image(request.root / request.name), THUMB)
            except (ImageReadError, IndexError) as exc:  # a VideoError is an ImageReadError
                if not self._emit(self.loader.failed, request.generation, request.name, str(exc)):
                    return
                continue
            h, w = small.shape[:2]
            image = QImage(small.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
            if not self._emit(self.loader.loaded, request.generation, request.name, image):
                return

    @staticmethod
    def _emit(signal: SignalInstance, *args: object) -> bool:
        """Send a result; False when the list went away meanwhile (its window closed)."""
        try:
            signal.emit(*args)
        except RuntimeError:
            return False
        return True


class ThumbnailLoader(QObject):
    """Loads thumbnails off the UI thread, newest request first (what is on screen now).

    A video's frames are read through one FrameThumbnails (one reader per video) and, once the newest request
    picks a video, in ascending frame order: the reader decodes on instead of seeking for each. Requests for
    rows scrolled out of view are dropped (`keep_only`) before they are read."""

    loaded = Signal(int, str, QImage)  # generation, row name, thumbnail
    failed = Signal(int, str, str)  # generation, row name, why

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._lock = threading.Lock()
        self._pending: dict[str, _Request] = {}  # in request order: the last is the newest
        self._running = False
        self._frames: FrameThumbnails | None = None
        self.generation = 0  # counts `clear`s: results of requests from before the last are stale
        self._taken: set[str] = set()  # read by the worker, result not on the UI thread yet: not asked again
        self.loaded.connect(self._delivered)
        self.failed.connect(self._delivered)

    def request(self, root: Path, name: str) -> None:
        """Make the thumbnail of the image file `root / name`."""
        self._add(_Request(name, root, self.generation))

    def request_frame(self, root: Path, name: str, video: str, index: int) -> None:
        """Make the thumbnail of frame `index` of the video `root / video` (the row `name`)."""
        if self._frames is None or self._frames.folder != root:
            self._close_frames()
            self._frames = FrameThumbnails(root, THUMB)
        self._add(_Request(name, root, self.generation, self._frames, video, index))

    def _add(self, request: _Request) -> None:
        with self._lock:
            if request.name in self._pending or request.name in self._taken:
                return
            self._pending[request.name] = request
            while len(self._pending) > MAX_PENDING:
                del self._pending[next(iter(self._pending))]
            start = not self._running
            self._running = True
        if start:
            self._pool.start(_ThumbnailJob(self))

    def next_request(self) -> _Request | None:
        """Called from the worker: the most recent request, or the first frame (by number) of the video the most
        recent request is a frame of; None when none is left (and the worker ends)."""
        with self._lock:
            if not self._pending:
                self._running = False
                return None
            newest = self._pending[next(reversed(self._pending))]
            if newest.frames is not None:
                same = (r for r in self._pending.values() if r.frames is newest.frames and r.video == newest.video)
                newest = min(same, key=lambda r: r.index)
            del self._pending[newest.name]
            self._taken.add(newest.name)
            return newest

    def _delivered(self, generation: int, name: str, *result: object) -> None:
        """UI thread, before the model's slots: the row has its result (a repaint may ask again after this)."""
        with self._lock:
            self._taken.discard(name)

    def keep_only(self, names: set[str]) -> None:
        """Drop the requests for rows not in `names` (those on screen now): they were scrolled past."""
        with self._lock:
            self._pending = {name: r for name, r in self._pending.items() if name in names}

    def pending(self) -> list[str]:
        """The rows waiting for a thumbnail, oldest request first."""
        with self._lock:
            return list(self._pending)

    def clear(self) -> None:
        """Forget every request and close the videos' readers (the list is reset, or the folder closed)."""
        with self._lock:
            self._pending.clear()
            self._taken.clear()
        self.generation += 1
        self._close_frames()

    def _close_frames(self) -> None:
        frames, self._frames = self._frames, None
        if frames is not None:  # on the worker, after the read under way: the UI thread never waits for a decode
            self._pool.start(frames.close)

    def shutdown(self) -> None:
        self.clear()
        self._pool.waitForDone(2000)


class ImageListModel(QAbstractListModel):
    """The filtered image list as a Qt model; thumbnails are requested only for rows being drawn."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.images: ImageList | None = None
        self._visible: list[str] | tuple[str, ...] = ()
        self._sequence_rows: set[int] = set()  # rows that are a video, not an image or frame
        self._rows: dict[str, int] | None = None
        self._thumbs: OrderedDict[str, QPixmap] = OrderedDict()
        self.loader = ThumbnailLoader(self)
        self.loader.loaded.connect(self._on_thumbnail)
        self.loader.failed.connect(self._on_failed)

    def set_images(self, images: ImageList | None) -> None:
        if self.images is not None:
            self.images.events.status_changed.disconnect(self._on_status)
            self.images.events.filter_changed.disconnect(self._on_filter)
            self.images.events.unreadable.disconnect(self._on_unreadable)
            self.images.events.verified_changed.disconnect(self._on_verified)
            self.images.events.sequences_changed.disconnect(self._on_filter)
            self.images.events.tags_changed.disconnect(self._on_tags)
        self.loader.clear()
        self.beginResetModel()
        self.images = images
        self._thumbs.clear()
        self._refresh_visible()
        self.endResetModel()
        if images is not None:
            images.events.status_changed.connect(self._on_status)
            images.events.filter_changed.connect(self._on_filter)
            images.events.unreadable.connect(self._on_unreadable)
            images.events.verified_changed.connect(self._on_verified)
            images.events.sequences_changed.connect(self._on_filter)
            images.events.tags_changed.connect(self._on_tags)

    def _refresh_visible(self) -> None:
        if self.images is None or not self.images.sequences:
            self._visible = () if self.images is None else self.images.visible()
            self._sequence_rows = set()
        else:
            rows = self.images.rows()
            self._visible = [name for name, _ in rows]
            self._sequence_rows = {i for i, (_, sequence) in enumerate(rows) if sequence}
        self._rows = None

    def is_sequence_row(self, row: int) -> bool:
        return row in self._sequence_rows

    def row_of(self, name: str) -> int | None:
        if self._rows is None:
            self._rows = {n: i for i, n in enumerate(self._visible)}
        return self._rows.get(name)

    def name_at(self, row: int) -> str:
        return self._visible[row]

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 Qt's signature; an invalid index is immutable
        return 0 if parent.isValid() else len(self._visible)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.images is None:
            return None
        name = self._visible[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, NameRole):
            return name
        if index.row() in self._sequence_rows:
            return self._sequence_data(name, role)
        if role == StatusRole:
            return self.images.status(name)
        if role == ErrorRole:
            return self.images.unreadable.get(name)
        if role == ChipRole:
            return "unreadable" if name in self.images.unreadable else self._status_text(name)
        if role == Qt.ItemDataRole.ToolTipRole:
            error = self.images.unreadable.get(name)  # the full name: the row elides long ones
            if error:
                return f"{name}\nunreadable: {error}"
            verified = self.images.verified_objects(name)
            return f"{name}\n{self._status_text(name)}" + (f", {verified:,} objects verified" if verified else "")
        if role == ThumbRole:
            pixmap = self._thumbs.get(name)
            if pixmap is None and name not in self.images.unreadable:
                self._request_thumbnail(name)
            return pixmap
        return None

    def _request_thumbnail(self, name: str) -> None:
        """An image's file, or a frame folder's frame file, is read; a video's frame is decoded from the video."""
        assert self.images is not None
        video = self.images.sequence_of(name)
        if video is None or is_frame_folder_path(video):
            self.loader.request(self.images.root, name)
            return
        position = self.images.frame_position(name)
        index = int(name.rpartition("#")[2]) if position is None else position
        self.loader.request_frame(self.images.root, name, video, index)

    def visible_names(self, first: int, last: int) -> set[str]:
        """The names of rows `first`..`last` (clipped to the list)."""
        return set(self._visible[max(0, first) : max(0, last + 1)])

    def _sequence_data(self, name: str, role: int) -> object:
        """A video's row: its frame count (or that it is being indexed, or why it cannot be read)."""
        assert self.images is not None
        error = self.images.sequence_errors.get(name)
        frames = len(self.images.sequences.get(name, ()))
        open_mark = "▾" if name in self.images.expanded else "▸"
        if role == SequenceRole:
            return True
        if role == ErrorRole:
            return error
        if role == ChipRole:
            return "unreadable" if error else f"{open_mark} {frames:,} frames" if frames else "indexing…"
        if role == Qt.ItemDataRole.ToolTipRole:
            if error:
                return f"{name}\nunreadable: {error}"
            kind = "frame folder" if is_frame_folder_path(name) else "video"
            note = self.images.sequence_notes.get(name)
            more = f"\n{note}" if note else ""
            return (
                f"{name}\n{kind}, {frames:,} frames: click to show or hide them{more}" if frames else f"{name}\n{kind}"
            )
        return None

    def _status_text(self, name: str) -> str:
        return PARTLY_VERIFIED if self.images.partly_verified(name) else STATUS_TEXT[self.images.status(name)]

    def _on_verified(self, name: str | None) -> None:
        if self.images is not None and (self.images.filter == PARTLY_VERIFIED or name is None):
            self.beginResetModel()
            self._refresh_visible()
            self.endResetModel()
        elif name is not None:
            self._emit_row(name)  # its chip

    def _emit_row(self, name: str) -> None:
        row = self.row_of(name)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def _on_thumbnail(self, generation: int, name: str, image: QImage) -> None:
        if generation != self.loader.generation:
            return  # asked before the list was reset: maybe another folder's file of that name
        self._thumbs[name] = QPixmap.fromImage(image)
        while len(self._thumbs) > CACHE_SIZE:
            self._thumbs.popitem(last=False)
        self._emit_row(name)

    def _on_failed(self, generation: int, name: str, reason: str) -> None:
        if self.images is not None and generation == self.loader.generation:
            self.images.mark_unreadable(name, reason)

    def _on_unreadable(self, name: str, reason: str) -> None:
        self._on_status(name, None)  # it leaves its status's filter for UNREADABLE's (or back, read again)

    def _on_status(self, name: str, status: ImageStatus | None) -> None:
        if self.images is not None and self.images.filter is not None:
            self.beginResetModel()
            self._refresh_visible()
            self.endResetModel()
        else:
            self._emit_row(name)

    def _on_tags(self, name: str | None) -> None:
        if self.images is not None and isinstance(self.images.filter, TagFilter):
            self._on_filter(self.images.filter)  # the image joins or leaves the tag's list

    def _on_filter(self, status) -> None:
        self.beginResetModel()
        self._refresh_visible()
        self.endResetModel()


class ImageRowDelegate(QStyledItemDelegate):
    """Thumbnail, file name and a status chip in one row."""

    def sizeHint(self, option, index) -> QSize:  # noqa: N802
        return QSize(200, ROW_HEIGHT)

    @staticmethod
    def shown_name(metrics: QFontMetrics, name: str, width: int) -> str:
        """The name as the row shows it: a long one is cut at the end (the folders and the start say
        most), with the full name in the row's tooltip."""
        return metrics.elidedText(name, Qt.TextElideMode.ElideRight, width)

    def paint(self, painter: QPainter, option, index) -> None:
        painter.save()
        rect = option.rect
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, option.palette.highlight())
            text_color = option.palette.highlightedText().color()
        else:
            text_color = option.palette.text().color()
        thumb_rect = QRect(rect.left() + 4, rect.top() + 4, THUMB, THUMB)
        pixmap = index.data(ThumbRole)
        error = index.data(ErrorRole)
        if pixmap is not None:
            scaled = pixmap.size().scaled(thumb_rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(thumb_rect.center())
            painter.drawPixmap(target, pixmap)
        else:
            painter.fillRect(thumb_rect, QColor("#7f1d1d") if error else QColor("#3a3d42"))
            if error:
                painter.setPen(QColor("white"))
                painter.drawText(thumb_rect, Qt.AlignmentFlag.AlignCenter, "!")
        status = index.data(StatusRole) or ImageStatus.UNLABELED
        sequence = bool(index.data(SequenceRole))
        chip_text = index.data(ChipRole) or STATUS_TEXT[status]
        metrics = painter.fontMetrics()
        chip_w = metrics.horizontalAdvance(chip_text) + 12
        chip = QRect(rect.right() - chip_w - 6, rect.center().y() - 9, chip_w, 18)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(UNREADABLE_COLOR if error else SEQUENCE_COLOR if sequence else STATUS_COLORS[status])
        painter.drawRoundedRect(chip, 9, 9)
        painter.setPen(QColor("white"))
        painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, chip_text)
        painter.setPen(text_color)
        name_rect = QRect(thumb_rect.right() + 8, rect.top(), chip.left() - thumb_rect.right() - 14, rect.height())
        full = index.data(NameRole)
        frame = None if sequence else frame_label(full)
        if frame is not None:  # a frame under its video's row: its number says which (the key is in the tooltip)
            name_rect.setLeft(name_rect.left() + 12)
        name = self.shown_name(metrics, frame or full, name_rect.width())
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, name)
        painter.restore()


class ImageRowList(QListView):
    """The list's view: a row's data changing (a thumbnail arrived, a status) repaints that row only.

    QListView lays every row out again on any dataChanged, and in batched layout the scroll range shrinks to
    the first batch meanwhile, so the view jumped back to row 500 when a thumbnail arrived while a person
    scrolled a long list. Rows here are all one height whatever their data, so there is nothing to lay out."""

    def dataChanged(self, top_left: QModelIndex, bottom_right: QModelIndex, roles: Sequence[int] = ()) -> None:  # noqa: N802
        QAbstractItemView.dataChanged(self, top_left, bottom_right, list(roles))


class FileListDock(QDockWidget):
    """Counts per status, a status filter and the list; activating a row opens that image."""

    image_activated = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__("Images", parent)
        self.setObjectName("file_list_dock")
        self.images: ImageList | None = None
        self.counts_label = QLabel("No folder open")
        self.counts_label.setWordWrap(True)
        self.filter_box = QComboBox()
        self.filter_box.setObjectName("status_filter")
        self.model = ImageListModel(self)
        self.view = ImageRowList()
        self.view.setObjectName("image_list")
        self.view.setModel(self.model)
        self.view.setItemDelegate(ImageRowDelegate(self.view))
        self.view.setUniformItemSizes(True)  # constant-time layout for 100,000 rows
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(500)
        self.view.selectionModel().currentChanged.connect(self._on_current_row)
        self.view.clicked.connect(self._on_row_clicked)
        self.view.activated.connect(self._on_row_clicked)
        # rows scrolled past (or gone in a reset) drop their thumbnail requests: a person scrolling through a
        # video of thousands of frames queues only the rows on screen, not a seek for every row passed
        self.view.verticalScrollBar().valueChanged.connect(self._drop_hidden_requests)
        self.model.modelReset.connect(self._drop_hidden_requests)
        layout = QVBoxLayout()
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.counts_label)
        layout.addWidget(self.filter_box)
        layout.addWidget(self.view)
        body = QWidget()
        body.setLayout(layout)
        self.setWidget(body)
        self.filter_box.currentIndexChanged.connect(self._on_filter_chosen)
        self._updating = False

    def set_images(self, images: ImageList | None) -> None:
        if self.images is not None:
            for signal in (
                self.images.events.status_changed,
                self.images.events.filter_changed,
                self.images.events.unreadable,
                self.images.events.verified_changed,
                self.images.events.sequences_changed,
                self.images.events.tags_changed,
            ):
                signal.disconnect(self._update_counts)
        self.images = images
        self.model.set_images(images)
        if images is not None:
            for signal in (
                images.events.status_changed,
                images.events.filter_changed,
                images.events.unreadable,
                images.events.verified_changed,
                images.events.sequences_changed,
                images.events.tags_changed,
            ):
                signal.connect(self._update_counts)
        self._update_counts()

    def _update_counts(self, *args) -> None:
        self._updating = True
        try:
            self.filter_box.clear()
            if self.images is None:
                self.counts_label.setText("No folder open")
                return
            counts = self.images.counts()
            total = len(self.images)
            unreadable = self.images.unreadable_count
            cells = [
                f"<td><span style='color:{STATUS_COLORS[s].name()}'>■</span> {counts[s]:,} {STATUS_TEXT[s]}</td>"
                for s in ImageStatus
            ]
            cells.append(f"<td><span style='color:{UNREADABLE_COLOR.name()}'>■</span> {unreadable:,} unreadable</td>")
            verified = self.images.verified_counts()
            noun = "image" if total == 1 else "images"
            if self.images.sequences:
                frames = sum(len(keys) for keys in self.images.sequences.values())
                videos = len(self.images.sequences)
                noun += f" ({frames:,} of them frames of {videos:,} video{'s' * (videos != 1)})"
            objects = f"{verified.objects:,} verified object{'s' if verified.objects != 1 else ''}"
            if verified.partly:
                objects += f"; {verified.partly:,} edited image{'s' if verified.partly != 1 else ''} partly verified"
            self.counts_label.setText(
                f"<b>{total:,} {noun}</b><table cellspacing=2><tr>{cells[0]}{cells[1]}</tr>"
                f"<tr>{cells[2]}{cells[3]}</tr><tr>{cells[4]}</tr></table>{objects}"
            )
            self.counts_label.setToolTip(
                "An image is verified when a person accepted every object on it (Y, or V "
                "for all); partly verified when some are accepted and others not yet."
            )
            self.filter_box.addItem(f"All images ({total:,})", None)
            for status in ImageStatus:
                self.filter_box.addItem(f"{STATUS_TEXT[status].capitalize()} ({counts[status]:,})", status)
            self.filter_box.addItem(f"{PARTLY_VERIFIED.capitalize()} ({verified.partly:,})", PARTLY_VERIFIED)
            self.filter_box.addItem(f"Unreadable ({unreadable:,})", UNREADABLE)
            tag_counts = self.images.tag_counts()
            if isinstance(self.images.filter, TagFilter):  # the chosen tag stays listed when no image has it now
                tag_counts.setdefault(self.images.filter.tag, 0)
            for tag in sorted(tag_counts):
                self.filter_box.addItem(f"Tagged: {tag} ({tag_counts[tag]:,})", TagFilter(tag))
            chosen = [self.filter_box.itemData(i) for i in range(self.filter_box.count())].index(self.images.filter)
            self.filter_box.setCurrentIndex(chosen)
        finally:
            self._updating = False

    def _on_filter_chosen(self, index: int) -> None:
        if self._updating or self.images is None or index < 0:
            return
        self.images.set_filter(self.filter_box.itemData(index))

    def _drop_hidden_requests(self, *args: object) -> None:
        viewport = self.view.viewport()
        first = self.view.indexAt(QPoint(0, 0))
        last = self.view.indexAt(QPoint(0, viewport.height() - 1))
        if not first.isValid():
            self.model.loader.keep_only(set())
            return
        end = last.row() if last.isValid() else self.model.rowCount() - 1
        self.model.loader.keep_only(self.model.visible_names(first.row(), end))

    def _on_current_row(self, current: QModelIndex, previous: QModelIndex) -> None:
        if not self._updating and current.isValid() and not self.model.is_sequence_row(current.row()):
            self.image_activated.emit(self.model.name_at(current.row()))

    def _on_row_clicked(self, index: QModelIndex) -> None:
        """A video's row shows or hides its frames."""
        if self.images is not None and index.isValid() and self.model.is_sequence_row(index.row()):
            video = self.model.name_at(index.row())
            self.images.set_expanded(video, video not in self.images.expanded)

    def show_current(self, name: str | None) -> None:
        """Highlight the current image's row without re-emitting it (a frame's video is expanded to show it)."""
        video = None if name is None or self.images is None else self.images.sequence_of(name)
        if video is not None and self.images is not None:
            self._updating = True
            try:
                self.images.set_expanded(video, True)
            finally:
                self._updating = False
        row = None if name is None else self.model.row_of(name)
        self._updating = True
        try:
            if row is None:
                self.view.selectionModel().clearSelection()
            else:
                index = self.model.index(row)
                self.view.setCurrentIndex(index)
                self.view.scrollTo(index)
        finally:
            self._updating = False
