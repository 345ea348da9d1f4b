"""An open project: the folder's image list, its store, the current image and project settings."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

from psygnal import Signal, SignalGroup

from protolabel.segmentation.inspection.cache import InferenceCache
from protolabel.segmentation.media.frame_folder import frame_sequences
from protolabel.segmentation.media.reader import is_video_name
from protolabel.segmentation.project.attribute_edit import AttributeSchemaEdit, apply_schema_edit, replay_schema_edit
from protolabel.segmentation.project.document import Change, ImageAnnotations
from protolabel.segmentation.project.image_list import ImageList
from protolabel.segmentation.project.labels import (
    CLASS_MAPPING_KEY,
    KEEP_CLASSES_KEY,
    LABEL_COLORS_KEY,
    LABELS_KEY,
    ClassEdit,
    ClassMapping,
    ClassSettings,
    appended_labels,
    restore_classes,
)
from protolabel.segmentation.project.records import ImageStatus, TrackEdit
from protolabel.segmentation.project.store import AutoLabelOutcome, ProjectStore, ProjectStoreError, StaleEditError
from protolabel.segmentation.project.verified import verified_in
from protolabel.segmentation.project.video_store import VideoStore

CURRENT_IMAGE_KEY = "current_image"  # project setting: the image shown last, where a reopened folder starts


class ProjectEvents(SignalGroup):
    current_changed = Signal(object)  # name of the current image, or None
    labels_changed = Signal(object)  # tuple of project labels
    class_mapping_changed = Signal(object)  # ClassMapping
    # (image name, the applied Change) after an edit; (name or None, None) when objects were re-read from the
    # store (reload, auto-label, import): counts then need a new look
    objects_changed = Signal(object, object)
    class_edit_replayed = Signal(object, bool)  # (ClassEdit, True for an undo / False for a redo)
    tracks_changed = Signal(object)  # the video path whose tracks a track edit (or its undo) changed


class Project:
    """What the app shows: one folder, opened with its store. Use from one thread (the UI's)."""

    def __init__(self, store: ProjectStore, images: ImageList) -> None:
        self.events = ProjectEvents()
        self.store = store
        self.images = images
        self.current_name: str | None = None
        self._documents: dict[str, ImageAnnotations] = {}
        self.inference = InferenceCache(store.folder)  # the last model output per image, for the inspector

    @classmethod
    def open(cls, folder: str | Path, names: Sequence[str] | None = None) -> Project:
        """Open a folder; raises ProjectStoreError (read-only, locked, damaged) with a plain message.

        `names` are the folder's images when the caller already walked it (the app does, off its UI
        thread); otherwise the folder is walked here. Images whose stored rows are damaged are
        marked unreadable with the reason; the rest of the project works.
        """
        store = VideoStore.open(folder)
        try:
            return cls.from_store(store, names)
        except BaseException:
            store.close()
            raise

    @classmethod
    def from_store(cls, store: ProjectStore, names: Sequence[str] | None = None) -> Project:
        """A project over an open store (it becomes the project's to close)."""
        if names is None:
            images = ImageList.scan(store.folder, store.statuses())
            images.add_frame_folders(frame_sequences(images.names))
        else:
            images = ImageList(store.folder, [n for n in names if not is_video_name(n)], store.statuses())
            videos = [n for n in names if is_video_name(n)]
            images.add_sequences(videos)
            images.add_frame_folders(frame_sequences(images.names))
            if isinstance(store, VideoStore):
                _list_recorded_frames(store, images, videos)
        for name, reason in store.damaged_statuses().items():
            if name in images:
                images.mark_unreadable(name, reason)
        images.set_all_verified_objects(store.verified_object_counts(with_frames=True))
        images.set_all_tags(store.tags_by_image())
        _list_carried_labels(store)
        return cls(store, images)

    @property
    def folder(self) -> Path:
        return self.store.folder

    def close(self) -> None:
        self.store.close()

    # ---------------------------------------------------------------- documents
    def document(self, name: str) -> ImageAnnotations:
        """The annotation document of an image (one instance per image, so undo history stays valid)."""
        doc = self._documents.get(name)
        if doc is None:
            doc = ImageAnnotations(self.store, name)
            doc.events.changed.connect(lambda change, n=name: self._on_document_changed(n, change))
            doc.events.reloaded.connect(lambda n=name: self._on_document_reloaded(n))
            self._documents[name] = doc
            if doc.damaged is not None:
                self.images.mark_unreadable(name, doc.damaged)
        return doc

    def _on_document_reloaded(self, name: str) -> None:
        doc = self._documents[name]
        if doc.damaged is not None:
            self.images.mark_unreadable(name, doc.damaged)
        else:
            self.images.set_status(name, doc.status)
            self.images.set_verified_objects(name, verified_in(doc.objects))
        self.events.objects_changed.emit(name, None)

    def _on_document_changed(self, name: str, change: Change) -> None:
        self.images.set_status(name, change.status_after)
        self.images.set_verified_objects(name, verified_in(self._documents[name].objects))
        self.events.objects_changed.emit(name, change)  # before a new label's labels_changed (a full re-read)
        labels = appended_labels(self.labels, (o.label for o in change.after))
        if len(labels) > len(self.labels):
            self.set_labels(tuple(labels))

    @property
    def current(self) -> ImageAnnotations | None:
        return None if self.current_name is None else self.document(self.current_name)

    def set_current(self, name: str | None) -> None:
        """Show another image; it is kept with the project, so reopening the folder returns to it."""
        if name is not None and name not in self.images:
            raise KeyError(f"{name} is not an image of {self.folder}")
        if name != self.current_name:
            self.current_name = name
            if name is not None:
                try:
                    self.store.set_setting(CURRENT_IMAGE_KEY, name)
                except ProjectStoreError:
                    pass  # a place to return to is a convenience: a store that refuses it now loses nothing else
            self.events.current_changed.emit(name)

    def last_image(self) -> str | None:
        """The image shown when the project was last open, if it is still one of the folder's images."""
        name = self.store.setting(CURRENT_IMAGE_KEY)
        return name if isinstance(name, str) and name in self.images else None

    def step(self, step: int) -> bool:
        """Go to the next (+1) or previous (-1) image of the filtered list; False at the ends."""
        target = self.images.neighbour(self.current_name, step)
        if target is None:
            return False
        self.set_current(target)
        return True

    def record_auto_label(self, name: str, outcome: AutoLabelOutcome) -> None:
        """An auto-label job wrote this image through its own connection: refresh what we show."""
        self.images.set_status(name, outcome.status)
        doc = self._documents.get(name)
        if doc is not None and not outcome.skipped:
            doc.reload()
        elif not outcome.skipped:
            self.events.objects_changed.emit(name, None)
        if outcome.listed:  # the job appended them to the class list in its own transaction
            self.events.labels_changed.emit(self.labels)

    # ---------------------------------------------------------------- tracks
    def edit_tracks(self, write: Callable[[VideoStore], TrackEdit]) -> TrackEdit:
        """Run one track edit on the store (merge, split, delete, re-class, a propagation's result) and refresh
        the frames it touched; returns the edit as applied (keep it for the undo). ProjectStoreError as the store's
        (StaleEditError: nothing written)."""
        store = self.store
        if not isinstance(store, VideoStore):
            raise ProjectStoreError(f"{self.folder} is not open with a video store: it has no tracks")
        edit = write(store)
        self._refresh_track_frames(edit)
        return edit

    def undo_track_edit(self, edit: TrackEdit) -> TrackEdit:
        """Put back what `edit` changed, in one transaction; returns the edit as it now stands (for the redo).
        StaleEditError, nothing written, when a row it touched changed since; its frames are re-read then."""
        return self._replay_track_edit(edit.inverted()).inverted()

    def redo_track_edit(self, edit: TrackEdit) -> TrackEdit:
        """Make an undone `edit` again (same rules as `undo_track_edit`)."""
        return self._replay_track_edit(edit)

    def _replay_track_edit(self, edit: TrackEdit) -> TrackEdit:
        try:
            return self.edit_tracks(lambda store: store.apply_track_edit(edit, replay=True))
        except StaleEditError:
            self._refresh_track_frames(edit)  # show what the store holds now
            raise

    def _refresh_track_frames(self, edit: TrackEdit) -> None:
        """Documents, statuses and verified counts of the frames a track edit touched, then one tracks_changed
        per video (listeners re-read a video's tracks once, not once per frame)."""
        frames = {o.image_path for o in (*edit.objects_before, *edit.objects_after)}
        frames |= set(edit.statuses_before) | set(edit.statuses_after)
        # One store read for the frames without an open document: frame by frame took 0.66 s for a 999-frame
        # propagation, on the UI thread (benchmarks/track_refresh.py).
        states = self.store.image_states(n for n in frames if n not in self._documents and n in self.images)
        for name in sorted(frames):
            doc = self._documents.get(name)
            if doc is not None:
                doc.reload()
                continue
            state = states.get(name)
            if state is not None:
                if state.damaged is not None:
                    self.images.mark_unreadable(name, state.damaged)
                else:
                    self.images.set_status(name, state.status)
                self.images.set_verified_objects(name, state.verified)
            self.events.objects_changed.emit(name, None)
        for video in sorted({v for v in map(self.images.sequence_of, frames) if v is not None}):
            self.events.tracks_changed.emit(video)

    def record_import(self, names: Sequence[str], labels: Sequence[str]) -> None:
        """An import wrote these images (and the labels) in one transaction: refresh what we show (their statuses in
        one store read: an import of 10,000 images read them one by one on the UI thread)."""
        states = self.store.image_states(n for n in names if n in self.images)
        for name in names:
            state = states.get(name)
            if state is not None and state.damaged is not None:
                self.images.mark_unreadable(name, state.damaged)
            elif state is not None:
                self.images.set_status(name, state.status)
            doc = self._documents.get(name)
            if doc is not None:
                doc.reload()
        self.images.set_all_verified_objects(self.store.verified_object_counts(with_frames=True))
        if tuple(labels) != self.labels:
            self.set_labels(tuple(labels))
        else:
            self.events.labels_changed.emit(tuple(labels))

    # ---------------------------------------------------------------- settings
    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.store.setting(LABELS_KEY, []))

    def set_labels(self, labels: tuple[str, ...]) -> None:
        labels = _clean_labels(labels)
        self.store.set_setting(LABELS_KEY, list(labels))
        self.events.labels_changed.emit(labels)

    @property
    def class_mapping(self) -> ClassMapping:
        """What model runs give each class; ValueError with the way out when the stored one is damaged."""
        try:
            return ClassMapping.from_json(self.store.setting(CLASS_MAPPING_KEY))
        except ValueError as exc:
            raise ValueError(
                f"The project's class mapping is damaged ({exc}); set it again with Auto-label > "
                "Class Filter and Mapping"
            ) from None

    def set_class_mapping(self, mapping: ClassMapping) -> None:
        self.store.set_setting(CLASS_MAPPING_KEY, mapping.to_json())
        self.events.class_mapping_changed.emit(mapping)

    # ---------------------------------------------------------------- classes, project-wide
    def class_counts(self) -> dict[str, int]:
        """Objects per project class (0 for a class with none), plus any label objects carry."""
        counts = self.store.label_counts()
        return {**{label: counts.get(label, 0) for label in self.labels}, **counts}

    def class_settings(self) -> ClassSettings:
        """The class list, chosen colours, keep flags and class mapping as stored now."""
        return ClassSettings(self.labels, self.class_colors_chosen, self.kept_classes, self.class_mapping)

    def rename_class(self, old: str, new: str) -> ClassEdit:
        """Rename a class everywhere; to an existing class's name, this merges into it. Later model runs
        give `new` where they gave `old` (the class mapping follows). One store transaction (objects,
        class list, colour, keep flag, mapping); the returned step undoes it. Open documents are reloaded."""
        new = new.strip()
        if not new:
            raise ValueError("the new class name is empty")
        before = self.class_settings()
        colors = dict(before.colors)
        if old in colors and new not in colors:
            colors[new] = colors[old]
        colors.pop(old, None)
        kept = set(before.kept)
        if old in kept:
            kept.add(new)
        kept.discard(old)
        labels = _clean_labels(new if label == old else label for label in before.labels)
        text = f"Merge class '{old}' into '{new}'" if new in before.labels else f"Rename class '{old}' to '{new}'"
        after = ClassSettings(labels, colors, frozenset(kept), before.mapping.with_label_renamed(old, new))
        return self._take_class(text, old, new, before, after)

    def delete_class(self, label: str) -> ClassEdit:
        """Delete a class and every object of it, in one store transaction; the returned step undoes it."""
        before = self.class_settings()
        after = ClassSettings(
            tuple(name for name in before.labels if name != label), before.colors, before.kept - {label}, before.mapping
        )
        return self._take_class(f"Delete class '{label}'", label, None, before, after)

    def _take_class(
        self, text: str, old: str, new: str | None, before: ClassSettings, after: ClassSettings
    ) -> ClassEdit:
        taken = self.store.take_class(old, new, _settings_values(after))
        self._after_class_change(after, before.mapping)
        return ClassEdit(text, old, new, taken.objects, taken.versions, before, after)

    def undo_class_edit(self, edit: ClassEdit) -> ClassEdit:
        """Put back every object, the class list, colours and keep flags of `edit`'s classes as they were,
        in one transaction. StaleEditError (nothing written, documents reloaded) when any of its objects
        was changed or deleted since. Returns the step with its objects' new versions (for the redo)."""
        current = self.class_settings()
        target = restore_classes(current, edit.before, edit.touched, edit.mapped)
        settings = _settings_values(target)
        if edit.new is None:
            replay = partial(self.store.restore_objects, edit.objects, settings, "undo")
        else:
            replay = partial(self.store.relabel_objects, edit.objects, edit.versions, edit.old, settings, "undo")
        return self._replay_class(edit, replay, current, target, undone=True)

    def redo_class_edit(self, edit: ClassEdit) -> ClassEdit:
        """Apply an undone `edit` again (same rules as `undo_class_edit`)."""
        current = self.class_settings()
        target = restore_classes(current, edit.after, edit.touched, edit.mapped)
        replay = partial(
            self.store.relabel_objects, edit.objects, edit.versions, edit.new, _settings_values(target), "redo"
        )
        return self._replay_class(edit, replay, current, target, undone=False)

    def _replay_class(
        self,
        edit: ClassEdit,
        replay: Callable[[], dict[int, int]],
        current: ClassSettings,
        target: ClassSettings,
        *,
        undone: bool,
    ) -> ClassEdit:
        try:
            versions = replay()
        except StaleEditError:
            for document in self._documents.values():
                document.reload()
            raise
        edit = replace(edit, versions=versions)
        self._after_class_change(target, current.mapping)
        self.events.class_edit_replayed.emit(edit, undone)
        return edit

    def _after_class_change(self, settings: ClassSettings, mapping_before: ClassMapping) -> None:
        for document in self._documents.values():
            document.reload()
        # a delete takes some objects, and with them verified ones
        self.images.set_all_verified_objects(self.store.verified_object_counts(with_frames=True))
        self.events.labels_changed.emit(settings.labels)
        if settings.mapping != mapping_before:
            self.events.class_mapping_changed.emit(settings.mapping)

    # ---------------------------------------------------------------- attribute schema, project-wide
    def edit_attribute_schema(self, edit: AttributeSchemaEdit) -> AttributeSchemaEdit:
        """Apply a planned schema change (attribute_edit.plan_schema_edit): the schema and every object it
        changes in one transaction; open documents are reloaded. The returned step undoes it."""
        return self._write_attribute_edit(partial(apply_schema_edit, self.store, edit))

    def replay_attribute_edit(self, edit: AttributeSchemaEdit, *, undo: bool) -> AttributeSchemaEdit:
        """Undo (or redo) a schema change; StaleEditError (nothing written, documents reloaded) when one of its
        objects was changed or deleted since."""
        return self._write_attribute_edit(partial(replay_schema_edit, self.store, edit, undo=undo))

    def _write_attribute_edit(self, write: Callable[[], AttributeSchemaEdit]) -> AttributeSchemaEdit:
        try:
            return write()
        finally:  # written or refused as stale: the documents show what the store holds (the panel follows)
            for document in self._documents.values():
                document.reload()

    @property
    def class_colors_chosen(self) -> dict[str, str]:
        """Colours the user picked, per class ({label: '#rrggbb'})."""
        return dict(self.store.setting(LABEL_COLORS_KEY, {}) or {})

    def set_class_color(self, label: str, color: str) -> None:
        self.store.set_setting(LABEL_COLORS_KEY, {**self.class_colors_chosen, label: color})
        self.events.labels_changed.emit(self.labels)

    @property
    def kept_classes(self) -> frozenset[str]:
        """Classes written to the export even when no object has them."""
        return frozenset(self.store.setting(KEEP_CLASSES_KEY, []) or [])

    def set_kept(self, label: str, keep: bool) -> None:
        kept = set(self.kept_classes)
        if (label in kept) != keep:
            (kept.add if keep else kept.discard)(label)
            self.store.set_setting(KEEP_CLASSES_KEY, sorted(kept))

    def unlabeled_names(self) -> list[str]:
        return self.images.names_with_status(ImageStatus.UNLABELED)


def _clean_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """Class names stripped, empty ones dropped, each once (first place wins)."""
    return tuple(dict.fromkeys(str(label).strip() for label in labels if str(label).strip()))


def _settings_values(settings: ClassSettings) -> dict[str, object]:
    """The stored form of the class settings (project meta keys)."""
    return {
        LABELS_KEY: list(settings.labels),
        LABEL_COLORS_KEY: dict(settings.colors),
        KEEP_CLASSES_KEY: sorted(settings.kept),
        CLASS_MAPPING_KEY: settings.mapping.to_json(),
    }


def _list_recorded_frames(store: VideoStore, images: ImageList, videos: Sequence[str]) -> None:
    """List the frames the store holds of the folder's videos at once, with their statuses; the video is
    indexed again (and checked against these) when it is first read."""
    for video in store.videos():
        if video.path in videos:
            frames = store.frames(video.id)
            images.set_frames(video.path, [f.key for f in frames], {f.key: f.status for f in frames})
            for frame in frames:
                if frame.damaged is not None:
                    images.mark_unreadable(frame.key, frame.damaged)


def _list_carried_labels(store: ProjectStore) -> None:
    """Append to the class list the labels objects carry that it lacks, sorted (the order the Classes dock
    showed them in, after the list). Older versions' auto-label runs stored objects without listing their
    classes; the first edit then listed one class first and moved every other class, number key and colour."""
    listed = store.setting(LABELS_KEY, [])
    labels = appended_labels(listed, store.label_counts())
    if len(labels) > len(listed):
        store.set_setting(LABELS_KEY, labels)
