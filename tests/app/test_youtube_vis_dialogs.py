"""File ▸ Export… offers YouTube-VIS for a project with videos (only then), and File ▸ Import… recognises a
YouTube-VIS file, shows what it will merge, then merges the videos' frames and tracks."""

from __future__ import annotations

import shutil

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from protolabel.segmentation.formats.registry import by_name
from protolabel.segmentation.project.export import export_project
from protolabel.segmentation.project.video_store import VideoStore
from tests.segmentation.project.video_project import FRAMES, LABELS, video_project


def _formats(dialog) -> list[str]:
    return [dialog.format_box.itemData(i) for i in range(dialog.format_box.count())]


def test_export_offers_youtube_vis_only_for_a_project_with_videos(make_window, photo_folder, qtbot, tmp_path):
    from protolabel.app.dialogs.export import ExportDialog

    window = make_window()
    window.open_folder(photo_folder)
    plain = ExportDialog(photo_folder / "annotations.json", window.exporter.counts(), photo_folder, window)
    qtbot.addWidget(plain)
    assert "youtube-vis" not in _formats(plain) and "coco" in _formats(plain)

    folder = tmp_path / "footage"
    video_project(folder)
    assert window.projects.open_folder(folder)
    window.projects.wait_for_scan()
    dialog = ExportDialog(folder / "annotations.json", window.exporter.counts(), folder, window)
    qtbot.addWidget(dialog)
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("youtube-vis"))
    assert dialog.format.name == "youtube-vis" and dialog.path == tmp_path / "footage-youtube-vis"
    assert "one annotation per track" in dialog.carries.text() and not dialog.carries.isHidden()
    assert dialog.problem() == ""
    results = []
    window.exporter.finished.connect(lambda *args: results.append(args))
    window.exporter.export(dialog.path, verified_only=False, validate=False, fmt=dialog.format)
    qtbot.waitUntil(lambda: bool(results))
    summary, _, error = results[0]
    assert error is None and (summary.images, summary.annotations) == (FRAMES, 2)
    assert window.statusBar().currentMessage().startswith(f"Wrote 2 tracks in {FRAMES} frames to {summary.path}")
    assert (tmp_path / "footage-youtube-vis" / "annotations.json").is_file()


def test_import_recognises_youtube_vis_confirms_then_merges_tracks(make_window, qtbot, tmp_path):
    from protolabel.app.dialogs.import_coco import ImportSourceDialog, start_import

    video_project(tmp_path / "proj")
    with VideoStore.open(tmp_path / "proj") as store:
        export_project(store, by_name("youtube-vis"), tmp_path / "vis", labels=LABELS)
    folder = tmp_path / "fresh"
    folder.mkdir()
    shutil.copy(tmp_path / "proj" / "clip.mp4", folder / "clip.mp4")
    shutil.copytree(tmp_path / "vis", folder / "vis")
    window = make_window()
    assert window.projects.open_folder(folder)
    window.projects.wait_for_scan()
    source = ImportSourceDialog(folder, window)
    qtbot.addWidget(source)
    source.path_edit.setText(str(folder / "vis" / "annotations.json"))
    assert source.found.text().startswith("Recognised: <b>YouTube-VIS") and source.format.name == "youtube-vis"

    start_import(window, source.path, source.format)
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(QDialog, "import_dialog")))
    (dialog,) = [d for d in window.findChildren(QDialog, "import_dialog") if d.isVisible()]
    text = dialog.text.toPlainText()
    assert f"Will merge {FRAMES} frames with 10 objects." in text and "frames 0-5 of clip.mp4" in text
    with VideoStore.open(folder) as store:  # nothing written before Import
        assert all(not store.tracks(v.id) for v in store.videos())
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Merged" in window.statusBar().currentMessage())
    assert window.statusBar().currentMessage().startswith(f"Merged {FRAMES} frames with 10 objects.")
    with VideoStore.open(folder) as store:
        (video,) = store.videos()
        assert sorted(t.label for t in store.tracks(video.id)) == ["cat", "dog"]
